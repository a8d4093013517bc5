"""Jobs over HTTP: list and filter, see the workers, retry a failed job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from zhicheng.core.auth import permissions as P
from zhicheng.core.db import unit_of_work
from zhicheng.core.jobs import queries, services
from zhicheng.core.jobs.schemas import JobFilter, JobOut, Summary, WorkerOut
from zhicheng.core.paging import Page, decode_id, page
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=Page[JobOut])
@access(P.JOBS_READ)
def list_jobs(
    s: Reader,
    f: Annotated[JobFilter, Depends()],
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict:
    """Newest first. `kind` ending in "." matches a prefix ("audit." → every audit task)."""
    before = decode_id(cursor)
    items, nxt = page(queries.jobs(s, f, limit + 1, before), limit, lambda j: j.id)
    return {"items": items, "next_cursor": nxt}


@router.get("/workers", response_model=list[WorkerOut])
@access(P.JOBS_READ)
def list_workers(s: Reader) -> list[WorkerOut]:
    """Workers seen in the last day; `alive` when their last heartbeat is under 30 s old."""
    return queries.workers(s)


@router.get("/summary", response_model=Summary)
@access(P.JOBS_READ)
def summary(s: Reader) -> Summary:
    """Jobs counted by status, overdue pending jobs, and the workers."""
    return queries.summary(s)


@router.post("/{job_id}/retry", response_model=JobOut)
@access(P.JOBS_MANAGE)
def retry(job_id: int, db: DB, me: Me) -> JobOut:
    """Give a failed job a fresh set of attempts, due now (audited as jobs:job:retry)."""
    with unit_of_work(db, me.actor) as uow:
        return JobOut.model_validate(services.retry(uow, job_id))

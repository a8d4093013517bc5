"""The console page of background jobs: workers, counts by status, recent jobs; refreshed by htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from zhicheng.core.auth import permissions as P
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.core.jobs import queries, services
from zhicheng.core.jobs.schemas import STATUSES, JobFilter
from zhicheng.core.paging import decode_id, encode
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access
from zhicheng.web.templating import render

router = APIRouter(include_in_schema=False)
nav.add("系统管理", "后台任务", "/jobs", P.JOBS_READ, order=50)
PAGE_SIZE = 50
STATUS_ZH = {"pending": "等待", "running": "运行中", "done": "完成", "failed": "失败"}
STATUS_BADGE = {"pending": "", "running": "warn", "done": "ok", "failed": "bad"}


def _filter(status: str | None, kind: str | None) -> JobFilter:
    # the filter form sends "" for "all", so the query parameters are plain strings here
    try:
        return JobFilter(status=status, kind=kind)
    except ValidationError as exc:
        raise Invalid("筛选条件无效", "invalid filter") from exc


def _live(s: Any, f: JobFilter, cursor: str | None, me: Any) -> dict[str, Any]:
    before = decode_id(cursor)
    rows = queries.jobs(s, f, PAGE_SIZE + 1, before)
    filters = {k: v for k, v in (("status", f.status), ("kind", f.kind)) if v}
    nxt = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        nxt = urlencode({**filters, "cursor": encode(rows[-1].id)})
    return {
        "summary": queries.summary(s),
        "jobs": rows,
        "f": f,
        "query": urlencode(filters),
        "live_query": urlencode({**filters, **({"cursor": cursor} if cursor else {})}),
        "next_query": nxt,
        "statuses": STATUSES,
        "status_zh": STATUS_ZH,
        "badge": STATUS_BADGE,
        "can_retry": me.can(P.JOBS_MANAGE),
    }


@router.get("/jobs")
@access(P.JOBS_READ)
def jobs_page(
    request: Request,
    s: Reader,
    me: Me,
    status: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
) -> Any:
    return render(request, "jobs/index.html", _live(s, _filter(status, kind), cursor, me))


@router.get("/jobs/live")
@access(P.JOBS_READ)
def jobs_live(
    request: Request,
    s: Reader,
    me: Me,
    status: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
) -> Any:
    """The part of the page that htmx reloads every 5 seconds."""
    return render(request, "jobs/_live.html", _live(s, _filter(status, kind), cursor, me))


@router.post("/jobs/{job_id}/retry")
@access(P.JOBS_MANAGE)
def retry(job_id: int, db: DB, me: Me) -> RedirectResponse:
    with unit_of_work(db, me.actor) as uow:
        services.retry(uow, job_id)
    return RedirectResponse(f"/jobs?{urlencode({'status': 'pending'})}", status_code=303)

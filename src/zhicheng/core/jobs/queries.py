"""Reading jobs and workers, for the API, the console page and the CLI."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhicheng.core.db import utcnow
from zhicheng.core.jobs.models import Job, WorkerBeat
from zhicheng.core.jobs.schemas import STATUSES, JobFilter, Summary, WorkerOut

# the same thresholds as /healthz: a worker silent this long is dead, a job pending this long is overdue
STALE = dt.timedelta(seconds=30)


def jobs(s: Session, f: JobFilter, limit: int = 50, before: int | None = None) -> list[Job]:
    """Newest first; a kind filter ending in '.' matches every kind that starts with it."""
    q = select(Job).order_by(Job.id.desc())
    if f.status:
        q = q.where(Job.status == f.status)
    if f.kind:
        prefix = f.kind.endswith(".")
        q = q.where(Job.kind.startswith(f.kind, autoescape=True) if prefix else Job.kind == f.kind)
    if before is not None:
        q = q.where(Job.id < before)
    return list(s.scalars(q.limit(limit)))


def workers(s: Session, now: dt.datetime | None = None) -> list[WorkerOut]:
    now = now or utcnow()
    rows = s.scalars(select(WorkerBeat).order_by(WorkerBeat.seen_at.desc())).all()
    return [WorkerOut.model_validate({**_fields(w), "alive": w.seen_at >= now - STALE}) for w in rows]


def _fields(w: WorkerBeat) -> dict:
    return {k: getattr(w, k) for k in ("id", "host", "pid", "started_at", "seen_at", "jobs_done")}


def summary(s: Session, now: dt.datetime | None = None) -> Summary:
    now = now or utcnow()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({st: n for st, n in s.execute(select(Job.status, func.count()).group_by(Job.status))})
    overdue = (
        s.scalar(
            select(func.count()).select_from(Job).where(Job.status == "pending", Job.due_at < now - STALE)
        )
        or 0
    )
    return Summary(counts=counts, overdue=overdue, workers=workers(s, now))

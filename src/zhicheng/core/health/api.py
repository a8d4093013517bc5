from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from zhicheng.core.db import utcnow
from zhicheng.core.jobs.models import Job, WorkerBeat
from zhicheng.core.jobs.queries import STALE
from zhicheng.web.deps import DB
from zhicheng.web.security import public

router = APIRouter(tags=["health"])


@router.get("/healthz")
@public
def healthz(db: DB) -> JSONResponse:
    """Database and worker health; 503 when the database cannot be reached."""
    try:
        with db.read() as s:
            s.execute(text("SELECT 1"))
            now = utcnow()
            alive = (
                s.scalar(
                    select(func.count()).select_from(WorkerBeat).where(WorkerBeat.seen_at >= now - STALE)
                )
                or 0
            )
            overdue = (
                s.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.status == "pending", Job.due_at < now - STALE)
                )
                or 0
            )
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "down"
        return JSONResponse(
            {"status": "down", "database": {"ok": False, "error": type(exc).__name__}}, status_code=503
        )
    worker = {"ok": alive > 0, "alive": alive, "overdue_jobs": overdue}
    return JSONResponse(
        {
            "status": "ok" if alive else "degraded",
            "database": {"ok": True, "dialect": db.dialect},
            "worker": worker,
        }
    )

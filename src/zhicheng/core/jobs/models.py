from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class Job(Base):
    """A unit of timed work. A timer is a job due later; a periodic task re-enqueues itself."""

    __tablename__ = "job"
    __audit_exempt__ = True  # infrastructure; what a job's handler changes is audited by the handler
    __table_args__ = (Index("ix_job_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(80), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    # pending | running | done | failed
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    lock_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WorkerBeat(Base):
    """A worker's heartbeat, for /healthz and the jobs page."""

    __tablename__ = "worker_beat"
    __audit_exempt__ = True

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    host: Mapped[str] = mapped_column(String(100), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    jobs_done: Mapped[int] = mapped_column(BigId, nullable=False, default=0)

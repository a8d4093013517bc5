"""Enqueueing, cancelling and retrying jobs, and the worker's bookkeeping: claim, finish, heartbeat.

A job goes pending → running (claimed under a lease, with a fresh lock token) → done, or back to
pending with a backoff after an error, or failed once its attempts are used up. Every transition a
worker makes after the claim is fenced on (id, lock_token, status='running'): a worker whose lease
expired and whose job was taken over changes nothing.

A dedupe key names "the live job for X" (a timer for case 7): enqueueing with a key that a pending
job holds reschedules that job instead of adding another. A periodic task keeps one row for ever,
re-armed at each completion, so the table does not grow by one row per tick.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from zhicheng.core.db import Database, UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.jobs.models import Job, WorkerBeat
from zhicheng.core.jobs.registry import KIND, PERIODIC_PREFIX, Spec

BACKOFF_CAP = 3600  # seconds; the longest a failing job waits before its next attempt
KEEP_BEATS = dt.timedelta(days=1)  # heartbeats of workers gone longer than this are forgotten


# --- what modules call, inside their own transaction -------------------------------------------------
def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
) -> int:
    """Add a job in the caller's transaction (no commit here): it exists iff the caller's change commits.

    With `dedupe_key`, a pending job holding the key is rescheduled (new payload and due time) rather
    than duplicated; a running, failed or finished holder gives the key up to the new job.
    """
    payload = payload or {}
    if not KIND.match(kind) or len(kind) > 80:
        raise Invalid(f"任务类型格式无效：{kind!r}", f"invalid job kind {kind!r}")
    if not 1 <= max_attempts <= 100:
        raise Invalid("最大尝试次数应在 1 到 100 之间", "max_attempts must be between 1 and 100")
    if dedupe_key is not None and not 1 <= len(dedupe_key) <= 160:
        raise Invalid("去重键长度应在 1 到 160 之间", "dedupe_key must be 1 to 160 characters")
    if dedupe_key is not None and dedupe_key.startswith(PERIODIC_PREFIX):
        raise Invalid("periodic: 开头的去重键保留给周期任务", "dedupe keys periodic:... are reserved")
    if due_at is not None and due_at.tzinfo is None:
        raise Invalid("到期时间必须带时区", "due_at must be timezone-aware")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise Invalid("任务参数必须可以序列化为 JSON", "job payload must be JSON-serializable") from exc
    now = utcnow()
    values = {
        "kind": kind,
        "payload": payload,
        "due_at": due_at or now,
        "max_attempts": max_attempts,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        return session.execute(_insert(session).values(**values).returning(Job.id)).scalar_one()
    for _ in range(5):
        # a holder that is no longer waiting gives the key up; a pending one is rescheduled below
        session.execute(
            update(Job).where(Job.dedupe_key == dedupe_key, Job.status != "pending").values(dedupe_key=None)
        )
        ins = _insert(session).values(**values)
        stmt = ins.on_conflict_do_update(
            index_elements=[Job.dedupe_key],
            set_={"kind": kind, "payload": payload, "due_at": values["due_at"], "max_attempts": max_attempts},
            where=Job.status == "pending",
        ).returning(Job.id)
        found = session.execute(stmt).scalar()
        if found is not None:
            return found
        # the pending holder was claimed between our two statements (PostgreSQL): release it and retry
    raise Conflict("去重键正被频繁争用，请重试", "the dedupe key is contended; try again")


def cancel(session: Session, dedupe_key: str) -> bool:
    """Drop the pending job holding `dedupe_key`; False if none waits (one already running runs on)."""
    gone = session.execute(delete(Job).where(Job.dedupe_key == dedupe_key, Job.status == "pending"))
    return bool(gone.rowcount)


def retry(uow: UnitOfWork, job_id: int) -> Job:
    """Give a failed job a fresh set of attempts, due now. An operator's act, so it is audited."""
    job = uow.session.get(Job, job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在", f"job {job_id} does not exist")
    if job.status != "failed":
        raise Conflict(
            f"只能重试失败的任务（当前状态：{job.status}）",
            f"only failed jobs can be retried (status: {job.status})",
        )
    job.status, job.attempts, job.due_at, job.finished_at = "pending", 0, utcnow(), None
    job.lock_token = job.locked_until = None
    uow.record("jobs:job:retry", f"job:{job.id}", {"kind": job.kind, "last_error": job.last_error})
    uow.session.flush()
    return job


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert(Job) if dialect == "postgresql" else sqlite.insert(Job)


# --- the worker's side ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    token: str
    attempt: int
    max_attempts: int


def claim(
    db: Database, kinds: list[str], token: str, lease: dt.timedelta, now: dt.datetime
) -> Claimed | None:
    """Take the oldest due job of these kinds (or one whose lease expired) and commit the claim.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers each get a different row without waiting.
    SQLite has one writer: the first statement takes the write lock, so claims are serialized.
    """
    if not kinds:
        return None
    due = and_(
        Job.kind.in_(kinds),
        or_(
            and_(Job.status == "pending", Job.due_at <= now),
            and_(Job.status == "running", Job.locked_until < now),
        ),
    )
    with db.read() as s:  # an idle worker polls without taking any lock; the claim below re-checks
        if s.scalar(select(Job.id).where(due).limit(1)) is None:
            return None
    # on SQLite the claim holds the write lock from its start (writer_sessions): two claimers never pick one
    # job
    with db.writer_sessions() as s, s.begin():
        pg = db.dialect == "postgresql"
        q = (
            select(Job.id, Job.kind, Job.payload, Job.status, Job.attempts, Job.max_attempts)
            .where(due)
            .order_by(Job.due_at, Job.id)
            .limit(1)
        )
        if pg:
            q = q.with_for_update(skip_locked=True)
        for _ in range(50):
            row = s.execute(q).first()
            if row is None:
                return None
            if row.status == "running" and row.attempts >= row.max_attempts:
                # its worker vanished on the last attempt: a job that kills workers must not loop for ever
                s.execute(
                    update(Job)
                    .where(Job.id == row.id)
                    .values(
                        status="failed",
                        lock_token=None,
                        locked_until=None,
                        finished_at=now,
                        last_error=f"worker lost: lease expired, attempt {row.attempts}/{row.max_attempts}",
                    )
                )
                continue
            s.execute(
                update(Job)
                .where(Job.id == row.id)
                .values(
                    status="running",
                    attempts=row.attempts + 1,
                    lock_token=token,
                    locked_until=now + lease,
                )
            )
            return Claimed(row.id, row.kind, row.payload or {}, token, row.attempts + 1, row.max_attempts)
    return None


def _fence(job: Claimed) -> Any:
    return update(Job).where(Job.id == job.id, Job.lock_token == job.token, Job.status == "running")


def mark_done(session: Session, job: Claimed, spec: Spec, now: dt.datetime) -> bool:
    """In the handler's transaction: done, or re-armed for the next tick. False if our lease was lost."""
    if spec.every is not None:
        values: dict[str, Any] = {
            "status": "pending",
            "due_at": now + dt.timedelta(seconds=spec.every),
            "attempts": 0,
            "last_error": None,
        }
    else:  # a finished job gives its dedupe key up, so the same timer can be set again
        values = {"status": "done", "dedupe_key": None}
    values.update(lock_token=None, locked_until=None, finished_at=now)
    return session.execute(_fence(job).values(**values)).rowcount == 1


def backoff(attempt: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2**attempt, BACKOFF_CAP))


def mark_failed(db: Database, job: Claimed, error: str, now: dt.datetime) -> str | None:
    """After the handler rolled back: retry later, or give up. Returns the new status (None: lease lost)."""
    status = "failed" if job.attempt >= job.max_attempts else "pending"
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:4000],
        "lock_token": None,
        "locked_until": None,
    }
    if status == "pending":
        values["due_at"] = now + backoff(job.attempt)
    else:
        values["finished_at"] = now
    with db.sessions() as s, s.begin():
        hit = s.execute(_fence(job).values(**values)).rowcount
    return status if hit else None


def ensure_periodic(db: Database, specs: list[Spec], now: dt.datetime) -> int:
    """One live row per periodic kind: create it if missing, re-arm it if it failed. Safe to race."""
    armed = 0
    for spec in specs:
        with db.sessions() as s, s.begin():
            ins = _insert(s).values(
                kind=spec.kind,
                payload={},
                dedupe_key=spec.periodic_key,
                status="pending",
                due_at=now,
                attempts=0,
                max_attempts=5,
                created_at=now,
            )
            armed += s.execute(ins.on_conflict_do_nothing(index_elements=[Job.dedupe_key])).rowcount or 0
            armed += (
                s.execute(
                    update(Job)
                    .where(Job.dedupe_key == spec.periodic_key, Job.status.in_(["failed", "done"]))
                    .values(status="pending", attempts=0, due_at=now, lock_token=None, locked_until=None)
                ).rowcount
                or 0
            )
    return armed


def beat(
    db: Database,
    worker_id: str,
    host: str,
    pid: int,
    started_at: dt.datetime,
    jobs_done: int,
    now: dt.datetime | None = None,
) -> None:
    """Upsert this worker's heartbeat; forget workers silent for a day."""
    now = now or utcnow()
    with db.sessions() as s, s.begin():
        hit = s.execute(
            update(WorkerBeat).where(WorkerBeat.id == worker_id).values(seen_at=now, jobs_done=jobs_done)
        )
        if not hit.rowcount:
            s.add(
                WorkerBeat(
                    id=worker_id,
                    host=host[:100],
                    pid=pid,
                    started_at=started_at,
                    seen_at=now,
                    jobs_done=jobs_done,
                )
            )
        s.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now - KEEP_BEATS))


def forget_worker(db: Database, worker_id: str) -> None:
    """A worker that stops cleanly says so, rather than looking alive until its beat goes stale."""
    with db.sessions() as s, s.begin():
        s.execute(delete(WorkerBeat).where(WorkerBeat.id == worker_id))


def prune(db: Database, older_than: dt.timedelta, now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete finished (done) jobs older than `older_than`; failed ones stay for an operator to see."""
    cutoff = (now or utcnow()) - older_than
    with db.writer_sessions() as s, s.begin():  # reads, then deletes: on SQLite, holding the write lock
        old = select(Job.id).where(Job.status == "done", Job.finished_at < cutoff).limit(batch)
        ids = s.scalars(old).all()
        if ids:
            s.execute(delete(Job).where(Job.id.in_(ids)))
    return len(ids)

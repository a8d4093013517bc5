"""Supervision (全程监督): the periodic sweep ends 容缺 cases whose materials did not arrive in time,
escalates (督办) cases past their promised limit and tasks past their stage budget to the supervisors, and
re-copies due dates after a calendar edit moved the clocks. Supervisors acknowledge an escalation with an
instruction.

Each part works in bounded batches and is idempotent: a case or task is escalated once, a terminated case is
no longer open."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from zhicheng.approvals import cases
from zhicheng.approvals.models import Case, Escalation, Task
from zhicheng.approvals.vocab import OPEN_STATUSES
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import Calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, NotFound

BATCH = 500
_synced: dict[str, Calendar] = {}  # the calendar each database's copies were last synced under (per process)


def sweep(uow: UnitOfWork, today: dt.date | None = None) -> dict[str, int]:
    today = today or shanghai_today()
    return {
        "synced": sync_due_dates(uow),
        "terminated": terminate_lapsed(uow, today),
        "escalated_cases": escalate_cases(uow, today),
        "escalated_tasks": escalate_tasks(uow, today),
    }


def terminate_lapsed(uow: UnitOfWork, today: dt.date, limit: int = BATCH) -> int:
    """End the 容缺 cases whose supplement deadline passed with materials still missing."""
    s = uow.session
    ids = list(
        s.scalars(
            select(Case.id)
            .where(
                Case.status.in_(OPEN_STATUSES),
                Case.supplement_due_on < today,
                Case.supplements_done_on.is_(None),
            )
            .order_by(Case.supplement_due_on, Case.id)
            .limit(limit)
        )
    )
    done = 0
    for case_id in ids:
        case = cases.lock(uow, case_id)
        if case.status not in OPEN_STATUSES or case.supplements_done_on is not None or not case.rongque:
            continue
        reason = f"容缺材料未在 {case.supplement_due_on} 前补齐，办件终止"
        missing = [c for c in case.rongque_missing if c not in cases.current_materials(s, case.id)]
        cases.finish(uow, case, "terminated", today, reason)
        cases.event(uow, case, "terminated", today, reason, missing=missing)
        uow.record(
            "approvals:case:terminate",
            f"case:{case.id}",
            {"missing": missing, "due_on": str(case.supplement_due_on)},
        )
        cases.tell(
            uow,
            case,
            "terminated",
            f"您的办件 {case.number} 已终止：{reason}",
            f"case {case.number} terminated: 容缺 materials did not arrive",
        )
        done += 1
    return done


def escalate_cases(uow: UnitOfWork, today: dt.date, limit: int = BATCH) -> int:
    """督办 the running cases past their promised limit (paused ones are not running: their clock is
    frozen)."""
    s = uow.session
    rows = s.execute(
        select(Case.id, Case.window_org_id, Case.promised_due_on)
        .where(Case.status == "in_progress", Case.promised_due_on < today, Case.escalated_at.is_(None))
        .order_by(Case.promised_due_on, Case.id)
        .limit(limit)
    ).all()
    count = 0
    for case_id, org_id, due in rows:
        now = utcnow()
        moved = s.execute(
            update(Case)
            .where(Case.id == case_id, Case.escalated_at.is_(None), Case.status == "in_progress")
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            continue
        _raise(uow, case_id, None, "case", org_id, due, today)
        count += 1
    return count


def escalate_tasks(uow: UnitOfWork, today: dt.date, limit: int = BATCH) -> int:
    """督办 the open tasks past their stage's budget, to the supervisors of the late department."""
    s = uow.session
    rows = s.execute(
        select(Task.id, Task.case_id, Task.org_id, Task.due_on)
        .join(Case, Case.id == Task.case_id)
        .where(
            Task.status == "open",
            Task.due_on < today,
            Task.escalated_at.is_(None),
            Case.status.in_(("in_progress", "delivering")),
        )
        .order_by(Task.due_on, Task.id)
        .limit(limit)
    ).all()
    count = 0
    for task_id, case_id, org_id, due in rows:
        moved = s.execute(
            update(Task)
            .where(Task.id == task_id, Task.escalated_at.is_(None), Task.status == "open")
            .values(escalated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            continue
        _raise(uow, case_id, task_id, "task", org_id, due, today)
        count += 1
    return count


def _raise(
    uow: UnitOfWork, case_id: int, task_id: int | None, kind: str, org_id: int, due: dt.date, today: dt.date
) -> None:
    s = uow.session
    row = Escalation(
        case_id=case_id,
        task_id=task_id,
        kind=kind,
        org_id=org_id,
        due_on=due,
        raised_on=today,
        raised_at=utcnow(),
    )
    s.add(row)
    s.flush()
    case = s.get(Case, case_id)
    what = "办件超过承诺时限" if kind == "case" else "审查任务超过环节时限"
    cases.event(
        uow,
        case,
        "escalated",
        today,
        f"{what}（应于 {due} 前办结），已提请督办",
        public=False,
        escalation=row.id,
        org_id=org_id,
    )
    uow.record(
        f"approvals:escalation:{kind}",
        f"case:{case_id}",
        {"escalation": row.id, "task": task_id, "org_id": org_id, "due_on": due.isoformat()},
    )


def acknowledge(
    uow: UnitOfWork, escalation_id: int, instruction: str, today: dt.date | None = None
) -> Escalation:
    today = today or shanghai_today()
    row = uow.session.get(Escalation, escalation_id, with_for_update=True)
    if row is None:
        raise NotFound(f"督办事项 {escalation_id} 不存在", f"escalation {escalation_id} not found")
    if row.acked_at is not None:
        raise Conflict("该督办事项已有督办意见", "this escalation is acknowledged already")
    row.acked_at, row.acked_by, row.instruction = utcnow(), uow.actor.label, instruction.strip()
    case = uow.session.get(Case, row.case_id)
    cases.event(
        uow, case, "supervised", today, f"督办意见：{instruction.strip()}", public=False, escalation=row.id
    )
    uow.record(
        "approvals:escalation:ack",
        f"case:{row.case_id}",
        {"escalation": row.id, "instruction": instruction.strip()},
    )
    return row


def sync_due_dates(uow: UnitOfWork, force: bool = False) -> int:
    """After a calendar edit the clocks have new due dates (core.calendar recomputes them): copy them onto
    the open cases and tasks. Skipped while the calendar is the one last synced under, unless `force`."""
    s = uow.session
    cal = calendar.calendar(s)
    key = str(s.get_bind().engine.url) if hasattr(s.get_bind(), "engine") else "db"
    if not force and _synced.get(key) == cal:
        return 0
    changed = 0
    for due_col, clock_col in (
        (Case.promised_due_on, Case.promised_clock_id),
        (Case.statutory_due_on, Case.statutory_clock_id),
        (Case.stage_due_on, Case.stage_clock_id),
        (Case.supplement_due_on, Case.supplement_clock_id),
    ):
        sub = select(Clock.due_on).where(Clock.id == clock_col).scalar_subquery()
        changed += (
            s.execute(
                update(Case)
                .where(Case.status.in_(OPEN_STATUSES), clock_col.is_not(None), due_col != sub)
                .values({due_col.key: sub})
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    sub = select(Clock.due_on).where(Clock.id == Task.clock_id).scalar_subquery()
    changed += (
        s.execute(
            update(Task)
            .where(Task.status == "open", Task.clock_id.is_not(None), Task.due_on != sub)
            .values(due_on=sub)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    if changed:
        uow.record("approvals:due:sync", "approvals:due", {"rows": changed})
    uow.after_commit.append(lambda: _synced.__setitem__(key, cal))  # remembered once it is in for good
    return changed

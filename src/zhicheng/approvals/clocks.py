"""A case's working-day clocks on core.calendar: the promised and statutory limits (from acceptance to the
decision), one per stage, and the 容缺 supplement deadline. Pauses (corrections, hearings, testing, expert
review) stop the limits and the stage together; the supplement deadline keeps running. After every change
the due dates are copied onto the case and its open tasks (see models)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from zhicheng.approvals.models import Case, Task
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.models import Clock, ClockPause
from zhicheng.core.db import UnitOfWork

CASE = "approvals:case"
STAGE = "approvals:stage"
SUPPLEMENT = "approvals:supplement"


def start_limits(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    promised = calendar.start_clock(uow, CASE, f"{case.id}:promised", on, case.promised_days)
    statutory = calendar.start_clock(uow, CASE, f"{case.id}:statutory", on, case.statutory_days)
    case.promised_clock_id, case.promised_due_on = promised.id, promised.due_on
    case.statutory_clock_id, case.statutory_due_on = statutory.id, statutory.due_on


def start_stage(uow: UnitOfWork, case: Case, stage: str, round_: int, on: dt.date, days: int) -> Clock:
    clock = calendar.start_clock(uow, STAGE, f"{case.id}:{stage}:{round_}", on, days)
    case.stage_clock_id, case.stage_due_on = clock.id, clock.due_on
    return clock


def start_supplement(uow: UnitOfWork, case: Case, on: dt.date, days: int) -> None:
    clock = calendar.start_clock(uow, SUPPLEMENT, str(case.id), on, days)
    case.supplement_clock_id, case.supplement_due_on = clock.id, clock.due_on


def running(case: Case) -> list[int]:
    """The clocks a pause stops: the limits (once accepted) and the stage."""
    return [c for c in (case.promised_clock_id, case.statutory_clock_id, case.stage_clock_id) if c]


def pause(uow: UnitOfWork, case: Case, on: dt.date, reason: str) -> None:
    for clock_id in running(case):
        clock = uow.session.get(Clock, clock_id)
        if clock is not None and clock.state == "running":
            calendar.pause_clock(uow, clock_id, max(on, _last_day(uow, clock)), reason)
    case.paused_on = on


def resume(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    for clock_id in running(case):
        clock = uow.session.get(Clock, clock_id)
        if clock is not None and clock.state == "paused":
            calendar.resume_clock(uow, clock_id, on)
    case.paused_on = None
    sync(uow, case)


def stop(uow: UnitOfWork, clock_id: int | None, on: dt.date) -> None:
    if clock_id is None:
        return
    clock = uow.session.get(Clock, clock_id)
    if clock is not None and clock.state != "stopped":
        calendar.stop_clock(uow, clock_id, max(on, _last_day(uow, clock)))


def stop_limits(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    stop(uow, case.promised_clock_id, on)
    stop(uow, case.statutory_clock_id, on)
    sync(uow, case)


def _last_day(uow: UnitOfWork, clock: Clock) -> dt.date:
    """The earliest day a clock may pause or stop on: its start, or the last day one of its pauses began or
    ended (services may act on a given day, e.g. the worker catching up)."""
    days = uow.session.execute(
        select(func.max(ClockPause.paused_on), func.max(ClockPause.resumed_on)).where(
            ClockPause.clock_id == clock.id
        )
    ).one()
    return max([clock.started_on, *(d for d in days if d is not None)])


def sync(uow: UnitOfWork, case: Case) -> None:
    """Copy the clocks' due dates onto the case and onto the open tasks of its current stage."""
    s = uow.session
    s.flush()
    ids = [case.promised_clock_id, case.statutory_clock_id, case.stage_clock_id, case.supplement_clock_id]
    due = dict(s.execute(select(Clock.id, Clock.due_on).where(Clock.id.in_([i for i in ids if i]))).all())
    case.promised_due_on = due.get(case.promised_clock_id, case.promised_due_on)
    case.statutory_due_on = due.get(case.statutory_clock_id, case.statutory_due_on)
    case.stage_due_on = due.get(case.stage_clock_id, case.stage_due_on)
    if case.supplements_done_on is None:
        case.supplement_due_on = due.get(case.supplement_clock_id, case.supplement_due_on)
    if case.stage_clock_id in due:
        s.execute(
            update(Task)
            .where(Task.case_id == case.id, Task.clock_id == case.stage_clock_id, Task.status == "open")
            .values(due_on=due[case.stage_clock_id])
            .execution_options(synchronize_session="fetch")
        )

"""A case's working-day clocks on core.calendar: the promised and statutory limits (from acceptance to the
decision), one per stage, and the 容缺 supplement deadline. Pauses (corrections, hearings, testing, expert
review) stop the limits and the stage together; the supplement deadline keeps running. After every change
the due dates are copied onto the case and its open tasks (see models).

Services may act on a given day (e.g. the worker catching up): a clock pauses or stops on that day, or on the
last day one of its pauses began or ended if that is later (core.calendar's pause_running, stop_running)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import bindparam, select, update

from zhicheng.approvals.models import Case, Task
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork

CASE = "approvals:case"
STAGE = "approvals:stage"
SUPPLEMENT = "approvals:supplement"


def start_limits(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    promised, statutory = calendar.start_clocks(
        uow,
        [
            (CASE, f"{case.id}:promised", on, case.promised_days),
            (CASE, f"{case.id}:statutory", on, case.statutory_days),
        ],
    )
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
    calendar.pause_running(uow, running(case), on, reason)
    case.paused_on = on


def resume(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    found = calendar.resume_paused(uow, running(case), on)
    case.paused_on = None
    sync(uow, case, found)


def stop(uow: UnitOfWork, clock_id: int | None, on: dt.date) -> None:
    if clock_id is not None:
        calendar.stop_running(uow, [clock_id], on)


def stop_limits(uow: UnitOfWork, case: Case, on: dt.date, with_stage: bool = False) -> None:
    """Stop the promised and statutory limits (and the stage's clock first, `with_stage`)."""
    ids = [case.stage_clock_id] if with_stage else []
    ids += [case.promised_clock_id, case.statutory_clock_id]
    sync(uow, case, calendar.stop_running(uow, [i for i in ids if i], on))


def stop_all(uow: UnitOfWork, case: Case, on: dt.date) -> None:
    """The case ends: every clock stops."""
    ids = [case.stage_clock_id, case.promised_clock_id, case.statutory_clock_id, case.supplement_clock_id]
    sync(uow, case, calendar.stop_running(uow, [i for i in ids if i], on))


# built once: constructing a statement costs more than running it on SQLite
_DUE = select(Clock.id, Clock.due_on).where(Clock.id.in_(bindparam("ids", expanding=True)))


def sync(uow: UnitOfWork, case: Case, known: Iterable[Clock] = ()) -> None:
    """Copy the clocks' due dates onto the case and onto the open tasks of its current stage. `known`: clocks
    this transaction holds already (core.calendar returns them), read again only if missing."""
    s = uow.session
    ids = [case.promised_clock_id, case.statutory_clock_id, case.stage_clock_id, case.supplement_clock_id]
    due = {c.id: c.due_on for c in known}
    missing = [i for i in ids if i and i not in due]
    if missing:
        due |= dict(s.execute(_DUE, {"ids": missing}).all())
    case.promised_due_on = due.get(case.promised_clock_id, case.promised_due_on)
    case.statutory_due_on = due.get(case.statutory_clock_id, case.statutory_due_on)
    before = case.stage_due_on
    case.stage_due_on = due.get(case.stage_clock_id, case.stage_due_on)
    if case.supplements_done_on is None:
        case.supplement_due_on = due.get(case.supplement_clock_id, case.supplement_due_on)
    # the open tasks of the stage carry the case's stage due date (review.enter, this function and
    # supervision.sync_due_dates write both together): they move only when it does
    if case.stage_clock_id in due and case.stage_due_on != before:
        s.execute(
            update(Task)
            .where(Task.case_id == case.id, Task.clock_id == case.stage_clock_id, Task.status == "open")
            .values(due_on=case.stage_due_on)
            .execution_options(synchronize_session="fetch")
        )

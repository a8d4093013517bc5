"""Group commit of approval steps: many steps, of many cases, in one transaction.

A step (submit, accept, conclude, decide, deliver) is what the single-step services do — same rules, same
rows, same timeline, messages and audit records — applied on a lean path (batch_state, batch_steps): the
batch's cases, tasks and clocks are read with one statement per table, changed in memory in the order the
steps came, and written back with one statement per table. Steps of one case apply one after another, so of
two reviewers concluding one task the first wins and the second gets its conflict, as with the services.

Every step gets its own answer: the result, or its own error (which changed nothing). A step the lean path
leaves to the services (batch_steps.Defer: 容缺, uploads, rejections, certificates, paused clocks) runs alone
in its own unit of work after the batch commits, and so do the later steps of the same case. If the batch's
transaction itself fails, every step runs alone; one bad step never sinks the others. Nothing is answered
before the commit that holds it.

`run` takes a list of steps; `submit` is the routes' way in: a thread hands over its step and waits, and the
steps of concurrent requests form one batch (core.batching). A route checks the caller's rights in a read
first; the step carries the stage they were checked at (`stage`) and is refused with a conflict if the case
has moved on by the time it applies."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from zhicheng.approvals import acceptance, review
from zhicheng.approvals import cases as case_steps
from zhicheng.approvals.batch_state import State
from zhicheng.approvals.batch_steps import Defer, Steps, own_hooks_only
from zhicheng.approvals.schemas import AcceptIn, CaseIn
from zhicheng.core.batching import PerDatabase
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import DomainError, Invalid

log = logging.getLogger(__name__)
KINDS = ("submit", "accept", "conclude", "decide", "deliver")


@dataclass
class Step:
    """One step as a route receives it. `case_id` for accept, decide and deliver; `task_id` for conclude;
    `application`, `party_id` and `token` (the Idempotency-Key) for submit."""

    kind: str
    actor: Actor
    case_id: int | None = None
    task_id: int | None = None
    approve: bool = True
    reason: str = ""
    version: int | None = None
    application: CaseIn | None = None
    party_id: int | None = None
    token: str | None = None
    acceptance: AcceptIn | None = None
    method: str = "online"
    tracking_no: str | None = None
    note: str = ""
    today: dt.date | None = None
    stage: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise Invalid(f"未知的办理步骤：{self.kind}", f"unknown step {self.kind!r}")
        if self.kind == "submit" and (self.application is None or self.party_id is None):
            raise Invalid("提交申请须有申请内容和申请人", "a submission needs an application and a party")


_DEFERRED = object()


MAX_BATCH = 500
# `run` looked up at each batch, not bound here: tests replace it
_batchers: PerDatabase[Step, dict[str, Any]] = PerDatabase(lambda db, steps: run(db, steps), MAX_BATCH)


def submit(db: Database, step: Step) -> dict[str, Any]:
    """One step from a thread (a route), answered once the commit that holds it is done, grouped with the
    steps of concurrent requests of this process; raises the step's own error."""
    return _batchers(db).submit(step)


def run(db: Database, steps: list[Step]) -> list[dict[str, Any] | BaseException]:
    """Every step's answer, in order: a result (see `_case`, `_task`) or the exception it raised."""
    try:
        out: list[Any] = _commit(db, steps)
    except Exception:  # the batch failed as a whole (a constraint, a lost connection): each alone
        log.exception("approvals batch of %d steps failed; running them one by one", len(steps))
        out = [_DEFERRED] * len(steps)
    for i, result in enumerate(out):
        if result is _DEFERRED:
            try:
                out[i] = _alone(db, steps[i])
            except Exception as exc:
                out[i] = exc
    return out


def _commit(db: Database, steps: list[Step]) -> list[Any]:
    with db.write_transaction() as conn:
        return _apply(conn, steps)


def _apply(conn: Connection, steps: list[Step]) -> list[Any]:
    if not own_hooks_only():
        return [_DEFERRED] * len(steps)
    st = State(conn)
    st.load(
        {s.task_id for s in steps if s.kind == "conclude" and s.task_id is not None},
        {s.case_id for s in steps if s.kind in ("accept", "decide", "deliver") and s.case_id is not None},
        [s for s in steps if s.kind == "submit"],
    )
    with Session(bind=conn) as s:  # the calendar in force, cached per generation (core.calendar)
        lean = Steps(st, calendar.calendar(s))
    deferred: set[Any] = set()  # the cases (and submissions) whose later steps must wait for the services
    today = shanghai_today()  # the batch's day: its steps commit together
    out: list[Any] = []
    for step in steps:
        key = _key(st, step)
        if key in deferred:
            out.append(_DEFERRED)
            continue
        try:
            out.append(_lean(lean, step, step.today or today))
            lean.settle(step.actor)
        except Defer:
            deferred.add(key)
            out.append(_DEFERRED)
        except DomainError as exc:
            out.append(exc)
        lean.notes.clear()  # a refused step changed nothing (its checks come first): nor may it leave notes
    st.write()
    return out


def _key(st: State, step: Step) -> Any:
    if step.kind == "submit":
        return ("submit", step.party_id, step.token or id(step))
    if step.kind == "conclude":
        return st.task_case.get(step.task_id or 0)
    return step.case_id


def _lean(lean: Steps, s: Step, on: dt.date) -> dict[str, Any]:
    a = s.actor
    if s.kind == "submit":
        case, new = lean.submit(a, s.application, s.party_id or 0, s.token, on)
        return _case(case) | {"new": new}
    if s.kind == "accept":
        return _case(lean.accept(a, s.case_id or 0, s.acceptance or AcceptIn(), on, s.stage))
    if s.kind == "conclude":
        return _task(lean.conclude(a, s.task_id or 0, s.approve, s.reason, s.version, on))
    if s.kind == "decide":
        return _case(lean.decide(a, s.case_id or 0, s.approve, s.reason, s.version, on, s.stage))
    return _case(lean.deliver(a, s.case_id or 0, s.method, s.tracking_no, s.note, on, s.stage))


def _alone(db: Database, s: Step) -> dict[str, Any]:
    """The step through the services, in its own unit of work (as its route would run it)."""
    with unit_of_work(db, s.actor) as uow:
        if s.stage is not None and s.case_id is not None:
            case_steps.check_stage(case_steps.lock(uow, s.case_id), s.stage)
        if s.kind == "submit":
            party = case_steps.own_party(uow.session, s.party_id or 0)
            case, new = case_steps.submit(uow, s.application, party, s.token, s.today)  # type: ignore[arg-type]
            return _case(vars(case)) | {"new": new}
        if s.kind == "accept":
            return _case(vars(acceptance.accept(uow, s.case_id or 0, s.acceptance or AcceptIn(), s.today)))
        if s.kind == "conclude":
            return _task(vars(review.conclude(uow, s.task_id or 0, s.approve, s.reason, s.version, s.today)))
        if s.kind == "decide":
            return _case(vars(review.decide(uow, s.case_id or 0, s.approve, s.reason, s.version, s.today)))
        return _case(vars(review.deliver(uow, s.case_id or 0, s.method, s.tracking_no, s.note, s.today)))


def _case(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "number", "status", "stage", "version")}


def _task(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "case_id", "stage", "status", "version")}

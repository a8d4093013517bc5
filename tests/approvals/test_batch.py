"""Group commit of approval steps (approvals.batch) against the services, step for step: the same case run
through both leaves the same rows — case, tasks, clocks, timeline, messages and audit records — once ids and
times are set aside. And a batch answers every step on its own: errors, conflicts between steps of one
case, steps left to the services."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.approvals.conftest import ME, W, item_body
from zhicheng.approvals import acceptance, batch, items, review
from zhicheng.approvals import cases as case_steps
from zhicheng.approvals.models import Case, CaseEvent, Task
from zhicheng.approvals.schemas import AcceptIn, CaseIn, ItemIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.notify.models import Notification
from zhicheng.core.orgs.models import Party

DAY = dt.date(2026, 11, 23)  # a Monday
WINDOW = Actor(kind="user", name="window", user_id=None)
REVIEWER = Actor(kind="user", name="reviewer")
CODE = "320100-XK-0009"
_CLOCK_TAGS = ("calendar:clock:start", "calendar:clock:stop")


@pytest.fixture
def plain(db: Database, world: W) -> str:
    """The joint-review item without materials or a certificate: every step on the lean path."""
    with unit_of_work(db, ME) as uow:
        items.create_item(uow, ItemIn(**item_body(world, code=CODE, materials=[], certificate_type=None)))
    return CODE


def _form() -> dict[str, str]:
    return {"project": "鼓楼区某住宅项目", "investment": "12000", "phone": "13812345678"}


def _open_review(db: Database, case_id: int) -> list[int]:
    with db.read() as s:
        return list(
            s.scalars(
                select(Task.id)
                .where(Task.case_id == case_id, Task.status == "open", Task.queue == "review")
                .order_by(Task.id)
            )
        )


def _by_services(db: Database, w: W, token: str) -> int:
    with unit_of_work(db, ME) as uow:
        party = uow.session.get(Party, w.enterprise)
        case, _ = case_steps.submit(uow, CaseIn(item_code=CODE, form=_form()), party, token, DAY)
    with unit_of_work(db, WINDOW) as uow:
        acceptance.accept(uow, case.id, AcceptIn(note="材料齐全"), DAY)
    for k, task in enumerate(_open_review(db, case.id)):
        with unit_of_work(db, REVIEWER) as uow:
            review.conclude(uow, task, True, "" if k else "符合法定条件", None, DAY + dt.timedelta(days=1))
    with unit_of_work(db, REVIEWER) as uow:
        review.decide(uow, case.id, True, "", None, DAY + dt.timedelta(days=2))
    with unit_of_work(db, WINDOW) as uow:
        review.deliver(uow, case.id, "mail", "SF1234567890", "", DAY + dt.timedelta(days=3))
    return case.id


def _ok(results: list[Any]) -> list[dict[str, Any]]:
    bad = [r for r in results if isinstance(r, BaseException)]
    assert not bad, bad
    return results


def _submission(w: W, token: str, code: str = CODE, form: dict | None = None) -> batch.Step:
    """The enterprise applying for `code` (the plain item) with the Idempotency-Key `token`."""
    application = CaseIn(item_code=code, form=_form() if form is None else form)
    return batch.Step("submit", ME, application=application, party_id=w.enterprise, token=token, today=DAY)


def _by_batch(db: Database, w: W, token: str) -> int:
    [sub] = _ok(batch.run(db, [_submission(w, token)]))
    case_id = sub["id"]
    _ok(
        batch.run(
            db,
            [batch.Step("accept", WINDOW, case_id=case_id, acceptance=AcceptIn(note="材料齐全"), today=DAY)],
        )
    )
    tasks = _open_review(db, case_id)
    assert len(tasks) == 4
    # all four departments at once, in one batch: the last moves the case on
    _ok(
        batch.run(
            db,
            [
                batch.Step(
                    "conclude",
                    REVIEWER,
                    task_id=t,
                    reason="" if k else "符合法定条件",
                    today=DAY + dt.timedelta(days=1),
                )
                for k, t in enumerate(tasks)
            ],
        )
    )
    _ok(batch.run(db, [batch.Step("decide", REVIEWER, case_id=case_id, today=DAY + dt.timedelta(days=2))]))
    _ok(
        batch.run(
            db,
            [
                batch.Step(
                    "deliver",
                    WINDOW,
                    case_id=case_id,
                    method="mail",
                    tracking_no="SF1234567890",
                    today=DAY + dt.timedelta(days=3),
                )
            ],
        )
    )
    return case_id


VOLATILE = {
    "id",
    "at",
    "created_at",
    "updated_at",
    "opened_at",
    "concluded_at",
    "next_attempt_at",
    "seq",
    "prev_hash",
    "hash",
    "change_digest",
}


def _rows(db: Database, case_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row the case's steps left, ids replaced by their place (C, T0…, K0…) and times dropped."""
    with db.read() as s:
        case = s.get(Case, case_id)
        tasks = list(s.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))
        clocks = list(s.scalars(select(Clock).where(Clock.subject.like(f"{case_id}:%")).order_by(Clock.id)))
        clocks += list(s.scalars(select(Clock).where(Clock.subject == str(case_id))))
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
        notes = list(
            s.scalars(
                select(Notification)
                .where(Notification.source == f"approvals:case:{case_id}")
                .order_by(Notification.id)
            )
        )
        subjects = [f"case:{case_id}"] + [f"task:{t.id}" for t in tasks] + [f"clock:{c.id}" for c in clocks]
        audit = list(
            s.scalars(select(AuditRecord).where(AuditRecord.subject.in_(subjects)).order_by(AuditRecord.id))
        )
    ids = {("case", case_id): "C"}
    ids |= {("task", t.id): f"T{i}" for i, t in enumerate(tasks)}
    ids |= {("clock", c.id): f"K{i}" for i, c in enumerate(clocks)}
    number = case.number

    def text(v: str) -> str:
        v = v.replace(number, "N")
        v = re.sub(r"\b(case|task|clock):(\d+)", lambda m: f"{m[1]}:{ids.get((m[1], int(m[2])), m[2])}", v)
        return re.sub(r"^(\d+)(:|$)", lambda m: ids.get(("case", int(m[1])), m[1]) + m[2], v)

    def canon(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            return {k: canon(x, k) for k, x in sorted(v.items()) if k not in VOLATILE}
        if isinstance(v, list):
            return [canon(x, key) for x in v]
        if isinstance(v, str):
            return text(v)
        if isinstance(v, int) and not isinstance(v, bool):
            if key in ("case_id", "case"):
                return ids.get(("case", v), v)
            if key in ("task",):
                return ids.get(("task", v), v)
            if key == "clock_id" or key.endswith("_clock_id"):
                return ids.get(("clock", v), v)
        return v

    def cols(o: Any) -> dict[str, Any]:
        return {c.key: getattr(o, c.key) for c in o.__table__.columns}

    out = {
        "case": [cols(case)],
        "tasks": [cols(t) for t in tasks],
        "clocks": [cols(c) for c in clocks],
        "events": [cols(e) for e in events],
        "messages": [cols(n) for n in notes],
        "audit": [cols(a) | {"change": json.loads(a.change)} for a in audit],
    }
    out["case"][0].pop("client_token")
    return canon(out)


def test_a_batch_leaves_the_rows_the_services_leave(db: Database, world: W, plain: str, monkeypatch) -> None:  # noqa: ANN001
    by_services = _rows(db, _by_services(db, world, "services-0001"))
    monkeypatch.setattr(batch, "_alone", None)  # every step of this case on the lean path
    by_batch = _rows(db, _by_batch(db, world, "batch-00001"))
    assert by_services["case"][0]["status"] == "completed"
    assert len(by_services["messages"]) == 7
    # one record per step and stage entered; the clocks each step started and stopped ride in its record
    audit = by_services["audit"]
    assert len(audit) == 11 and not [r for r in audit if r["tag"].startswith("calendar:")]
    noted = [(n["tag"], n["subject"]) for r in audit for n in r["change"].get("with", [])]
    clocks = {s for _, s in noted}
    assert len(clocks) == 6 and sorted(noted) == sorted({(k, s) for _, s in noted for k in _CLOCK_TAGS})
    for table in by_services:
        assert by_batch[table] == by_services[table], table


def test_every_step_gets_its_own_answer(db: Database, world: W, plain: str) -> None:
    w = world
    tokens = [f"answers-{n:04d}" for n in range(3)] + ["answers-0000"]
    subs = _ok(batch.run(db, [_submission(w, t) for t in tokens]))
    assert [s["new"] for s in subs] == [True, True, True, False]
    assert subs[3]["id"] == subs[0]["id"]  # the retry within the batch finds the first
    a, b, c = (s["id"] for s in subs[:3])
    out = batch.run(
        db,
        [
            batch.Step("accept", WINDOW, case_id=a, today=DAY),
            batch.Step("accept", WINDOW, case_id=a, today=DAY),  # twice: the second finds it accepted
            batch.Step("accept", WINDOW, case_id=b, acceptance=AcceptIn(version=99), today=DAY),
            batch.Step("accept", WINDOW, case_id=987654, today=DAY),
            batch.Step("deliver", WINDOW, case_id=c, method="mail", today=DAY),
            batch.Step("accept", WINDOW, case_id=c, today=DAY),
        ],
    )
    assert out[0]["status"] == "in_progress" and out[0]["stage"] == "joint"
    assert isinstance(out[1], Conflict) and isinstance(out[2], Conflict)
    assert isinstance(out[3], NotFound) and isinstance(out[4], Invalid)
    assert out[5]["status"] == "in_progress"
    with db.read() as s:
        assert s.get(Case, b).status == "submitted"  # the refused step wrote nothing
        assert s.scalar(select(Case.version).where(Case.id == a)) == 2
    tasks = _open_review(db, a)
    # two reviewers on one task in one batch: one wins, the other gets its conflict; a rejection is the
    # services' (a step left to them), and the case's later step waits for it
    out = batch.run(
        db,
        [
            batch.Step("conclude", REVIEWER, task_id=tasks[0], today=DAY),
            batch.Step("conclude", REVIEWER, task_id=tasks[0], today=DAY),
            batch.Step(
                "conclude",
                REVIEWER,
                task_id=tasks[1],
                approve=False,
                reason="不符合消防技术规范要求",
                today=DAY,
            ),
            batch.Step("conclude", REVIEWER, task_id=tasks[2], today=DAY),
        ],
    )
    assert out[0]["status"] == "approved" and isinstance(out[1], Conflict)
    assert out[2]["status"] == "rejected" and out[3]["status"] == "approved"
    out = batch.run(db, [batch.Step("conclude", REVIEWER, task_id=tasks[3], today=DAY)])
    assert out[0]["status"] == "approved"
    with db.read() as s:
        case = s.get(Case, a)
        assert (case.status, case.outcome) == ("rejected", "rejected")  # the joint review's on_reject
        assert s.scalar(select(Task.id).where(Task.case_id == a, Task.status == "open")) is None


def test_a_failing_batch_runs_each_step_alone(db: Database, world: W, plain: str, monkeypatch) -> None:  # noqa: ANN001
    def broken(self: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(batch.State, "write", broken)
    out = batch.run(
        db, [_submission(world, "alone-0001"), _submission(world, "alone-0002", code="NO-SUCH-ITEM", form={})]
    )
    assert out[0]["new"] is True and isinstance(out[1], NotFound)
    with db.read() as s:
        assert s.get(Case, out[0]["id"]).status == "submitted"

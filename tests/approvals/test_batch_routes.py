"""The routes' steps through the group commit (approvals.batch.submit): concurrent requests share one commit,
each gets its own answer, and a step whose case has left the stage the caller's rights were checked at is a
conflict. The first two tests commit for real, on a database of their own, with real threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.approvals.conftest import ME, URL, W, apply, good_form, item_body
from zhicheng.approvals import batch, items
from zhicheng.approvals.models import Case, Task
from zhicheng.approvals.schemas import ItemIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Conflict

REVIEWERS = ("rv_housing", "rv_planning", "rv_fire", "rv_civil")
CODE = "320100-XK-0019"


def _accepted(as_user, world: W) -> tuple[int, list[dict]]:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world)
    r = as_user("window").send("POST", f"{URL}/cases/{case['id']}/accept", json={})
    assert r.status_code == 200, r.text
    tasks = as_user("window").get(f"{URL}/cases/{case['id']}").json()["tasks"]
    return case["id"], [t for t in tasks if t["status"] == "open"]


def _race(calls: list) -> list:  # noqa: ANN001 - callables returning responses
    start = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def one(i: int) -> None:
        start.wait()
        if i:
            time.sleep(0.05)  # the first leads
        out[i] = calls[i]()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


class TestConcurrentRequests:
    @pytest.fixture
    def db(self, fresh_url: str) -> Iterator[Database]:  # the app, world and logins build on this one
        live = Database(fresh_url)
        yield live
        live.dispose()

    def test_four_departments_at_once_share_one_commit(self, db, world, as_user, monkeypatch) -> None:  # noqa: ANN001
        """The four reviews of a joint stage at the same moment: the first leads a batch of one and is held
        until the other three have queued; they commit together, the last of them moves the case on once."""
        case_id, tasks = _accepted(as_user, world)
        by_org = {t["org_id"]: t for t in tasks}
        clients = [as_user(who) for who in REVIEWERS]
        orgs = [world.housing, world.planning, world.fire, world.civil]
        sizes: list[int] = []
        real = batch.run

        def held(database, steps):  # noqa: ANN001, ANN202
            if not sizes:
                group = batch._batchers(database)
                deadline = time.monotonic() + 20
                while len(group.queue) < len(REVIEWERS) - 1 and time.monotonic() < deadline:
                    time.sleep(0.005)
            sizes.append(len(steps))
            return real(database, steps)

        monkeypatch.setattr(batch, "run", held)
        answers = _race(
            [
                lambda c=c, o=o: c.send(
                    "POST", f"{URL}/tasks/{by_org[o]['id']}/conclude", json={"approve": True, "version": 1}
                )
                for c, o in zip(clients, orgs, strict=True)
            ]
        )
        assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
        assert sizes == [1, 3]
        with db.read() as s:
            assert s.get(Case, case_id).stage == "decide"
            decide = (
                select(func.count()).select_from(Task).where(Task.case_id == case_id, Task.kind == "decide")
            )
            assert s.scalar(decide) == 1

    def test_two_reviewers_on_one_task_one_wins(self, db, world, as_user) -> None:  # noqa: ANN001
        case_id, tasks = _accepted(as_user, world)
        task = next(t for t in tasks if t["org_id"] == world.housing)
        url = f"{URL}/tasks/{task['id']}/conclude"
        first, second = as_user("rv_housing"), as_user("rv_housing2")
        answers = _race(
            [
                lambda: first.send("POST", url, json={"approve": True, "version": 1}),
                lambda: second.send("POST", url, json={"approve": True, "version": 1}),
            ]
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409], [r.text for r in answers]
        lost = next(r for r in answers if r.status_code == 409)
        assert lost.headers["content-type"].startswith("application/problem+json")
        with db.read() as s:
            assert s.get(Task, task["id"]).version == 2


def test_a_case_that_left_the_checked_stage_is_a_conflict(db, world: W, as_user) -> None:  # noqa: ANN001
    """Rights checked while the case was at acceptance; by the time the step applies it is in joint review:
    refused on the lean path and on the services' path alike, nothing written."""
    case_id, _ = _accepted(as_user, world)
    step = batch.Step("decide", Actor(kind="user", name="decider"), case_id=case_id, stage="accept")
    assert isinstance(batch.run(db, [step])[0], Conflict)
    with pytest.raises(Conflict, match="moved on"):
        batch._alone(db, step)
    with db.read() as s:
        case = s.get(Case, case_id)
        assert (case.stage, case.version) == ("joint", s.get(Case, case_id).version)
        assert case.outcome is None


def test_a_whole_case_through_the_routes_on_the_lean_path(db, world: W, as_user) -> None:  # noqa: ANN001
    """An item without materials or a certificate: every step of the case is the group commit's own (none
    is handed to the services). A retried submission answers 200 with the first case; a step's own error
    comes back as its problem+json; the audit trail has every step."""
    with unit_of_work(db, ME) as uow:
        items.create_item(uow, ItemIn(**item_body(world, code=CODE, materials=[], certificate_type=None)))
    citizen = as_user("zhangsan")
    body = {"item_code": CODE, "form": good_form()}
    key = {"Idempotency-Key": "batch-route-0001"}
    first = citizen.send("POST", f"{URL}/cases", json=body, headers=key)
    assert first.status_code == 201 and not first.json()["replayed"], first.text
    again = citizen.send("POST", f"{URL}/cases", json=body, headers=key)
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["id"] == first.json()["id"]
    case_id = first.json()["id"]
    window = as_user("window")
    early = window.send("POST", f"{URL}/cases/{case_id}/deliver", json={"method": "online"})
    assert early.status_code == 403  # nobody has a task at the deliver stage yet
    r = window.send("POST", f"{URL}/cases/{case_id}/accept", json={"version": 1})
    assert r.status_code == 200 and r.json()["stage"] == "joint", r.text
    tasks = {t["org_id"]: t["id"] for t in window.get(f"{URL}/cases/{case_id}").json()["tasks"]}
    orgs = (world.housing, world.planning, world.fire, world.civil)
    for who, org in zip(REVIEWERS, orgs, strict=True):
        r = as_user(who).send("POST", f"{URL}/tasks/{tasks[org]}/conclude", json={"approve": True})
        assert r.status_code == 200, r.text
    assert r.json()["stage"] == "decide"
    decider = as_user("decider")
    stale = decider.send("POST", f"{URL}/cases/{case_id}/decide", json={"approve": True, "version": 1})
    assert stale.status_code == 409 and stale.headers["content-type"].startswith("application/problem+json")
    r = decider.send("POST", f"{URL}/cases/{case_id}/decide", json={"approve": True})
    assert r.status_code == 200 and r.json()["stage"] == "deliver", r.text
    bad = window.send("POST", f"{URL}/cases/{case_id}/deliver", json={"method": "mail"})
    assert bad.status_code == 422  # mail needs its tracking number
    r = window.send("POST", f"{URL}/cases/{case_id}/deliver", json={"method": "online"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    with db.read() as s:
        tags = s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == f"case:{case_id}")).all()
    assert tags.count("approvals:case:stage") == 3  # joint, decide, deliver
    assert {"approvals:case:submit", "approvals:case:accept", "approvals:case:approve"} <= set(tags)
    assert "approvals:case:deliver" in tags

"""Parallel review by four departments, what a rejection does, the decision with its certificate hook,
delivery, pauses for expert review, stage roles, and the reviewer inbox sorted by remaining working days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.approvals.conftest import ME, URL, W, apply, joint_def, upload
from zhicheng.approvals import acceptance, flows, hooks, review
from zhicheng.approvals.models import Case, Task
from zhicheng.approvals.schemas import AcceptIn, FlowIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Conflict, Invalid

REVIEWERS = ("rv_housing", "rv_planning", "rv_fire", "rv_civil")


def accepted(as_user, world: W, **kw: object) -> dict:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world, **kw)
    r = as_user("window").send("POST", f"{URL}/cases/{case['id']}/accept", json={})
    assert r.status_code == 200, r.text
    return r.json()


def test_four_departments_review_in_parallel(db, world: W, as_user) -> None:  # noqa: ANN001
    issued: list[hooks.Decision] = []
    hooks.ISSUERS.append(lambda uow, d: issued.append(d) or f"JS-SGXK-{d.case_id:06d}")
    try:
        case = accepted(as_user, world)
        tasks = case["tasks"]
        # opened together, one per department, on one stage clock
        assert [t["org_id"] for t in tasks] == [world.housing, world.planning, world.fire, world.civil]
        assert len({t["due_on"] for t in tasks}) == 1 and {t["status"] for t in tasks} == {"open"}
        # a reviewer acts for their own department only
        wrong = as_user("rv_fire").send(
            "POST", f"{URL}/tasks/{tasks[0]['id']}/conclude", json={"approve": True}
        )
        assert wrong.status_code == 403
        assert (
            as_user("window")
            .send("POST", f"{URL}/tasks/{tasks[0]['id']}/conclude", json={"approve": True})
            .status_code
            == 403
        )
        for who, task in list(zip(REVIEWERS, tasks, strict=True))[:3]:
            r = as_user(who).send(
                "POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True, "version": 1}
            )
            assert r.status_code == 200
            assert r.json()["stage"] == "joint"  # not before all have concluded
        again = as_user("rv_fire").send(
            "POST", f"{URL}/tasks/{tasks[2]['id']}/conclude", json={"approve": True}
        )
        assert again.status_code == 409
        r = as_user("rv_civil").send("POST", f"{URL}/tasks/{tasks[3]['id']}/conclude", json={"approve": True})
        got = r.json()
        assert (got["status"], got["stage"]) == ("in_progress", "decide")
        decide_task = got["tasks"][-1]
        assert (decide_task["kind"], decide_task["org_id"]) == ("decide", world.housing)  # who really decides
        # deciding needs approvals.decide over the deciding department
        assert (
            as_user("rv_housing")
            .send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
            .status_code
            == 403
        )
        r = as_user("decider").send(
            "POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True, "reason": "符合条件"}
        )
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["status"], got["outcome"], got["certificate_no"]) == (
            "delivering",
            "approved",
            f"JS-SGXK-{case['id']:06d}",
        )
        assert got["decided_on"] and got["clock_status"] in ("ok", "warning")
        d = issued[0]
        assert (d.certificate_type, d.holder_kind, d.holder_name, d.issuing_org_id, d.deciding_org_id) == (
            "建筑工程施工许可证",
            "citizen",
            "张三",
            world.bureau,
            world.housing,
        )
        window = as_user("window")
        r = window.send("POST", f"{URL}/cases/{case['id']}/deliver", json={"method": "mail"})
        assert r.status_code == 422  # mail needs a tracking number
        r = window.send(
            "POST",
            f"{URL}/cases/{case['id']}/deliver",
            json={"method": "mail", "tracking_no": "SF1234567890"},
        )
        got = r.json()
        assert (got["status"], got["delivery_method"], got["tracking_no"]) == (
            "completed",
            "mail",
            "SF1234567890",
        )
        assert {t["status"] for t in got["tasks"]} == {"approved", "done"}
        kinds = [e["kind"] for e in as_user("zhangsan").get(f"{URL}/cases/{case['id']}/timeline").json()]
        assert kinds == [
            "submitted",
            "accepted",
            "stage",
            "reviewed",
            "reviewed",
            "reviewed",
            "reviewed",
            "stage",
            "decided",
            "stage",
            "delivered",
        ]
        with db.read() as s:
            tags = s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == f"case:{case['id']}")).all()
        assert tags == [
            "approvals:case:submit",
            "approvals:case:accept",
            "approvals:case:stage",
            "approvals:case:stage",
            "approvals:case:approve",
            "approvals:case:stage",
            "approvals:case:deliver",
        ]
    finally:
        hooks.ISSUERS.pop()  # the test's own issuer; the wired one stays


def test_a_rejection_rejects_the_case_once_all_have_concluded(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(as_user, world)
    tasks = case["tasks"]
    short = as_user("rv_fire").send("POST", f"{URL}/tasks/{tasks[2]['id']}/conclude", json={"approve": False})
    assert short.status_code == 422  # a rejection states its reasons
    reason = "消防设计不符合 GB 50016 防火间距要求"
    r = as_user("rv_fire").send(
        "POST", f"{URL}/tasks/{tasks[2]['id']}/conclude", json={"approve": False, "reason": reason}
    )
    assert r.json()["status"] == "in_progress"
    for who, task in zip(
        ("rv_housing", "rv_planning", "rv_civil"), (tasks[0], tasks[1], tasks[3]), strict=True
    ):
        r = as_user(who).send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True})
    got = r.json()
    assert (got["status"], got["outcome"], got["reason"], got["certificate_no"]) == (
        "rejected",
        "rejected",
        reason,
        None,
    )
    assert got["decided_on"] and got["clock_status"] == "stopped"


def test_a_rejection_can_return_to_an_earlier_stage(db, world: W, as_user) -> None:  # noqa: ANN001
    definition = {
        "stages": [
            {"id": "accept", "kind": "accept", "days": 1, "next": "pre"},
            {"id": "pre", "kind": "review", "days": 2, "org_id": world.housing, "next": "joint"},
            {
                "id": "joint",
                "kind": "joint_review",
                "days": 6,
                "departments": [world.planning, world.fire],
                "on_reject": {"action": "return", "to": "pre"},
                "next": "decide",
            },
            {"id": "decide", "kind": "decide", "days": 2},
        ]
    }
    with unit_of_work(db, ME) as uow:
        flows.publish(
            uow,
            FlowIn(
                code=world.joint_flow, name="预审后并联", owner_org_id=world.bureau, definition=definition
            ),
        )
    case = accepted(as_user, world)
    pre = case["tasks"][0]
    as_user("rv_housing").send("POST", f"{URL}/tasks/{pre['id']}/conclude", json={"approve": True})
    got = as_user("window").get(f"{URL}/cases/{case['id']}").json()
    planning, fire = got["tasks"][1:]
    as_user("rv_planning").send(
        "POST",
        f"{URL}/tasks/{planning['id']}/conclude",
        json={"approve": False, "reason": "规划条件核实意见需补充说明"},
    )
    r = as_user("rv_fire").send("POST", f"{URL}/tasks/{fire['id']}/conclude", json={"approve": True})
    got = r.json()
    assert (got["status"], got["stage"]) == ("in_progress", "pre")
    rounds = [(t["stage"], t["round"], t["status"]) for t in got["tasks"]]
    assert rounds == [
        ("pre", 1, "approved"),
        ("joint", 1, "rejected"),
        ("joint", 1, "approved"),
        ("pre", 2, "open"),
    ]


def test_expert_review_pauses_the_clocks(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(as_user, world)
    task = case["tasks"][1]
    planning = as_user("rv_planning")
    assert planning.send("POST", f"{URL}/cases/{case['id']}/resume").status_code == 409  # nothing paused
    r = planning.send(
        "POST",
        f"{URL}/cases/{case['id']}/pause",
        json={"reason": "expert_review", "note": "组织专家论证深基坑方案"},
    )
    assert r.status_code == 200
    got = r.json()
    assert (got["status"], got["clock_status"], got["pause_reason_zh"]) == ("suspended", "paused", "专家评审")
    r = planning.send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True})
    assert r.status_code == 409  # not while the clocks stand still
    assert (
        as_user("window")
        .send("POST", f"{URL}/cases/{case['id']}/pause", json={"reason": "hearing", "note": "听证"})
        .status_code
        == 403
    )
    r = planning.send("POST", f"{URL}/cases/{case['id']}/resume")
    assert (r.json()["status"], r.json()["pause_reason"]) == ("in_progress", None)
    assert (
        planning.send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True}).status_code == 200
    )


def test_stage_roles_restrict_who_acts(db, world: W, as_user) -> None:  # noqa: ANN001
    definition = joint_def([world.housing, world.planning], roles=["approvals_decider"])
    with unit_of_work(db, ME) as uow:
        flows.publish(
            uow,
            FlowIn(
                code=world.joint_flow, name="仅负责人审查", owner_org_id=world.bureau, definition=definition
            ),
        )
    case = accepted(as_user, world)
    housing = case["tasks"][0]
    r = as_user("rv_housing").send("POST", f"{URL}/tasks/{housing['id']}/conclude", json={"approve": True})
    assert r.status_code == 403 and "approvals_decider" in r.json()["messages"]["en"]
    assert (
        as_user("decider")
        .send("POST", f"{URL}/tasks/{housing['id']}/conclude", json={"approve": True})
        .status_code
        == 200
    )


def test_the_inbox_is_sorted_by_remaining_working_days(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    days = [dt.date(2026, 9, 28), dt.date(2026, 9, 21), dt.date(2026, 10, 9), dt.date(2026, 9, 30)]
    ids = []
    for on in days:  # accepted on different days: the stage clocks run out on different days
        case = apply(c, world)
        with unit_of_work(db, ME) as uow:
            acceptance.accept(uow, case["id"], AcceptIn(), today=on)
        ids.append(case["id"])
    rv = as_user("rv_fire")
    page = rv.get(f"{URL}/tasks", params={"limit": 3}).json()
    order = [t["case_id"] for t in page["items"]]
    assert order == [ids[1], ids[0], ids[3]]
    remaining = [t["remaining_workdays"] for t in page["items"]]
    assert remaining == sorted(remaining) and all(t["clock_status"] == "overdue" for t in page["items"])
    rest = rv.get(f"{URL}/tasks", params={"limit": 3, "cursor": page["next_cursor"]}).json()
    assert [t["case_id"] for t in rest["items"]] == [ids[2]] and rest["next_cursor"] is None
    # only the reviewer's own department; deciders see the decide queue
    assert {t["org_id"] for t in page["items"]} == {world.fire}
    assert rv.get(f"{URL}/tasks", params={"queue": "decide"}).status_code == 403
    assert as_user("decider").get(f"{URL}/tasks", params={"queue": "decide"}).json()["items"] == []
    assert rv.get(f"{URL}/tasks", params={"org_id": world.housing}).status_code == 403
    assert rv.get(f"{URL}/tasks", params={"cursor": "garbage!"}).status_code == 422
    assert as_user("zhangsan").get(f"{URL}/tasks").status_code == 403
    with db.read() as s:  # the due dates on the tasks are the stage clocks'
        for t in s.scalars(select(Task).where(Task.case_id.in_(ids))):
            assert t.due_on == s.get(Case, t.case_id).stage_due_on


def test_review_services_refuse_wrong_steps(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(as_user, world)
    with pytest.raises(Conflict, match="not decide"), unit_of_work(db, ME) as uow:
        review.decide(uow, case["id"], True)
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        review.deliver(uow, case["id"], "window")
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        review.pause(uow, case["id"], "correction", "用暂停代替补正")


def test_a_single_review_flow_without_delivery_completes_at_the_decision(db, world: W, as_user) -> None:  # noqa: ANN001
    issued: list[hooks.Decision] = []
    hooks.ISSUERS.append(lambda uow, d: issued.append(d) or "NEVER")
    try:
        c = as_user("zhangsan")
        mats = {"report": upload(c)}
        body = {"item_code": world.simple_item, "form": {"project": "某小区竣工验收"}, "materials": mats}
        case = c.send("POST", f"{URL}/cases", json=body, headers={"Idempotency-Key": "simple-0001"}).json()
        assert case["window_org_id"] == world.housing  # the item's own department is its window
        # the bureau's window clerk is not this case's window
        assert as_user("window").send("POST", f"{URL}/cases/{case['id']}/accept", json={}).status_code == 403
        r = as_user("cityadmin").send("POST", f"{URL}/cases/{case['id']}/accept", json={})
        task = r.json()["tasks"][0]
        assert (task["kind"], task["org_id"]) == ("review", world.housing)
        as_user("rv_housing").send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True})
        r = as_user("decider").send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
        got = r.json()
        assert (got["status"], got["outcome"], got["certificate_no"]) == ("completed", "approved", None)
        assert issued == []  # the item has no certificate type: nothing issued
    finally:
        hooks.ISSUERS.pop()  # the test's own issuer; the wired one stays

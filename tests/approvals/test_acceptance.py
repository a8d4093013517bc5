"""One-window acceptance: accept, refuse with reasons, corrections that pause the clock, 容缺受理 with its
deadline rules and blacklist, supplements, the decision refused before the 容缺 materials arrive, and the
periodic termination of cases whose materials never came."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from tests.approvals.conftest import CITIZEN_ID, ME, URL, W, apply, day, upload
from zhicheng.approvals import acceptance, hooks, supervision
from zhicheng.approvals.models import Task
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import unit_of_work


def test_plain_acceptance_starts_the_limits_and_the_flow(db, world: W, as_user) -> None:  # noqa: ANN001
    c, window = as_user("zhangsan"), as_user("window")
    case = apply(c, world)
    assert (
        window.get(f"{URL}/cases", params={"view": "window", "status": "submitted"}).json()["items"][0]["id"]
        == case["id"]
    )
    r = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True})
    assert r.status_code == 422  # nothing is missing: no 容缺
    stale = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"version": case["version"] + 5})
    assert stale.status_code == 409
    r = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"note": "材料齐全，予以受理"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["stage"], got["accepted_on"]) == ("in_progress", "joint", got["submitted_on"])
    assert got["promised_due_on"] and got["statutory_due_on"] > got["promised_due_on"]
    assert got["due_on"] == got["promised_due_on"]  # accepted: the promised limit is what counts
    assert window.send("POST", f"{URL}/cases/{case['id']}/accept", json={}).status_code == 409
    # only the case's window accepts; a reviewer, an applicant, a clerk do not
    for who in ("rv_fire", "zhangsan", "clerk"):
        assert (
            as_user(who)
            .send("POST", f"{URL}/cases/{case['id']}/refuse", json={"reason": "x" * 12})
            .status_code
            == 403
        )


def test_refusal_needs_reasons(db, world: W, as_user) -> None:  # noqa: ANN001
    c, window = as_user("zhangsan"), as_user("window")
    case = apply(c, world)
    assert window.send("POST", f"{URL}/cases/{case['id']}/refuse", json={"reason": "不行"}).status_code == 422
    reason = "申请事项不属于本机关职权范围，请向区住建局申请"
    r = window.send("POST", f"{URL}/cases/{case['id']}/refuse", json={"reason": reason})
    assert (r.json()["status"], r.json()["reason"], r.json()["clock_status"]) == (
        "refused",
        reason,
        "stopped",
    )
    with db.read() as s:
        clock = s.get(Clock, s.scalar(select(Clock.id).where(Clock.subject == f"{case['id']}:accept:1")))
        assert clock.state == "stopped"


def test_rongque_acceptance_and_supplements(db, world: W, as_user) -> None:  # noqa: ANN001
    notices: list[hooks.Notice] = []
    hooks.NOTIFIERS.append(lambda uow, n: notices.append(n))
    try:
        c, window = as_user("zhangsan"), as_user("window")
        case = apply(c, world, skip=("fire",))
        assert case["status"] == "submitted"  # a missing 容缺-eligible material does not block submission
        r = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={})
        assert r.status_code == 422 and r.json()["missing"] == ["fire"]
        # promised 15 working days: the supplement deadline is at most min(20, 15 - 2) = 13
        r = window.send(
            "POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True, "supplement_days": 14}
        )
        assert r.status_code == 422 and "at most 13" in r.json()["messages"]["en"]
        r = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["rongque"], got["rongque_missing"], got["supplements_done_on"]) == (True, ["fire"], None)
        assert day(got["supplement_due_on"]) < day(got["promised_due_on"])
        with db.read() as s:
            from zhicheng.core.calendar import queries as calendar

            cal = calendar.calendar(s)
            assert cal.workdays_between(day(got["accepted_on"]), day(got["supplement_due_on"])) == 13
            assert cal.workdays_between(day(got["supplement_due_on"]), day(got["promised_due_on"])) == 2
        # the departments review; the decision is refused while the 容缺 material is missing
        for who, t in zip(("rv_housing", "rv_planning", "rv_fire", "rv_civil"), got["tasks"], strict=True):
            assert (
                as_user(who)
                .send("POST", f"{URL}/tasks/{t['id']}/conclude", json={"approve": True})
                .status_code
                == 200
            )
        decider = as_user("decider")
        r = decider.send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
        assert r.status_code == 409 and "容缺" in r.json()["messages"]["zh"]
        # only what is missing may be supplied now
        assert (
            c.send(
                "POST", f"{URL}/cases/{case['id']}/supply", json={"materials": {"land": upload(c)}}
            ).status_code
            == 422
        )
        r = c.send("POST", f"{URL}/cases/{case['id']}/supply", json={"materials": {"fire": upload(c)}})
        assert r.status_code == 200 and r.json()["supplements_done_on"]
        assert [m["code"] for m in r.json()["materials"] if m["supplement"]] == ["fire"]
        assert c.get(f"{URL}/cases/{case['id']}/check").json()["complete"] is True
        r = decider.send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
        assert r.status_code == 200 and r.json()["status"] == "delivering"
        kinds = [n.event for n in notices if n.case_id == case["id"]]
        assert kinds == [
            "submitted",
            "accepted_rongque",
            "stage",  # the joint review
            "stage",  # the decision
            "supplements_done",
            "approved",
            "stage",  # the delivery
        ]
        assert notices[1].party_id == world.citizen and "补交" in notices[1].text_zh
    finally:
        hooks.NOTIFIERS.pop()  # the test's own notifier; the wired one stays


def test_no_rongque_for_the_blacklisted(db, world: W, as_user) -> None:  # noqa: ANN001
    supervisor, c, window = as_user("supervisor"), as_user("zhangsan"), as_user("window")
    r = supervisor.send(
        "POST",
        f"{URL}/blacklist",
        json={"kind": "citizen", "id_number": CITIZEN_ID, "reason": "拒不履行法院生效判决，列入失信被执行人"},
    )
    assert r.status_code == 201
    entry = r.json()["id"]
    assert (
        supervisor.send(
            "POST",
            f"{URL}/blacklist",
            json={"kind": "citizen", "id_number": CITIZEN_ID, "reason": "重复列入同一号码应被拒绝"},
        ).status_code
        == 409
    )
    bad = supervisor.send(
        "POST",
        f"{URL}/blacklist",
        json={"kind": "citizen", "id_number": "320102199002024560", "reason": "号码校验位错误应被拒绝"},
    )
    assert bad.status_code == 422
    case = apply(c, world, skip=("fire",))
    r = window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True})
    assert r.status_code == 422 and "blacklist" in r.json()["messages"]["en"]
    assert window.send("POST", f"{URL}/blacklist", json={}).status_code == 403
    assert (
        supervisor.send(
            "POST", f"{URL}/blacklist/{entry}/lift", json={"reason": "已履行判决义务，信用修复"}
        ).status_code
        == 200
    )
    assert supervisor.get(f"{URL}/blacklist").json()["items"] == []
    assert window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True}).status_code == 200


def test_no_rongque_when_the_promised_limit_is_too_short(db, world: W, as_user) -> None:  # noqa: ANN001
    assert acceptance.rongque_days_allowed(15) == 13
    assert acceptance.rongque_days_allowed(30) == 20
    assert acceptance.rongque_days_allowed(2) == 0


def test_window_corrections_pause_until_supplied(db, world: W, as_user) -> None:  # noqa: ANN001
    c, window = as_user("zhangsan"), as_user("window")
    case = apply(c, world)
    ask = {"materials": ["land"], "fields": ["phone"], "note": "用地批准手续页码不全，联系电话请填写手机"}
    assert (
        window.send("POST", f"{URL}/cases/{case['id']}/corrections", json={**ask, "note": "短"}).status_code
        == 422
    )
    assert (
        window.send(
            "POST", f"{URL}/cases/{case['id']}/corrections", json={**ask, "materials": ["nope"]}
        ).status_code
        == 422
    )
    r = window.send("POST", f"{URL}/cases/{case['id']}/corrections", json=ask)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["clock_status"], r.json()["correction"]["materials"]) == (
        "correcting",
        "paused",
        ["land"],
    )
    assert window.send("POST", f"{URL}/cases/{case['id']}/accept", json={}).status_code == 409
    # the material alone does not end the correction: the phone was asked for too
    r = c.send("POST", f"{URL}/cases/{case['id']}/supply", json={"materials": {"land": upload(c)}})
    assert r.json()["status"] == "correcting"
    bad = c.send("POST", f"{URL}/cases/{case['id']}/supply", json={"form": {"phone": "123"}})
    assert bad.status_code == 422
    r = c.send("POST", f"{URL}/cases/{case['id']}/supply", json={"form": {"phone": "13900001111"}})
    assert (r.json()["status"], r.json()["correction"], r.json()["form"]["phone"]) == (
        "submitted",
        None,
        "13900001111",
    )
    superseded = [m["code"] for m in r.json()["materials"] if m["superseded"]]
    assert superseded == ["land"]  # the first file is kept, marked superseded
    assert window.send("POST", f"{URL}/cases/{case['id']}/accept", json={}).status_code == 200


def test_rongque_cases_end_when_materials_do_not_arrive(db, world: W, as_user) -> None:  # noqa: ANN001
    c, window = as_user("zhangsan"), as_user("window")
    lapsed, kept = apply(c, world, skip=("fire",)), apply(c, world, skip=("fire",))
    for case in (lapsed, kept):
        r = window.send(
            "POST", f"{URL}/cases/{case['id']}/accept", json={"rongque": True, "supplement_days": 3}
        )
        assert r.status_code == 200
    due = day(window.get(f"{URL}/cases/{lapsed['id']}").json()["supplement_due_on"])
    c.send("POST", f"{URL}/cases/{kept['id']}/supply", json={"materials": {"fire": upload(c)}})
    with unit_of_work(db, ME) as uow:
        assert supervision.terminate_lapsed(uow, due) == 0  # the last day still counts
    with unit_of_work(db, ME) as uow:
        assert supervision.sweep(uow, due + dt.timedelta(days=1))["terminated"] == 1
    gone = window.get(f"{URL}/cases/{lapsed['id']}").json()
    assert (gone["status"], gone["clock_status"]) == ("terminated", "stopped")
    assert "容缺材料未在" in gone["reason"]
    assert {t["status"] for t in gone["tasks"]} == {"cancelled"}
    assert window.get(f"{URL}/cases/{kept['id']}").json()["status"] == "in_progress"
    assert [e["kind"] for e in c.get(f"{URL}/cases/{lapsed['id']}/timeline").json()][-1] == "terminated"
    with db.read() as s:
        open_tasks = s.scalars(
            select(Task.id).where(Task.case_id == lapsed["id"], Task.status == "open")
        ).all()
        assert open_tasks == []
        mine = or_(Clock.subject == str(lapsed["id"]), Clock.subject.startswith(f"{lapsed['id']}:"))
        states = set(s.scalars(select(Clock.state).where(mine)))
        assert states == {"stopped"}
    with unit_of_work(db, ME) as uow:  # idempotent
        assert supervision.terminate_lapsed(uow, due + dt.timedelta(days=5)) == 0

"""The closed loop as its people meet it: the supervision centre registers, the command centre dispatches by
rule, the department handles with photos and feeds back, the supervision centre verifies (or sends back for
返工) and evaluates; 退回, 争议, 延期 on the official calendar, 回访 and the overdue sweep escalating once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tests.cityops.conftest import JPEG, ME, SHED, report_body
from zhicheng.cityops import intake, loop
from zhicheng.cityops.models import Case, CaseEvent
from zhicheng.cityops.schemas import ActionIn, ReportIn
from zhicheng.core.calendar import queries as calendar_queries
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.notify.models import Notification

CASES = "/api/v1/cityops/cases"


def _new(db, **kw):  # noqa: ANN001, ANN003, ANN202
    with unit_of_work(db, ME) as uow:
        return intake.report(uow, ReportIn(**report_body(**kw)), channel=kw.pop("channel", "hotline")).case_id


def _after_photo(client, case_id) -> None:  # noqa: ANN001
    r = client.send(
        "POST",
        f"/api/v1/cityops/reports/{case_id}/photos",
        files={"file": ("a.jpg", JPEG, "image/jpeg")},
        data={"stage": "after"},
    )
    assert r.status_code == 201, r.text


def test_the_seven_steps(db, city, as_user) -> None:  # noqa: ANN001
    citizen = as_user("citizen")
    case_id = citizen.send("POST", "/api/v1/cityops/reports", json=report_body()).json()["case_id"]
    sup, cmd, handler = as_user("supervisor"), as_user("commander"), as_user("handler")
    assert handler.send("POST", f"{CASES}/{case_id}/register", json={}).status_code == 403
    r = sup.send("POST", f"{CASES}/{case_id}/register", json={})
    assert r.status_code == 200 and r.json()["status"] == "registered" and r.json()["dispatch_due_on"]
    assert sup.send("POST", f"{CASES}/{case_id}/register", json={}).status_code == 409
    assert (
        sup.send("POST", f"{CASES}/{case_id}/dispatch", json={}).status_code == 403
    )  # not the command centre
    r = cmd.send("POST", f"{CASES}/{case_id}/dispatch", json={})  # by the city-wide rule: the urban bureau
    assert r.json()["department_id"] == city["urban"] and r.json()["handle_due_on"]
    assert as_user("street_handler").send("POST", f"{CASES}/{case_id}/accept", json={}).status_code == 403
    assert handler.send("POST", f"{CASES}/{case_id}/accept", json={}).json()["status"] == "handling"
    no_photo = handler.send("POST", f"{CASES}/{case_id}/feedback", json={"note": "已拆除"})
    assert no_photo.status_code == 422
    _after_photo(handler, case_id)
    r = handler.send("POST", f"{CASES}/{case_id}/feedback", json={"note": "已拆除"})
    assert r.json()["status"] == "handled" and r.json()["on_time"] is True
    r = sup.send("POST", f"{CASES}/{case_id}/verify", json={})
    assert r.json()["status"] == "closed" and r.json()["closed_on"]
    r = sup.send("POST", f"{CASES}/{case_id}/evaluate", json={"evaluation": "good"})
    assert r.json()["status"] == "evaluated" and r.json()["evaluation"] == "good"
    kinds = [e["kind"] for e in r.json()["timeline"]]
    assert kinds == ["reported", "register", "dispatch", "accept", "photo", "feedback", "verify", "evaluate"]
    # the citizen follows and is told of every public change; sees the timeline but no one else's details
    with db.read() as s:
        sent = s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_user_id == city["citizen"])
        )
    assert sent == 6  # register, dispatch, accept, feedback, verify, evaluate (the photo is not a message)
    view = citizen.get(f"{CASES}/{case_id}").json()
    assert view["status"] == "evaluated" and all(e["public"] for e in view["timeline"])
    c = citizen.send("POST", f"{CASES}/{case_id}/comments", json={"text": "谢谢，处理得很快"})
    assert c.status_code == 201 and c.json()["timeline"][-1]["kind"] == "comment"
    assert as_user("outsider").get(f"{CASES}/{case_id}").status_code == 403
    assert as_user("outsider").send("POST", f"{CASES}/{case_id}/verify", json={}).status_code == 403


def _dispatched(db, city, today):  # noqa: ANN001, ANN202
    case_id = _new(db)
    with unit_of_work(db, ME) as uow:
        loop.step(uow, case_id, "register", ActionIn(), today)
        loop.step(uow, case_id, "dispatch", ActionIn(), today)
    return case_id


def test_rework_after_a_failed_check(db, city, as_user) -> None:  # noqa: ANN001
    case_id = _dispatched(db, city, shanghai_today())
    handler, sup = as_user("handler"), as_user("supervisor")
    _after_photo(handler, case_id)
    handler.send("POST", f"{CASES}/{case_id}/feedback", json={})
    assert sup.send("POST", f"{CASES}/{case_id}/reject", json={}).status_code == 422  # a reason is required
    r = sup.send("POST", f"{CASES}/{case_id}/reject", json={"reason": "棚子只拆了一半"})
    assert r.json()["status"] == "rework" and r.json()["rework_count"] == 1
    assert (
        handler.send("POST", f"{CASES}/{case_id}/feedback", json={}).status_code == 422
    )  # a new photo first
    _after_photo(handler, case_id)
    assert handler.send("POST", f"{CASES}/{case_id}/feedback", json={}).json()["status"] == "handled"
    assert sup.send("POST", f"{CASES}/{case_id}/verify", json={}).json()["status"] == "closed"


def test_return_dispute_and_redispatch(db, city, as_user) -> None:  # noqa: ANN001
    case_id = _dispatched(db, city, shanghai_today())
    handler, cmd = as_user("handler"), as_user("commander")
    r = handler.send("POST", f"{CASES}/{case_id}/return", json={"reason": "不属于城管职责"})
    assert r.json()["status"] == "returned" and r.json()["reason"] == "不属于城管职责"
    r = cmd.send("POST", f"{CASES}/{case_id}/dispatch", json={"department_id": city["street"]})
    assert r.json()["status"] == "dispatched" and r.json()["department_id"] == city["street"]
    street = as_user("street_handler")
    assert handler.send("POST", f"{CASES}/{case_id}/dispute", json={"reason": "x"}).status_code == 403
    r = street.send("POST", f"{CASES}/{case_id}/dispute", json={"reason": "权属不清"})
    assert r.json()["status"] == "disputed"
    assert (
        cmd.send("POST", f"{CASES}/{case_id}/dispatch", json={"department_id": city["urban"]}).status_code
        == 200
    )


def test_extension_moves_the_due_date_on_the_official_calendar(db, city, as_user) -> None:  # noqa: ANN001
    case_id = _dispatched(db, city, dt.date(2026, 9, 28))  # 私搭乱建: 5 working days
    with db.read() as s:
        first = s.get(Case, case_id).handle_due_on
        assert first == calendar_queries.calendar(s).add_workdays(dt.date(2026, 9, 28), 5).date
        assert first > dt.date(2026, 10, 8)  # the National Day holidays are not counted
    handler, cmd = as_user("handler"), as_user("commander")
    r = handler.send("POST", f"{CASES}/{case_id}/extend", json={"days": 5, "reason": "需协调拆除队伍"})
    assert r.status_code == 200 and r.json()["extension_requested"] == 5
    assert handler.send("POST", f"{CASES}/{case_id}/extend", json={"approve": True}).status_code == 403
    r = cmd.send("POST", f"{CASES}/{case_id}/extend", json={"approve": True})
    assert r.json()["extension_days"] == 5 and r.json()["extension_requested"] is None
    with db.read() as s:
        due = s.get(Case, case_id).handle_due_on
    assert due == dt.date(2026, 10, 16)  # 10 working days from 2026-09-28 (DOMAIN.md)
    assert cmd.send("POST", f"{CASES}/{case_id}/extend", json={"approve": True}).status_code == 409


def test_callback_and_satisfaction_for_hotline_cases(db, city, as_user) -> None:  # noqa: ANN001
    case_id = _dispatched(db, city, shanghai_today())
    sup = as_user("supervisor")
    assert sup.send("POST", f"{CASES}/{case_id}/callback", json={"satisfaction": 5}).status_code == 409
    handler = as_user("handler")
    _after_photo(handler, case_id)
    handler.send("POST", f"{CASES}/{case_id}/feedback", json={})
    sup.send("POST", f"{CASES}/{case_id}/verify", json={})
    assert sup.send("POST", f"{CASES}/{case_id}/callback", json={"satisfaction": 9}).status_code == 422
    r = sup.send("POST", f"{CASES}/{case_id}/callback", json={"satisfaction": 4, "note": "市民表示满意"})
    assert r.json()["satisfaction"] == 4 and r.json()["callback_result"] == "市民表示满意"
    grid_case = _new(db, channel="grid", category=SHED, lng=118.835, lat=32.095)
    with unit_of_work(db, ME) as uow:
        for a in ("register", "dispatch"):
            loop.step(uow, grid_case, a, ActionIn(), shanghai_today())
        uow.session.get(Case, grid_case).status = "closed"
    assert sup.send("POST", f"{CASES}/{grid_case}/callback", json={"satisfaction": 4}).status_code == 409


def test_overdue_sweep_escalates_once(db, city, as_user) -> None:  # noqa: ANN001
    start = shanghai_today() - dt.timedelta(days=30)
    case_id = _dispatched(db, city, start)
    registered = _new(db, lng=118.845, lat=32.085)
    with unit_of_work(db, ME) as uow:
        loop.step(uow, registered, "register", ActionIn(), start)
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, shanghai_today()) == 2
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, shanghai_today()) == 0
    with db.read() as s:
        n = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "escalated"))
    assert n == 2
    late = as_user("commander").get(CASES, params={"overdue": True}).json()["items"]
    assert {c["id"] for c in late} == {case_id, registered} and all(c["escalated"] for c in late)
    assert as_user("citizen").get(f"{CASES}/{case_id}").status_code == 403  # not theirs


def test_overdue_sweep_tells_the_command_centre_once(db, city, as_user) -> None:  # noqa: ANN001
    from tests import personas
    from zhicheng.core.auth import services as auth
    from zhicheng.core.auth.models import User
    from zhicheng.core.auth.schemas import GrantIn, UserIn

    with unit_of_work(db, ME) as uow:  # a command centre over the other district only: not told
        other = auth.create_user(
            uow, UserIn(username="qinhuai_cmd", display_name="秦淮指挥", password=personas.PASSWORD)
        )
        auth.grant_role(uow, other.id, GrantIn(role="command_centre", org_id=personas.WORLD.other_district))
    start = shanghai_today() - dt.timedelta(days=30)
    case_id = _dispatched(db, city, start)
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, shanghai_today()) == 1
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, shanghai_today()) == 0

    def told(username: str) -> list[Notification]:
        with db.read() as s:
            user_id = s.scalar(select(User.id).where(User.username == username))
            return list(
                s.scalars(
                    select(Notification).where(
                        Notification.recipient_user_id == user_id,
                        Notification.source == f"cityops:case:{case_id}",
                    )
                )
            )

    mine = told("commander")
    assert len(mine) == 1 and mine[0].channel == "site"
    assert "超期督办" in mine[0].body and mine[0].title.startswith("案卷 ")
    for nobody in ("supervisor", "handler", "qinhuai_cmd", "outsider", "admin"):
        assert told(nobody) == [], nobody
    # the commander reads it in the console's inbox (site messages); the outsider cannot see the case
    assert as_user("outsider").get(f"{CASES}/{case_id}").status_code == 403

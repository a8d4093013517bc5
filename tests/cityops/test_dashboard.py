"""The city dashboard (城市运行体征): its JSON equals what counting the cases gives (today's reports, open and
overdue per grid, the 30-day trend, top categories, the department ranking, the overdue list), the page
renders every figure as a table too, and only cityops.read holders see it."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from tests.cityops.conftest import MANHOLE, ME, SHED, centre, report_body
from zhicheng.cityops import intake, loop, vocab
from zhicheng.cityops.models import Case, Grid
from zhicheng.cityops.schemas import ActionIn, ReportIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work

API = "/api/v1/cityops/dashboard"
NO_MERGE = intake.Rules(0, 0)


def _mix(db, city) -> dict[str, int]:  # noqa: ANN001
    """12 cases over the last days in several grids: some registered, dispatched, closed, one cancelled and
    two escalated as overdue."""
    today = shanghai_today()
    made = {}
    with unit_of_work(db, ME) as uow:
        for n in range(12):
            day = today - dt.timedelta(days=n % 4)
            x, y = centre(n % 3, n % 5)
            at = dt.datetime.combine(day, dt.time(1), dt.UTC)
            body = ReportIn(
                **report_body(
                    category=MANHOLE if n % 3 == 0 else SHED, lng=x, lat=y, reported_at=at.isoformat()
                )
            )
            made[n] = intake.report(uow, body, channel="hotline", today=day, rules=NO_MERGE).case_id
    with unit_of_work(db, ME) as uow:
        for n in range(1, 9):
            loop.step(uow, made[n], "register", ActionIn(), today - dt.timedelta(days=5))
        for n in range(1, 7):
            loop.step(uow, made[n], "dispatch", ActionIn(), today - dt.timedelta(days=5))
        loop.step(uow, made[9], "cancel", ActionIn(reason="不属实"), today)
        for n in (1, 2, 3):
            case = uow.session.get(Case, made[n])
            case.status, case.handled_on, case.on_time, case.closed_on = "closed", today, n != 3, today
        uow.record("cityops:test:closed", "cases")
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, today + dt.timedelta(days=30)) >= 2
    return made


def test_dashboard_figures_equal_a_count_of_the_cases(db, city, as_user) -> None:  # noqa: ANN001
    _mix(db, city)
    today = shanghai_today()
    r = as_user("clerk").get(API)
    assert r.status_code == 200, r.text
    d = r.json()
    with db.read() as s:
        cases = s.scalars(select(Case)).all()
        codes = dict(s.execute(select(Grid.id, Grid.code)).all())
    first = today - dt.timedelta(days=29)
    window = [c for c in cases if first <= c.reported_on <= today]
    t = d["totals"]
    assert t["reported_today"] == sum(c.reported_on == today for c in cases) == 3
    assert t["closed_today"] == sum(c.closed_on == today for c in cases) == 3
    assert t["open"] == sum(c.status in vocab.OPEN for c in cases)
    assert t["overdue"] == sum(c.status in vocab.OPEN and c.escalated_at is not None for c in cases) >= 2
    assert t["reported"] == len(window) == 12
    registered = [c for c in window if c.registered_on]
    assert t["closure_rate"] == round(sum(c.status == "closed" for c in registered) / len(registered), 4)
    assert t["ontime_closure_rate"] == round(2 / len(registered), 4)
    assert [p["reported"] for p in d["trend"]][-4:] == [3, 3, 3, 3]
    assert len(d["trend"]) == 30 and d["trend"][-1]["day"] == today.isoformat()
    open_by_grid = Counter(codes[c.grid_id] for c in cases if c.status in vocab.OPEN)
    assert {g["code"]: g["open"] for g in d["grids"] if g["open"]} == dict(open_by_grid)
    assert len(d["grids"]) == 40
    top = {c["category"]: c["reported"] for c in d["top_categories"]}
    assert top == {MANHOLE: 4, SHED: 8}
    assert d["top_categories"][0]["category"] == SHED
    late = {c.id for c in cases if c.status in vocab.OPEN and c.escalated_at is not None}
    assert {c["id"] for c in d["overdue"]} == late
    assert all(c["url"] == f"/cityops/cases/{c['id']}" for c in d["overdue"])
    ranking = {r["department_id"]: r for r in d["ranking"]}
    for dept, row in ranking.items():
        mine = [c for c in registered if (c.department_id or c.routed_department_id) == dept]
        assert row["registered"] == len(mine)
        assert row["closed_on_time"] == sum(c.status == "closed" and c.on_time is True for c in mine)
    # the area filter: 秦淮区 has no cases; the street has them all
    q = as_user("clerk").get(API, params={"area": "320104"}).json()
    assert q["totals"]["reported"] == 0 and len(q["grids"]) == 4 and q["overdue"] == []
    assert as_user("clerk").get(API, params={"area": "320102002"}).json()["totals"] == t
    assert as_user("clerk").get(API, params={"area": "32"}).status_code == 422
    community = as_user("clerk").get(API, params={"area": "320102002001"}).json()  # rows 0-2: all the cases
    assert community["totals"] == t and community["trend"] == d["trend"] and len(community["grids"]) == 18
    one = as_user("clerk").get(API, params={"area": codes[cases[0].grid_id]}).json()
    assert one["totals"]["reported"] == sum(c.grid_id == cases[0].grid_id for c in window)
    assert [g["code"] for g in one["grids"]] == [codes[cases[0].grid_id]]


def test_a_new_report_shows_at_once(db, city, as_user) -> None:  # noqa: ANN001
    clerk, agent = as_user("clerk"), as_user("agent")
    before = clerk.get(API).json()["totals"]
    r = agent.send("POST", "/api/v1/cityops/reports", params={"channel": "hotline"}, json=report_body())
    assert r.status_code == 201
    after = clerk.get(API).json()["totals"]
    assert after["reported_today"] == before["reported_today"] + 1 and after["open"] == before["open"] + 1


def test_the_page_and_who_sees_it(db, city, as_user) -> None:  # noqa: ANN001
    _mix(db, city)
    clerk = as_user("clerk")
    page = clerk.get("/cityops/dashboard")
    assert page.status_code == 200
    for testid in ("chart-map", "overdue-table", "top-table", "ranking-table", "trend-table", "grid-table"):
        assert f'data-testid="{testid}"' in page.text
    assert "/cityops/cases/" in page.text and "/vendor/echarts/echarts.min.js" in page.text
    assert "城市运行体征" in page.text and 'href="/cityops/indicators"' in page.text
    assert clerk.get("/cityops/dashboard", params={"area": "bad"}).status_code in (400, 422)
    for who in ("outsider", "citizen"):
        u = as_user(who)
        assert u.get(API).status_code == 403
        assert u.get("/cityops/dashboard").status_code in (403, 303)

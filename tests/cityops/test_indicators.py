"""Indicators over the roll-ups: DOMAIN.md's worked example (Tianmen, December 2016: 结案率 911/972,
按期结案率 737/972) built as a case mix, the drill-down to the very cases behind each figure, the roll-up
equal to a recount from the cases after a series of real loop steps, and who may read them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.cityops.conftest import JPEG, MANHOLE, ME, SHED, centre, report_body, xuanwu_code
from zhicheng.cityops import intake, loop, rollup
from zhicheng.cityops.models import Case
from zhicheng.cityops.schemas import ActionIn, ReportIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work

API = "/api/v1/cityops/indicators"
CASES = "/api/v1/cityops/cases"
NO_MERGE = intake.Rules(0, 0)
DEC = dt.date(2016, 12, 1)


def _tianmen(db) -> dict[str, list[int]]:  # noqa: ANN001
    """977 cases reported in December 2016: 972 registered (911 closed, 737 of them on time; 61 still with
    the department), 5 not registered (3 cancelled, 2 waiting), and 4 in November that do not count."""
    ids: list[int] = []
    with unit_of_work(db, ME) as uow:
        for n in range(981):
            day = DEC + dt.timedelta(days=n % 31) if n < 977 else DEC - dt.timedelta(days=1 + n % 3)
            at = dt.datetime.combine(day, dt.time(10), dt.UTC)
            body = ReportIn(**report_body(reported_at=at.isoformat()))
            ids.append(intake.report(uow, body, channel="hotline", today=day, rules=NO_MERGE).case_id)
    with unit_of_work(db, ME) as uow:
        for n, case_id in enumerate(ids):
            case = uow.session.get(Case, case_id)
            k = n if n < 977 else n - 977  # November's cases get the same treatment as the first ones
            if k >= 972:
                case.status = "cancelled" if k < 975 else "reported"
                continue
            case.registered_on = case.reported_on
            if k < 911:
                case.status, case.handled_on, case.closed_on = (
                    "closed",
                    case.reported_on,
                    DEC + dt.timedelta(40),
                )
                case.on_time = k < 737
            else:
                case.status = "dispatched"
        uow.record("cityops:test:states", "cases", {"count": len(ids)})
    return {"december": ids[:977], "november": ids[977:]}


def test_tianmen_closure_rates_and_drill_down(db, city, as_user) -> None:  # noqa: ANN001
    made = _tianmen(db)
    clerk = as_user("clerk")
    r = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31"})
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    f = row["figures"]
    assert f["closure_rate"] == {"numerator": 911, "denominator": 972, "value": 0.9372}
    assert f["ontime_closure_rate"] == {"numerator": 737, "denominator": 972, "value": 0.7582}
    assert f["registration_rate"] == {"numerator": 972, "denominator": 975, "value": 0.9969}  # 2 undecided
    assert f["ontime_handling_rate"] == {"numerator": 737, "denominator": 911, "value": 0.809}
    assert f["rework_rate"]["numerator"] == 0 and f["satisfaction_rate"]["value"] is None
    # the drill-down gives exactly the cases behind numerator and denominator, page by page
    got = {}
    for part in ("numerator", "denominator"):
        seen, cursor = [], None
        while True:
            params = {
                "indicator": "ontime_closure_rate",
                "part": part,
                "from": "2016-12-01",
                "to": "2016-12-31",
            }
            page = clerk.get(
                f"{API}/cases", params={**params, "limit": 400, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            seen += [c["id"] for c in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        got[part] = seen
    december = made["december"]
    assert sorted(got["numerator"]) == sorted(december[:737])
    assert sorted(got["denominator"]) == sorted(december[:972])
    assert got["denominator"] == sorted(got["denominator"], reverse=True)  # newest first
    # by week, and by department (the city-wide rule routed every shed case to the urban bureau)
    weeks = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31", "by": "week"}).json()["rows"]
    assert weeks[0]["period"] == "2016-11-28" and sum(w["counts"]["registered"] for w in weeks) == 972
    depts = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31", "group": "department"}).json()
    (dept,) = depts["rows"]
    assert dept["group"] == {"key": city["urban"], "name": "玄武区城市管理局"}
    assert dept["figures"]["closure_rate"]["numerator"] == 911
    other = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31", "department": city["street"]})
    assert other.json()["rows"][0]["counts"]["reported"] == 0
    # the area filter: all in grid (2, 2) of the street 320102002; nothing in 秦淮区
    street = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31", "area": "320102002"}).json()
    assert street["rows"][0]["figures"]["closure_rate"]["denominator"] == 972
    # a community or a grid is counted from its cases: the same figures
    dec = {"from": "2016-12-01", "to": "2016-12-31"}
    for area in (xuanwu_code(2, 2), xuanwu_code(2, 2)[:12]):
        fine = clerk.get(API, params={**dec, "area": area}).json()["rows"][0]["figures"]
        assert fine["closure_rate"] == {"numerator": 911, "denominator": 972, "value": 0.9372}
        assert fine["ontime_closure_rate"]["numerator"] == 737
    (by_grid,) = clerk.get(API, params={**dec, "group": "grid"}).json()["rows"]
    assert by_grid["group"]["name"].endswith(f"（{xuanwu_code(2, 2)}）")
    assert by_grid["figures"]["closure_rate"]["denominator"] == 972
    by_community = clerk.get(API, params={**dec, "group": "community", "by": "month"}).json()["rows"]
    assert [(r["group"]["key"], r["counts"]["closed"]) for r in by_community] == [("320102002001", 911)]
    assert (
        clerk.get(API, params={**dec, "area": xuanwu_code(0, 0)}).json()["rows"][0]["counts"]["reported"] == 0
    )
    qinhuai = clerk.get(API, params={"from": "2016-12-01", "to": "2016-12-31", "area": "320104"}).json()
    assert qinhuai["rows"][0]["figures"]["closure_rate"] == {"numerator": 0, "denominator": 0, "value": None}
    nov = clerk.get(API, params={"from": "2016-11-01", "to": "2016-11-30"}).json()["rows"][0]["counts"]
    assert nov["reported"] == 4 and nov["closed"] == 4
    with db.read() as s:
        assert rollup.stored(s.connection()) == rollup.recount(s.connection())
    # the console page shows the figures with their drill-down links
    page = clerk.get("/cityops/indicators", params={"from": "2016-12-01", "to": "2016-12-31"})
    assert page.status_code == 200 and "93.7%" in page.text and "75.8%" in page.text
    assert "indicator=closure_rate&amp;part=numerator" in page.text
    drill = clerk.get(
        "/cityops/indicators/cases",
        params={"indicator": "closure_rate", "part": "numerator", "from": "2016-12-01", "to": "2016-12-31"},
    )
    assert drill.status_code == 200 and drill.text.count("data-case=") == 100 and "next-page" in drill.text


def _photo(client, case_id: int) -> None:  # noqa: ANN001
    r = client.send(
        "POST",
        f"/api/v1/cityops/reports/{case_id}/photos",
        files={"file": ("a.jpg", JPEG, "image/jpeg")},
        data={"stage": "after"},
    )
    assert r.status_code == 201, r.text


def test_rollup_equals_a_recount_after_loop_steps(db, city, as_user) -> None:  # noqa: ANN001
    agent, sup, cmd = as_user("agent"), as_user("supervisor"), as_user("commander")
    handler, street = as_user("handler"), as_user("street_handler")

    def new(category: str = SHED, row: int = 2, col: int = 2, channel: str = "hotline") -> int:
        x, y = centre(row, col)
        body = report_body(category=category, lng=x, lat=y)
        r = agent.send("POST", "/api/v1/cityops/reports", params={"channel": channel}, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()["case_id"]

    def act(who, case_id: int, action: str, **body) -> None:  # noqa: ANN001, ANN003
        r = who.send("POST", f"{CASES}/{case_id}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)

    a, b, c, d, e = new(), new(row=0, col=0), new(MANHOLE, 4, 1, "grid"), new(row=5, col=5), new(row=1, col=4)
    assert new(row=2, col=2) == a  # merged: the roll-up does not count a second case
    act(sup, a, "register")
    act(cmd, a, "dispatch")
    act(handler, a, "accept")
    _photo(handler, a)
    act(handler, a, "feedback")
    act(sup, a, "reject", reason="没拆完")
    _photo(handler, a)
    act(handler, a, "feedback")
    act(sup, a, "verify")
    act(sup, a, "evaluate", evaluation="good")
    act(sup, a, "callback", satisfaction=5)
    act(sup, b, "cancel", reason="重复")
    act(sup, c, "register")
    act(cmd, c, "dispatch")  # the street rule
    act(street, c, "return", reason="不归我们")
    act(cmd, c, "dispatch", department_id=city["urban"])  # the case moves to another department's row
    act(sup, d, "register")
    act(cmd, d, "dispatch")
    act(handler, d, "dispute", reason="权属不清")
    act(sup, e, "register")
    with unit_of_work(db, ME) as uow:  # e is late: the sweep escalates it
        uow.session.get(Case, e).dispatch_due_on = shanghai_today() - dt.timedelta(days=3)
        uow.record("cityops:test:late", f"case:{e}")
    with unit_of_work(db, ME) as uow:
        assert loop.sweep(uow, shanghai_today()) == 1
    with db.read() as s:
        stored, recount = rollup.stored(s.connection()), rollup.recount(s.connection())
    assert stored == recount
    daily, live = stored
    assert sum(v["reported"] for v in daily.values()) == 5
    assert sum(v["closures"] for v in daily.values()) == 1
    assert sum(v["cases"] for v in live.values()) == 3 and sum(v["overdue"] for v in live.values()) == 1
    f = as_user("clerk").get(API).json()["rows"][0]["figures"]
    assert f["registration_rate"] == {"numerator": 4, "denominator": 5, "value": 0.8}
    assert f["closure_rate"] == {"numerator": 1, "denominator": 4, "value": 0.25}
    assert f["rework_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert f["satisfaction_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert f["satisfaction_mean"] == 5.0
    by_dept = as_user("clerk").get(API, params={"group": "department"}).json()["rows"]
    assert {r["group"]["key"]: r["counts"]["reported"] for r in by_dept} == {city["urban"]: 5}
    # rebuild gives the same tables
    with unit_of_work(db, ME) as uow:
        rollup.rebuild(uow.session.connection())
        uow.record("cityops:rollup:rebuild", "rollup")
    with db.read() as s:
        assert rollup.stored(s.connection()) == recount
    # a rolled-back change leaves the roll-up as it was
    try:
        with unit_of_work(db, ME) as uow:
            loop.step(uow, d, "dispatch", ActionIn(department_id=city["street"]), shanghai_today())
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.read() as s:
        assert rollup.stored(s.connection()) == recount
        assert s.scalar(select(Case.status).where(Case.id == d)) == "disputed"


def test_who_may_read_and_bad_input(db, city, as_user) -> None:  # noqa: ANN001
    for who in ("outsider", "citizen"):
        u = as_user(who)
        assert u.get(API).status_code == 403
        assert u.get(f"{API}/cases", params={"indicator": "closure_rate"}).status_code == 403
        assert u.get("/cityops/indicators").status_code in (403, 303)
    clerk = as_user("clerk")
    assert clerk.get(API, params={"from": "2026-02-01", "to": "2026-01-01"}).status_code == 422
    assert clerk.get(API, params={"area": "3201"}).status_code == 422
    assert clerk.get(API, params={"by": "year"}).status_code == 422
    assert clerk.get(API, params={"group": "planet"}).status_code == 422
    assert clerk.get(API, params={"category": "part:9999"}).status_code == 422
    assert clerk.get(f"{API}/cases", params={"indicator": "speed"}).status_code == 422
    assert clerk.get(f"{API}/cases", params={"indicator": "closure_rate", "part": "half"}).status_code == 422
    r = clerk.get(API, params={"from": "2020-01-01", "to": "2020-01-31", "group": "street"})
    assert r.status_code == 200 and r.json()["rows"] == []

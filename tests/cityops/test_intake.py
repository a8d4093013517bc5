"""Intake from every channel: grid assignment, coordinates in every system, unknown categories and points
outside the city refused, duplicates merged within the radius and the window only, idempotent retries."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.cityops.conftest import MANHOLE, ME, SHED, centre, report_body, xuanwu_code
from zhicheng.cityops import intake
from zhicheng.cityops.models import Case, Follower, Reporter
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.core.geo import crs as C

URL = "/api/v1/cityops/reports"


def _report(db, body, channel="grid", **kw):  # noqa: ANN001, ANN003, ANN202
    with unit_of_work(db, ME) as uow:
        return intake.report(uow, ReportIn(**body), channel=channel, **kw)


def test_grid_assigned_and_routed(db, city) -> None:  # noqa: ANN001
    out = _report(db, report_body())
    assert not out.merged and out.status == "reported"
    with db.read() as s:
        case = s.get(Case, out.case_id)
        assert case.division_code == xuanwu_code(2, 2)[:12] and case.routed_department_id == city["urban"]
        assert out.number == case.number and case.report_count == 1
    manhole = _report(db, report_body(MANHOLE))
    with db.read() as s:
        assert s.get(Case, manhole.case_id).routed_department_id == city["street"]  # the street's rule


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_every_coordinate_system_normalised(db, city, system) -> None:  # noqa: ANN001
    x, y = centre(1, 4)
    lng, lat = C.convert(x, y, "wgs84", system)
    out = _report(db, report_body(lng=lng, lat=lat, crs=system))
    with db.read() as s:
        case = s.get(Case, out.case_id)
    assert case.lng == pytest.approx(x, abs=1e-7) and case.lat == pytest.approx(y, abs=1e-7)
    assert case.division_code == xuanwu_code(1, 4)[:12]


def test_outside_the_city_and_unknown_category(db, city) -> None:  # noqa: ANN001
    with pytest.raises(Invalid, match="outside the city"):
        _report(db, report_body(lng=116.4, lat=39.9))
    with pytest.raises(Invalid, match="unknown category"):
        _report(db, report_body("event:9999"))
    with pytest.raises(Invalid):
        _report(db, report_body(crs="mars2"))
    with pytest.raises(Invalid, match="unknown channel"):
        _report(db, report_body(), channel="pigeon")


def test_duplicates_merge_within_radius_and_window_only(db, city) -> None:  # noqa: ANN001
    x, y = centre(3, 3)
    first = _report(db, report_body(lng=x, lat=y))
    near = _report(db, report_body(lng=x + 0.0003, lat=y), channel="hotline")  # ~28 m east
    assert near.merged and near.case_id == first.case_id
    far = _report(db, report_body(lng=x + 0.0008, lat=y))  # ~75 m
    assert not far.merged
    other_kind = _report(db, report_body(MANHOLE, lng=x, lat=y))
    assert not other_kind.merged
    late = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    with db.read() as s:
        s.get(Case, first.case_id)
    old = _report(db, report_body(lng=x + 0.002, lat=y, reported_at=late.isoformat()))
    later = _report(db, report_body(lng=x + 0.002, lat=y))  # the old case is outside the 24 h window
    assert not old.merged and not later.merged
    narrow = _report(db, report_body(lng=x + 0.0003, lat=y), rules=intake.Rules(radius_m=10, hours=24))
    assert not narrow.merged
    with db.read() as s:
        case = s.get(Case, first.case_id)
        reporters = s.scalars(select(Reporter.channel).where(Reporter.case_id == case.id)).all()
    assert case.report_count == 2 and sorted(reporters) == ["grid", "hotline"]


def test_merge_not_into_closed_cases(db, city) -> None:  # noqa: ANN001
    first = _report(db, report_body())
    with unit_of_work(db, ME) as uow:
        uow.session.get(Case, first.case_id).status = "closed"
        uow.record("test:case:close", "case")
    assert not _report(db, report_body()).merged


def test_api_channels_idempotency_and_refusals(db, city, as_user) -> None:  # noqa: ANN001
    agent = as_user("agent")
    body = report_body(
        hotline={"work_order_no": "GD20261009001", "caller_name": "孙先生", "caller_phone": "13900000000"}
    )
    key = {"Idempotency-Key": "call-0001-abc"}
    r = agent.send("POST", URL, params={"channel": "hotline"}, json=body, headers=key)
    assert r.status_code == 201, r.text
    again = agent.send("POST", URL, params={"channel": "hotline"}, json=body, headers=key)
    assert (
        again.status_code == 200
        and again.json()["replayed"]
        and again.json()["case_id"] == r.json()["case_id"]
    )
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Reporter)) == 1
    merged = agent.send(
        "POST", URL, params={"channel": "hotline"}, json=body, headers={"Idempotency-Key": "call-0002-abc"}
    )
    assert merged.status_code == 200 and merged.json()["merged"]
    assert agent.send("POST", URL, json=body).status_code == 422  # no channel
    out = agent.send("POST", URL, params={"channel": "hotline"}, json=report_body(lng=116.4, lat=39.9))
    assert out.status_code == 422 and out.headers["content-type"] == "application/problem+json"
    assert "outside the city" in out.text
    unknown = agent.send("POST", URL, params={"channel": "hotline"}, json=report_body("part:9999"))
    assert unknown.status_code == 422
    gridder = as_user("gridder")
    assert gridder.send("POST", URL, params={"channel": "grid"}, json=report_body(MANHOLE)).status_code == 201
    assert as_user("outsider").send("POST", URL, params={"channel": "app"}, json=body).status_code == 403
    assert as_user("handler").send("POST", URL, params={"channel": "grid"}, json=body).status_code == 403


def test_citizen_reports_through_the_app_and_follows(db, city, as_user) -> None:  # noqa: ANN001
    citizen = as_user("citizen")
    assert citizen.send("POST", URL, params={"channel": "hotline"}, json=report_body()).status_code == 403
    r = citizen.send("POST", URL, json=report_body(SHED))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    with db.read() as s:
        assert s.scalar(select(Follower.user_id).where(Follower.case_id == case_id)) == city["citizen"]
    mine = citizen.get("/api/v1/cityops/cases").json()["items"]
    assert [c["id"] for c in mine] == [case_id]
    detail = citizen.get(f"/api/v1/cityops/cases/{case_id}", params={"crs": "gcj02"}).json()
    assert detail["point"]["crs"] == "gcj02" and detail["following"]
    x, y = centre(2, 2)
    assert (detail["point"]["lng"], detail["point"]["lat"]) == pytest.approx(
        C.convert(x, y, "wgs84", "gcj02"), abs=1e-7
    )

"""The city operations demo: the grid (200 non-overlapping grids over the eleven districts, codes that fit
the divisions), 60+ classes, cases from every channel in every status (and extensions, escalations, merged
reports, 12345 follow-up calls), an idempotent second load, and logins and an Open311 key that work while an
outsider is refused."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import func, select

from tests import personas
from tests.conftest import count_rows
from zhicheng import demo
from zhicheng.app import create_app
from zhicheng.cityops import demo as cityops_demo
from zhicheng.cityops import vocab
from zhicheng.cityops.models import (
    Case,
    CaseEvent,
    Category,
    Grid,
    GridDepartment,
    GridWorker,
    Photo,
    Reporter,
    RouteRule,
)
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.auth.models import ApiToken, User
from zhicheng.demo import city, people

TABLES = (
    Grid,
    GridDepartment,
    GridWorker,
    Category,
    RouteRule,
    Case,
    CaseEvent,
    Reporter,
    Photo,
    User,
    ApiToken,
    AuditRecord,
)


@pytest.fixture
def only_cityops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core city and this module's demo only (the other modules' demos are tested on their own)."""
    monkeypatch.setattr(demo, "module_demos", lambda: [("zhicheng.cityops", cityops_demo)])


def test_grid_lattice_fits_the_divisions_and_never_overlaps() -> None:
    specs = cityops_demo.grid_specs()
    communities = {d.code for d in city.divisions() if len(d.code) == 12}
    assert 180 <= len(specs) <= 220 and len({g.code for g in specs}) == len(specs)
    assert {g.code[:12] for g in specs} == communities  # every community has a grid
    assert all(len(g.code) == 15 and g.code[12:] in ("001", "002") for g in specs)
    shapes = [shape(g.polygon()) for g in specs]
    for i, a in enumerate(shapes):
        for b in shapes[i + 1 :]:
            assert a.intersection(b).area == 0
    # Nanjing's WGS-84 extent
    assert all(118.3 < g.west < 119.3 and 31.2 < g.south < 32.7 for g in specs)


def test_stories_cover_every_channel_in_every_status() -> None:
    st = cityops_demo.stories()
    assert st == cityops_demo.stories()  # a fixed seed: every load plays the same cases
    pairs = {(s.channel, s.state) for s in st}
    assert {(c, s) for c in vocab.CHANNELS for s in vocab.STATUSES} <= pairs
    assert len({s.key for s in st}) == len(st)


def _login(c: TestClient, username: str, password: str) -> str:
    """Log in through the console form; the page's CSRF token for API calls."""
    token = c.get("/login").text.split('name="login_csrf" value="')[1].split('"')[0]
    data = {"username": username, "password": password, "login_csrf": token, "next": "/"}
    assert c.post("/login", data=data, follow_redirects=False).status_code == 303, username
    return c.get("/").text.split('"X-CSRF-Token": "')[1].split('"')[0]


def test_demo_loads_a_month_of_cases_once_and_its_logins_work(demo_db, only_cityops) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = demo.load(db, settings, progress=False)
    json.dumps(info)
    ops = info["cityops"]
    with db.read() as s:
        districts = s.scalar(select(func.count(func.distinct(func.substr(Grid.code, 1, 6)))))
        grids = s.scalar(select(func.count()).select_from(Grid))
        without_duty = s.scalar(
            select(func.count())
            .select_from(Grid)
            .where(~Grid.id.in_(select(GridDepartment.grid_id)) | ~Grid.id.in_(select(GridWorker.grid_id)))
        )
        classes = s.execute(select(Category.kind, Category.major_name, Category.closing_standard)).all()
        pairs = set(s.execute(select(Case.channel, Case.status)).all())
        cases = s.execute(
            select(
                Case.reported_on,
                Case.escalated_at,
                Case.extension_days,
                Case.extension_requested,
                Case.report_count,
                Case.satisfaction,
                Case.work_order_no,
                Case.channel,
                Case.routed_department_id,
            )
        ).all()
        kinds = Counter(s.scalars(select(CaseEvent.kind)))
    assert districts >= 6 and 180 <= grids <= 220 and without_duty == 0
    assert len(classes) >= 60 and all(std for _k, _m, std in classes)
    assert {k for k, _m, _s in classes} == {"part", "event"}
    assert {m for _k, m, _s in classes} >= {
        "公用设施",
        "道路交通",
        "市容环境",
        "园林绿化",
        "宣传广告",
        "施工管理",
    }
    assert {(c, s) for c in vocab.CHANNELS for s in vocab.STATUSES} <= pairs
    days = {c.reported_on for c in cases}
    assert (max(days) - min(days)).days >= 25  # a month of them
    assert sum(1 for c in cases if c.escalated_at) >= 5  # overdue ones, escalated by the sweep
    assert any(c.extension_days for c in cases) and any(c.extension_requested for c in cases)
    assert kinds["extension_refuse"] >= 1 and kinds["reject"] >= 1 and kinds["callback"] >= 1
    assert any(c.report_count > 1 for c in cases)  # merged duplicates keep every reporter
    assert all(c.work_order_no for c in cases if c.channel == "hotline")
    assert all(c.routed_department_id for c in cases)  # every case has a routing rule
    assert ops["grids"] == grids and ops["cases"] == len(cases) and ops["categories"] == len(classes)
    assert ops["open311_api_key"].startswith("zc_") and ops["grid_worker"]["username"] == "gridworker"
    assert any(t["token"] == ops["open311_api_key"] and t["usable"] for t in info["tokens"])
    names = {lg["username"] for lg in info["logins"]}
    assert {"gridworker", "hotline", "supervision", "command", "handler"} <= names

    # a second load writes nothing, not even an audit record
    seal_all(db)
    before, head = count_rows(db, TABLES), verify(db)
    assert head.ok
    again = demo.load(db, settings, progress=False)
    assert seal_all(db) == 0 and count_rows(db, TABLES) == before
    assert {k: v for k, v in again["created"].items() if k.startswith("cityops")} == {
        "cityops_accounts": 0,
        "cityops_grid": 0,
        "cityops_categories": 0,
        "cityops_cases": 0,
    }
    assert again["cityops"] == ops and verify(db).head_hash == head.head_hash

    app = create_app(settings, db=db)
    x, y = cityops_demo.grid_specs()[0].point(0.5, 0.5)
    body = {"category": "part:0118", "location": {"lng": x, "lat": y}, "description": "路灯不亮"}
    for lg in cityops_demo.LOGINS:
        with TestClient(app) as c:
            _login(c, lg.username, people.DEMO_PASSWORD)
            assert c.get("/api/v1/cityops/cases", params={"limit": 1}).status_code == 200, lg.username
    with TestClient(app) as c:  # an Open311 app posts with the demo's key
        form = {"service_code": "part:0118", "lat": y, "long": x, "description": "路灯不亮"}
        r = c.post("/open311/v2/requests.json", data=form | {"api_key": ops["open311_api_key"]})
        assert r.status_code == 200 and r.json()[0]["service_request_id"], r.text
        assert c.post("/open311/v2/requests.json", data=form | {"api_key": "zc_x_y"}).status_code == 403
    for username, password, channel, status in (
        (
            "gridworker",
            ops["grid_worker"]["password"],
            "grid",
            201,
        ),  # the grid worker reports from the street
        ("hotline", people.DEMO_PASSWORD, "hotline", 200),  # the same place and class: merged
        ("handler", people.DEMO_PASSWORD, "grid", 403),  # a department handles, it does not take reports
        ("outsider", personas.PASSWORD, "grid", 403),  # someone without a role is refused
    ):
        with TestClient(app) as c:
            csrf = _login(c, username, password)
            r = c.post(
                "/api/v1/cityops/reports",
                params={"channel": channel},
                json=body | {"category": "event:0102", "description": username},
                headers={"X-CSRF-Token": csrf},
            )
        assert r.status_code == status, (username, r.text)

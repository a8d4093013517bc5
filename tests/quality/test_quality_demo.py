"""The demo's data quality: stale hosted data flagged, gaps for the completeness bars, corrections in every
state (the overdue one escalated), maintenance tasks (the overdue one escalated), an intact audit chain,
logins that see it, and a second load that writes nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import count_rows
from zhicheng.app import create_app
from zhicheng.catalog import demo as catalog_demo
from zhicheng.catalog.demo import data_type
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.demo import city, load
from zhicheng.exchange.models import Dataset
from zhicheng.quality import demo, queries
from zhicheng.quality.models import MaintenanceTask, QualityCorrection, QualityIssue

TABLES = (QualityIssue, QualityCorrection, MaintenanceTask, Dataset, AuditRecord)


def _login(c: TestClient, username: str, password: str) -> int:
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    data = {"username": username, "password": password, "login_csrf": token, "next": "/"}
    return c.post("/login", data=data, follow_redirects=False).status_code


def test_demo_quality_stories(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)
    q = info["quality"]
    orgs = info["orgs"]
    with db.read() as s:
        by_name = {r.name: r for r in s.scalars(select(Resource).where(Resource.name.in_(q["hosted"])))}
        stale = {
            i.resource_id: i for i in s.scalars(select(QualityIssue).where(QualityIssue.cleared_at.is_(None)))
        }
        corrections = list(s.scalars(select(QualityCorrection)))
        tasks = list(s.scalars(select(MaintenanceTask)))
        air = queries.completeness(s, by_name["空气质量监测数据"].id)

    # the two datasets loaded long ago are flagged to their providers; the fresh ones are not
    for h in demo.HOSTED:
        res = by_name[h.resource]
        assert (res.id in stale) == bool(h.age_days), h
        if h.age_days:
            assert stale[res.id].source == "dataset" and stale[res.id].provider_org_id == orgs[h.provider]
    assert q["stale"] == len(stale) >= 2
    # gaps where the story puts them, and rows complete elsewhere
    assert air["rows"] == demo.ROWS and 0 < air["complete_share"] < 1
    shares = {i["item"]: i["share"] for i in air["items"]}
    assert 0.5 < shares["首要污染物"] < 0.8 and shares["监测站点"] == 1.0

    # corrections in every state, reported by departments other than the provider
    assert {c.status for c in corrections} == {"submitted", "corrected", "rejected"}
    assert len(corrections) == len(demo.REPORTS) and all(
        c.consumer_org_id != c.provider_org_id for c in corrections
    )
    assert all(c.answer for c in corrections if c.status == "rejected")
    assert {c.on_time for c in corrections if c.status == "corrected"} == {True, False}
    late = [c for c in corrections if c.escalated_at is not None]
    assert len(late) == q["escalated_corrections"] == 1 and late[0].status == "submitted"
    assert q["corrections"] == {"corrected": 2, "rejected": 1, "submitted": 4}
    # maintenance tasks: one fresh, one overdue and escalated
    assert q["tasks"] == {"open": 2} and q["escalated_tasks"] == 1
    assert sorted(t.escalated_at is not None for t in tasks) == [False, True]

    # the data authority and the city's administrator see it in the console and the API
    app = create_app(settings, db=db)
    password = next(lg["password"] for lg in info["logins"] if lg["username"] == "authority")
    with TestClient(app) as c:
        assert _login(c, "authority", password) == 303
        review = c.get("/api/v1/quality/corrections", params={"view": "review", "status": "submitted"})
        assert review.status_code == 200 and len(review.json()) == 4
        inbox = c.get("/quality/inbox")
        assert inbox.status_code == 200 and 'data-testid="escalated"' in inbox.text
    with TestClient(app) as c:
        assert _login(c, "cityadmin", password) == 303
        inbox = c.get("/quality/inbox")
        assert inbox.text.count('data-testid="stale"') == len(stale)
        page = c.get(f"/quality/resources/{by_name['供水水质监测数据'].id}")
        assert 'data-overdue="true"' in page.text

    # on the chain; a second load writes nothing, not even an audit record
    seal_all(db)
    assert verify(db).ok
    before = count_rows(db, TABLES)
    again = load(db, settings, progress=False)
    assert seal_all(db) == 0 and count_rows(db, TABLES) == before
    assert [again["created"][f"quality_{k}"] for k in ("hosted", "corrections", "tasks")] == [0, 0, 0]
    assert again["quality"] == q


def test_demo_stories_fit_the_demo_catalog() -> None:
    """Without a database: every story names a resource its provider catalogues, items it has, a fixed
    update cycle for the stale ones, and reasons long enough for the services."""
    orgs = {d.key: d.key for d in city.CITY_DEPARTMENTS}
    orgs["districts"] = {
        key: {"name": name, **{k: f"{key}.{k}" for k, _p, _l in city.DISTRICT_DEPARTMENTS}}
        for _code, (name, key, _streets) in city.DISTRICTS.items()
    }
    specs = {}
    for provider, listed in catalog_demo._plan(orgs):
        for spec in listed:
            specs[(provider, spec.name)] = spec
    retired = {name for name, _reason in catalog_demo.RETIRED}
    for h in demo.HOSTED:
        spec = specs[(h.provider, h.resource)]
        items = spec.items.split()
        assert h.resource not in retired and set(h.gaps) <= set(items), h
        assert spec.cycle not in ("irregular",) and {data_type(i) for i in items} - {"string"}, h
    for r in demo.REPORTS:
        spec = specs[(r.provider, r.resource)]
        assert r.item in [i.rstrip("!") for i in spec.items.split()] and r.consumer != r.provider, r
        assert r.answer is None or r.answer[0] or len(r.answer[1]) >= 10, r
    assert len({(r.consumer, r.resource, r.key) for r in demo.REPORTS}) == len(demo.REPORTS)
    for provider, name, why, _ago in demo.TASKS:
        assert (provider, name) in specs and name not in retired and len(why) >= 10

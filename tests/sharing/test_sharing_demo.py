"""The demo's sharing requests: every state of the procedure, overdue steps escalated, a data authority
login that sees them, a resource the exchange system's token may read, an intact audit chain, and a second
load that writes nothing."""

from __future__ import annotations

import json
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import count_rows
from zhicheng.app import create_app
from zhicheng.catalog import demo as catalog_demo
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.auth.models import RoleGrant, User
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import Database
from zhicheng.demo import city, load
from zhicheng.sharing import demo, queries
from zhicheng.sharing.models import SharingGrant, SharingRequest

TABLES = (SharingRequest, SharingGrant, Clock, User, RoleGrant, AuditRecord)
STATUSES = {"submitted", "rejected", "awaiting_provider", "granted", "refused", "disputed"}


def _counts(db: Database) -> dict[str, int]:
    return count_rows(db, TABLES)


def test_demo_requests_in_every_state(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)  # `demo load --json` prints it
    orgs = info["orgs"]
    with db.read() as s:
        reqs = s.scalars(select(SharingRequest)).all()
        grants = {g.request_id: g for g in s.scalars(select(SharingGrant))}
        shown = {r.id: queries.shown(s, r) for r in reqs}
        submits = s.scalar(select(func.count()).where(AuditRecord.tag == "sharing:request:submit"))
        readable = info["sharing"]["readable_resource"]
        grant = queries.active_grant(s, orgs["data_authority"], readable["id"])
        resource = s.get_one(Resource, readable["id"])

    # 20–40 requests by several departments, for other departments' resources, each on the audit chain
    assert 20 <= len(reqs) <= 40 and submits == len(reqs)
    assert len({r.consumer_org_id for r in reqs}) >= 10
    assert all(r.consumer_org_id != r.provider_org_id for r in reqs)
    assert any(r.consumer_org_id == orgs["districts"]["xuanwu"]["market_regulation"] for r in reqs)

    # every state, each as the procedure leaves it
    by_status = Counter(r.status for r in reqs)
    assert set(by_status) == STATUSES
    assert info["sharing"]["requests"] == len(reqs) and info["sharing"]["by_status"] == dict(by_status)
    granted = [r for r in reqs if r.status == "granted"]
    assert all(r.id in grants for r in granted) and len(grants) == len(granted)
    assert {r.share_type for r in granted} == {"unconditional", "conditional"}
    assert all(r.review_reason for r in reqs if r.status == "rejected")
    assert all(r.decision_reason for r in reqs if r.status in ("refused", "disputed"))
    settled = {r.status for r in reqs if r.settle_reason}
    assert settled == {"granted", "refused"}  # disputes settled both ways
    revoked = [g for g in grants.values() if g.status == "revoked"]
    assert len(revoked) >= 1 and all(g.revoke_reason and g.revoked_at for g in revoked)
    assert info["sharing"]["grants"] == len(grants)

    # waiting steps: fresh ones and overdue ones, the overdue ones escalated to the data authority
    waiting = [r for r in reqs if r.status in ("submitted", "awaiting_provider")]
    late = [r for r in waiting if shown[r.id]["clock_status"] == "overdue"]
    assert {r.status for r in late} == {"submitted", "awaiting_provider"}
    assert all(r.escalated_at is not None for r in late)
    assert any(shown[r.id]["clock_status"] != "overdue" and r.escalated_at is None for r in waiting)
    assert info["sharing"]["escalated"] == len(late)
    assert all(r.clock_id is None and shown[r.id]["due_on"] is None for r in reqs if r not in waiting)

    # the exchange system's department may read one resource: granted, in force today
    token = info["tokens"][0]
    assert token["org"] == "南京市数据局"
    assert grant is not None and grant.status == "active"
    assert (readable["code"], readable["name"]) == (resource.code, resource.name)
    assert readable["items"] == grant.items and len(grant.items) >= 3

    # on the chain; a second load writes nothing, not even an audit record
    seal_all(db)
    first = verify(db)
    assert first.ok and first.pending == 0
    before = _counts(db)
    again = load(db, settings, progress=False)
    assert seal_all(db) == 0
    assert _counts(db) == before
    assert again["created"]["sharing_requests"] == again["created"]["sharing_accounts"] == 0
    assert again["sharing"] == info["sharing"]
    assert [lg["username"] for lg in again["logins"]].count("authority") == 1


def _login(c: TestClient, username: str, password: str) -> int:
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    data = {"username": username, "password": password, "login_csrf": token, "next": "/"}
    return c.post("/login", data=data, follow_redirects=False).status_code


def test_authority_login_and_token_see_the_demo(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    app = create_app(settings, db=db)
    (login,) = [lg for lg in info["logins"] if lg["username"] == "authority"]
    assert login["role"] == "data_authority" and login["org"] == "南京市数据局"
    with TestClient(app) as c:
        assert _login(c, "authority", login["password"]) == 303
        assert c.get("/", follow_redirects=False).status_code == 200
        inbox = c.get("/api/v1/sharing/requests", params={"view": "review"})
    assert inbox.status_code == 200
    waiting_on_authority = {r["status"] for r in inbox.json()}
    # submitted and disputed requests, and the escalated ones still with a provider
    assert waiting_on_authority == {"submitted", "disputed", "awaiting_provider"}
    assert all(r["escalated_at"] for r in inbox.json() if r["status"] == "awaiting_provider")

    tok = info["tokens"][0]  # the exchange token; module demos may add their own after it
    with TestClient(app, headers={"Authorization": f"Bearer {tok['token']}"}) as c:
        mine = c.get("/api/v1/sharing/grants", params={"view": "mine"})
    assert mine.status_code == 200
    readable = info["sharing"]["readable_resource"]
    active = [g for g in mine.json() if g["resource_id"] == readable["id"] and g["status"] == "active"]
    assert len(active) == 1 and active[0]["items"] == readable["items"]


def test_demo_requests_fit_the_demo_catalog() -> None:
    """Without a database: every request names a resource its provider catalogues, a story the loader
    knows, and the reasons its steps need; no department asks twice for a resource while one is open."""
    orgs = {d.key: d.key for d in city.CITY_DEPARTMENTS}
    orgs["districts"] = {
        key: {"name": name, **{k: f"{key}.{k}" for k, _p, _l in city.DISTRICT_DEPARTMENTS}}
        for _code, (name, key, _streets) in city.DISTRICTS.items()
    }
    catalogued: dict[str, set[str]] = {}
    for provider, specs in catalog_demo._plan(orgs):
        catalogued.setdefault(provider, set()).update(spec.name for spec in specs)
    retired = {name for name, _reason in catalog_demo.RETIRED}
    open_ = Counter()
    for r in demo.REQUESTS:
        assert r.resource in catalogued[demo._org(orgs, r.provider)] and r.resource not in retired, r
        assert r.consumer != r.provider and demo._org(orgs, r.consumer)
        steps = demo.STORIES[r.story].steps
        if "reject" in steps or "refuse" in steps:
            assert len(r.reason) >= 10, r
        if "dispute" in steps:
            assert len(r.dispute) >= 10, r
        if "uphold" in steps or "dismiss" in steps:
            assert len(r.settle) >= 10, r
        if "revoke" in steps:
            assert len(r.revoke) >= 10, r
        if r.story in ("new", "late", "waiting", "waiting_late", "disputed"):
            open_[(r.consumer, r.resource)] += 1
    assert max(open_.values()) == 1
    assert len({(r.consumer, r.resource, r.purpose) for r in demo.REQUESTS}) == len(demo.REQUESTS)
    assert set(demo.STORIES) == {r.story for r in demo.REQUESTS}  # every story is told

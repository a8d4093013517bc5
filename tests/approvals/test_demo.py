"""The one-stop services demo: 30+ items of 10+ departments, a 4-department joint review, cases in every
state (a 容缺 one waiting for its supplement), logins that see their own work, a sample certificate that
verifies, and a second load that writes nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import count_rows
from zhicheng.app import create_app
from zhicheng.approvals.models import (
    BlacklistEntry,
    Case,
    CaseEvent,
    CaseMaterial,
    Escalation,
    FlowVersion,
    ServiceItem,
    Task,
    Upload,
)
from zhicheng.approvals.vocab import CASE_STATUS
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth.models import RoleGrant, User
from zhicheng.demo import load
from zhicheng.demo.people import DEMO_PASSWORD

TABLES = (ServiceItem, FlowVersion, Case, Task, CaseEvent, CaseMaterial, Upload, Escalation, BlacklistEntry)
URL = "/api/v1/approvals"


def _login(app, username: str) -> TestClient:  # noqa: ANN001
    c = TestClient(app, raise_server_exceptions=False)
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    r = c.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, (username, r.text)
    return c


def test_demo_has_items_flows_and_cases_in_every_state(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)
    a = info["approvals"]
    assert a["applicant"] == "citizen" and a["certificate"]
    assert a["items"] >= 30 and a["departments"] >= 10 and a["bureau_items"] >= 5
    assert set(a["by_status"]) == set(CASE_STATUS), a["by_status"]
    assert a["rongque_waiting"] >= 1 and a["overdue"] >= 1 and a["warning"] >= 1 and a["escalations"] >= 1
    if "ratings" in a:  # 好差评: good and bad ones, a bad one rectified and followed up, another still open
        assert a["ratings"] >= 10 and {"1", "2", "5"} <= set(a["ratings_by_level"])
        assert a["rectifications"].get("closed") == 1 and a["rectifications"].get("open") == 1
    with db.read() as s:
        joint = s.scalar(select(FlowVersion).where(FlowVersion.code == "construction"))
        (stage,) = [st for st in joint.definition["stages"] if st["kind"] == "joint_review"]
        assert len(stage["departments"]) == 4
        # a joint review half-concluded: four tasks of one round, two concluded, two open
        halves = [
            [t.status for t in s.scalars(select(Task).where(Task.case_id == c.id, Task.stage == "joint"))]
            for c in s.scalars(select(Case).where(Case.status == "in_progress", Case.stage == "joint"))
        ]
        assert any(len(h) == 4 and h.count("approved") == 2 and h.count("open") == 2 for h in halves)
        waiting = s.scalar(
            select(Case).where(
                Case.rongque.is_(True), Case.supplements_done_on.is_(None), Case.status == "in_progress"
            )
        )
        assert waiting.rongque_missing and waiting.supplement_due_on is not None
        lapsed = s.scalar(select(Case).where(Case.status == "terminated"))
        assert lapsed.rongque and "容缺" in (lapsed.reason or "")
        acked = s.scalar(select(Escalation).where(Escalation.acked_at.is_not(None)))
        assert acked is not None and acked.instruction
        bureau = info["orgs"]["approval_bureau"]
        taken = s.scalars(select(ServiceItem).where(ServiceItem.org_id == bureau)).all()
        assert taken and all(i.deciding_org_id not in (None, bureau) for i in taken)

    app = create_app(settings, db=db)
    with TestClient(app) as anyone:
        verdict = anyone.get(f"/api/v1/certificates/{a['certificate']}/verify")
        assert verdict.status_code == 200 and verdict.json()["valid"] is True, verdict.text

    # the catalog shows who really decides a bureau item; the applicant sees her own cases
    citizen = _login(app, "citizen")
    item = citizen.get(f"{URL}/items/320100-XK-0001").json()
    assert item["org_id"] == info["orgs"]["approval_bureau"] and item["decided_by"] == "南京市城乡建设委员会"
    mine = citizen.get(f"{URL}/cases", params={"view": "mine", "limit": 100})
    assert mine.status_code == 200, mine.text
    numbers = {c["number"] for c in mine.json()["items"]}
    with db.read() as s:
        owner = s.scalar(select(Case.number).where(Case.certificate_no == a["certificate"]))
    assert owner in numbers and len(numbers) >= 3
    # each of the four reviewers has open work in the joint review; the decider has a decision to make
    for who in ("review_zj", "review_gh", "review_xf", "review_sw"):
        r = _login(app, who).get(f"{URL}/tasks", params={"queue": "review"})
        assert r.status_code == 200 and r.json()["items"], (who, r.text)
    r = _login(app, "decider").get(f"{URL}/tasks", params={"queue": "decide"})
    assert r.status_code == 200 and r.json()["items"], r.text
    r = _login(app, "window").get(f"{URL}/cases", params={"view": "window", "status": "submitted"})
    assert r.status_code == 200 and r.json()["items"], r.text
    r = _login(app, "supervisor").get(f"{URL}/supervision/escalations")
    assert r.status_code == 200 and r.json(), r.text
    # a login of another kind is refused the supervision board
    assert _login(app, "nobody").get(f"{URL}/supervision/escalations").status_code == 403
    printed = {lg["username"] for lg in info["logins"]}
    assert {"citizen", "window", "review_zj", "decider", "supervisor"} <= printed


def test_second_load_writes_nothing(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    first = load(db, settings, progress=False)
    before = count_rows(db, (*TABLES, AuditRecord, User, RoleGrant))
    second = load(db, settings, progress=False)
    assert count_rows(db, (*TABLES, AuditRecord, User, RoleGrant)) == before
    assert {k: v for k, v in second["created"].items() if k.startswith("approvals")} == {
        "approvals_catalog": 0,
        "approvals_accounts": 0,
        "approvals_cases": 0,
        "approvals_ratings": 0,
    }
    assert second["approvals"] == first["approvals"]

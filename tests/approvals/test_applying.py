"""Applying online: uploads checked by type, content and size with their SM3 digest; the live check of the
form and materials; idempotent submission; applicants identified by resident ID or credit code;
the timeline."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from tests import personas
from tests.approvals.conftest import (
    CITIZEN2_ID,
    ME,
    PDF,
    PNG,
    URL,
    W,
    apply,
    full_materials,
    good_form,
    upload,
)
from zhicheng.approvals.models import Blob, Case, CaseMaterial
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import TokenIn
from zhicheng.core.db import unit_of_work
from zhicheng.core.orgs.models import Party


def test_uploads_are_checked_and_digested(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")

    def send(data: bytes, name: str):  # noqa: ANN202
        return c.send("POST", f"{URL}/uploads", files={"file": (name, io.BytesIO(data), "application/pdf")})

    r = send(PDF, "申请表.pdf")
    assert r.status_code == 201
    assert (r.json()["sm3"], r.json()["size"], r.json()["extension"]) == (sm3_hex(PDF), len(PDF), "pdf")
    assert send(PDF, "again.pdf").status_code == 201  # the same content twice: stored once
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Blob).where(Blob.sm3 == sm3_hex(PDF))) == 1
    renamed = send(b"MZ\x90\x00 an executable", "form.pdf")
    assert renamed.status_code == 422 and "not a .pdf" in renamed.json()["messages"]["en"]
    assert send(b"#!/bin/sh\n", "run.sh").status_code == 422
    assert send(b"", "empty.pdf").status_code == 422
    big = send(PDF + b"\x00" * (21 * 1024 * 1024), "big.pdf")  # above the 20 MB upload cap
    assert big.status_code == 422 and "20 MB" in big.json()["messages"]["en"]
    assert as_user("clerk").send("POST", f"{URL}/uploads", files={"file": ("a.pdf", PDF)}).status_code == 403


def test_the_form_reminds_of_missing_and_invalid_things(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    mats = {"form": upload(c), "land": upload(c, PNG, "land.png"), "drawings": upload(c)}
    big = upload(c, PDF + b"\x00" * (2 * 1024 * 1024))  # the form material allows 1 MB
    body = {
        "form": {
            "project": "某项目",
            "investment": "一万",
            "phone": "12345",
            "builder_code": "91320102MA1N2X3Y40",
        },
        "materials": {**mats, "form": big},
    }
    r = c.send("POST", f"{URL}/items/{world.joint_item}/check", json=body)
    assert r.status_code == 200
    got = {(p["target"], p["code"], p["kind"], p["rongque"]) for p in r.json()["problems"]}
    assert got == {
        ("field", "investment", "invalid", False),
        ("field", "phone", "invalid", False),
        ("field", "builder_code", "invalid", False),
        ("material", "form", "too_large", False),
        ("material", "land", "format", False),  # a PNG where only PDF or OFD is accepted
        ("material", "fire", "missing", True),  # 容缺-eligible: does not block
    }
    assert r.json()["ok"] is False
    fixed = {"form": good_form(), "materials": {**mats, "land": upload(c)}}
    r = c.send("POST", f"{URL}/items/{world.joint_item}/check", json=fixed)
    assert (r.json()["ok"], r.json()["complete"], r.json()["missing_rongque"]) == (True, False, ["fire"])
    # submitting with the problems is refused with the same list, and makes nothing
    r = c.send(
        "POST", f"{URL}/cases", json={"item_code": world.joint_item, "client_token": "refused-01", **body}
    )
    assert r.status_code == 422 and len(r.json()["problems"]) == 5
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_submission_is_idempotent(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    body = {"item_code": world.joint_item, "form": good_form(), "materials": full_materials(c)}
    key = {"Idempotency-Key": "click-0001-abcdef"}
    first = c.send("POST", f"{URL}/cases", json=body, headers=key)
    second = c.send("POST", f"{URL}/cases", json=body, headers=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and second.json()["replayed"] is True
    other = c.send("POST", f"{URL}/cases", json={**body, "client_token": "another-token-1"})
    assert c.send("POST", f"{URL}/cases", json=body).status_code == 422  # no key, no submission
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # the same key for another item is a mistake, not a replay
    wrong = c.send("POST", f"{URL}/cases", json={**body, "item_code": world.simple_item}, headers=key)
    assert wrong.status_code == 409
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 2
        assert s.scalar(select(func.count()).select_from(CaseMaterial)) == 8
    case = first.json()
    assert case["number"].startswith("SP") and case["status"] == "submitted" and case["stage"] == "accept"
    assert case["materials"][0]["sm3"] == sm3_hex(PDF)
    assert case["clock_status"] in ("ok", "warning") and case["due_on"]


def test_who_applies(db, world: W, as_user, as_system, app) -> None:  # noqa: ANN001
    c, company = as_user("zhangsan"), as_user("company")
    mine = apply(c, world)
    assert (mine["applicant_kind"], mine["applicant_name"]) == ("citizen", "张三")
    theirs = apply(company, world)
    assert (theirs["applicant_kind"], theirs["applicant_name"]) == ("enterprise", "南京建工集团有限公司")
    # a citizen applies only in their own name
    other = {"kind": "citizen", "id_number": CITIZEN2_ID, "name": "李四"}
    r = c.send(
        "POST",
        f"{URL}/cases",
        json={
            "item_code": world.joint_item,
            "form": good_form(),
            "materials": full_materials(c),
            "applicant": other,
            "client_token": "in-other-name",
        },
    )
    assert r.status_code == 403
    # each sees their own cases only
    assert [x["id"] for x in c.get(f"{URL}/cases").json()["items"]] == [mine["id"]]
    assert c.get(f"{URL}/cases/{theirs['id']}").status_code == 403
    assert company.get(f"{URL}/cases/{mine['id']}/timeline").status_code == 403
    # an upload is attached only by its uploader
    stolen = {
        "item_code": world.joint_item,
        "form": good_form(),
        "materials": {"form": upload(c)},
        "client_token": "stolen-upload-1",
    }
    assert company.send("POST", f"{URL}/cases", json=stolen).status_code == 403
    # a window clerk registers a walk-in applicant (checked ID number, real-name verified)
    window = as_user("window")
    walk_in = {
        "item_code": world.joint_item,
        "form": good_form(),
        "materials": full_materials(window),
        "client_token": "walk-in-000001",
    }
    bad_id = window.send(
        "POST", f"{URL}/cases", json={**walk_in, "applicant": {**other, "id_number": "320104198303159830"}}
    )
    assert bad_id.status_code == 422 and "resident ID" in bad_id.json()["messages"]["en"]
    fake = window.send("POST", f"{URL}/cases", json={**walk_in, "applicant": {**other, "name": "假李四"}})
    assert fake.status_code == 422
    ok = window.send("POST", f"{URL}/cases", json={**walk_in, "applicant": other})
    assert ok.status_code == 201 and ok.json()["applicant_name"] == "李四"
    with db.read() as s:
        assert s.scalar(select(Party.verified_by).where(Party.id_number == CITIZEN2_ID)) == "demo"
    # a login without a party, and without the right to act for others, cannot apply
    assert as_user("supervisor").send("POST", f"{URL}/cases", json=walk_in).status_code == 403


def test_a_portal_system_applies_for_citizens(db, world: W, app) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from tests.conftest import Client

    with unit_of_work(db, ME) as uow:
        _, secret = auth.create_token(
            uow, TokenIn(name="江苏政务服务网", org_id=personas.WORLD.city, roles=["approvals_portal"])
        )
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as http:
        portal = Client(http)
        mats = {k: upload(portal) for k in ("form", "land", "drawings", "fire")}
        body = {
            "item_code": world.joint_item,
            "form": good_form(),
            "materials": mats,
            "applicant": {
                "kind": "enterprise",
                "id_number": "91320102MA1N2X3Y4H",
                "name": "南京建工集团有限公司",
            },
        }
        r = portal.post(f"{URL}/cases", json=body, headers={"Idempotency-Key": "portal-req-000001"})
        assert r.status_code == 201 and r.json()["party_id"] == world.enterprise
        again = portal.post(f"{URL}/cases", json=body, headers={"Idempotency-Key": "portal-req-000001"})
        assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
        no_key = portal.post(f"{URL}/cases", json={**body, "client_token": "short"})
        assert no_key.status_code == 422  # an idempotency key has at least 8 characters


def test_timeline_shows_the_applicant_public_steps_only(db, world: W, as_user) -> None:  # noqa: ANN001
    c, window = as_user("zhangsan"), as_user("window")
    case = apply(c, world)
    window.send("POST", f"{URL}/cases/{case['id']}/accept", json={"note": "材料齐全"})
    staff = window.get(f"{URL}/cases/{case['id']}/timeline").json()
    mine = c.get(f"{URL}/cases/{case['id']}/timeline").json()
    assert [e["kind"] for e in mine] == ["submitted", "accepted", "stage"]
    assert all(e["actor"] is None for e in mine) and staff[1]["actor"] == "user:window"
    assert "南京市消防救援支队" in mine[2]["note"]
    shown = c.get(f"{URL}/cases/{case['id']}").json()
    assert all(t["concluded_by"] is None for t in shown["tasks"]) and shown["escalated_at"] is None
    pdf = c.get(f"{URL}/cases/{case['id']}/materials/{shown['materials'][0]['id']}")
    assert pdf.status_code == 200 and pdf.content == PDF and pdf.headers["x-content-sm3"] == sm3_hex(PDF)
    assert as_user("rv_fire").get(f"{URL}/cases/{case['id']}").status_code == 200  # a reviewing department
    assert as_user("clerk").get(f"{URL}/cases/{case['id']}").status_code == 403

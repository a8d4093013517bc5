"""The certificates API and console: public verification (JSON and page, no login), the certificate page
with its QR code, and who may see, issue and revoke."""

from __future__ import annotations

import json
import re

import pytest
import segno
from tests import personas
from tests.certificates.conftest import CITIZEN_ID, ENTERPRISE_ID, FOOD, FOOD_CONTENT, TEACHER, issue

from zhicheng.certificates import document, numbers, qr

API = "/api/v1/certificates"


def body(**over) -> dict:  # noqa: ANN003
    return {
        "type_code": FOOD,
        "holder_name": "南京好味餐饮有限公司",
        "holder_id": ENTERPRISE_ID,
        "issuer_org_id": personas.WORLD.market,
        "content": FOOD_CONTENT,
        "source": "approvals:case:42",
        **over,
    }


# --- public verification ----------------------------------------------------------------------------------
def test_the_verify_api_answers_json_without_login(client, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    r = client.get(f"{API}/{cert.number}/verify")
    assert r.status_code == 200
    out = r.json()
    assert out["valid"] is True and out["code"] == "valid"
    assert out["certificate"]["holder_name"] == "张*"
    assert out["certificate"]["holder_id"] == "320102********1239"
    assert "张三" not in r.text and CITIZEN_ID not in r.text
    assert client.get(f"{API}/{cert.number}/verify", headers={"accept-language": "en"}).json()["reason"] == (
        "The certificate is valid"
    )


@pytest.mark.parametrize(
    "number", ["abc", "SPJYXK-2026-320100-00000124", "%E8%AF%81%E7%85%A7", "%ED%A0%80", "%00", "x" * 300]
)
def test_the_verify_api_answers_false_for_forged_numbers(client, world, number) -> None:  # noqa: ANN001
    r = client.get(f"{API}/{number}/verify")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["valid"] is False and r.json()["certificate"] is None


def test_the_public_page_shows_the_same_masked(client, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    page = client.get(f"/verify/{cert.number}")
    assert page.status_code == 200
    assert 'data-valid="true"' in page.text and "张*" in page.text and "张三" not in page.text
    assert "320102********1239" in page.text and "教师资格证" in page.text
    forged = client.get("/verify/SPJYXK-2026-320100-00000124")
    assert forged.status_code == 200 and 'data-valid="false"' in forged.text and "校验位" in forged.text
    form = client.get("/verify")
    assert form.status_code == 200 and 'data-testid="verify-form"' in form.text
    go = client.get("/verify", params={"number": f" {cert.number} "}, follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"] == f"/verify/{cert.number}"
    en = client.get(f"/verify/{cert.number}?lang=en")
    assert "The certificate is valid" in en.text


# --- the certificate page and its QR code -----------------------------------------------------------------
def test_the_holder_sees_the_certificate_with_a_qr_code_of_its_verify_url(  # noqa: ANN201
    as_user, db, world, monkeypatch
) -> None:  # noqa: ANN001
    cert = issue(db)
    made: list[str] = []
    real = segno.make_qr
    monkeypatch.setattr(segno, "make_qr", lambda content, **kw: made.append(content) or real(content, **kw))
    page = as_user("zhangsan").get(f"/certificates/{cert.number}")
    assert page.status_code == 200
    url = f"http://testserver/verify/{cert.number}"
    assert made == [url]  # the payload of the QR code is exactly the verification URL
    assert qr.svg(url) in page.text and "<svg" in page.text
    assert "张三" in page.text and CITIZEN_ID in page.text  # the holder sees their own particulars
    assert 'data-testid="form-revoke"' not in page.text  # but cannot revoke


def test_the_qr_code_follows_the_configured_public_address() -> None:
    class Req:
        class app:  # noqa: N801
            class state:  # noqa: N801
                settings = type("S", (), {"certificate_verify_base_url": "https://zwfw.nanjing.gov.cn/"})()

        base_url = "http://10.0.0.5:8000/"

    assert qr.verify_url(qr.base_url(Req), "A-B") == "https://zwfw.nanjing.gov.cn/verify/A-B"
    code = segno.make_qr(qr.verify_url(qr.base_url(Req), "A-B"), error="m")
    assert not code.is_micro and code.error in ("M", "Q", "H")


def test_the_issuer_sees_issues_and_revokes_in_the_console(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    officer = as_user("officer")
    listing = officer.get("/certificates")
    assert listing.status_code == 200 and cert.number in listing.text
    assert 'data-testid="issued"' in listing.text and 'data-testid="mine"' not in listing.text
    held = as_user("zhangsan").get("/certificates").text
    assert 'data-testid="mine"' in held and 'data-testid="issued"' not in held
    page = officer.get(f"/certificates/{cert.number}")
    assert 'data-testid="form-revoke"' in page.text and "签名有效" in page.text
    # content in the catalogue's order, lists printed as such
    assert page.text.index("经营场所") < page.text.index("主体业态") < page.text.index("经营项目")
    assert "<td>热食类食品制售</td>" in page.text
    short = officer.form(f"/certificates/{cert.number}/revoke", {"reason": "短"})
    assert short.status_code == 422 and "理由" in short.text
    done = officer.form(f"/certificates/{cert.number}/revoke", {"reason": "企业申请注销许可"})
    assert done.status_code == 303
    assert "已注销" in officer.get(done.headers["location"]).text
    assert officer.get(f"/verify/{cert.number}").text.count('data-valid="false"') == 1


def test_others_are_refused_the_certificate(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    for who in ("clerk", "district_admin"):
        c = as_user(who)
        assert c.get(f"/certificates/{cert.number}").status_code == 403
        assert c.get(f"{API}/{cert.number}").status_code == 403
        assert c.get(f"{API}/{cert.number}/document").status_code == 403
    assert as_user("outsider").get(f"{API}/{cert.number}").status_code == 403
    assert (
        as_user("clerk").form(f"/certificates/{cert.number}/revoke", {"reason": "无权注销"}).status_code
        == 403
    )


# --- the API ----------------------------------------------------------------------------------------------
def test_an_officer_issues_through_the_api_within_their_department(as_user, db, world) -> None:  # noqa: ANN001
    officer = as_user("officer")
    r = officer.send("POST", API, json=body())
    assert r.status_code == 201, r.text
    cert = r.json()
    assert (
        numbers.check_ok(cert["number"])
        and cert["status"] == "valid"
        and cert["source"] == "approvals:case:42"
    )
    assert cert["verify_url"] == f"http://testserver/verify/{cert['number']}"
    assert "signature" not in cert and "private" not in r.text
    assert officer.get(f"{API}/{cert['number']}/verify").json()["valid"] is True
    # another department: refused; a bad body: a readable 422
    other = officer.send("POST", API, json=body(issuer_org_id=personas.WORLD.data_bureau))
    assert other.status_code == 403
    bad = officer.send("POST", API, json=body(content={"经营场所": 1.5, "主体业态": "x"}))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    raw = json.dumps(body(content={"经营场所": "\ud800", "主体业态": "x"}))  # a lone surrogate, escaped
    lone = officer.send("POST", API, content=raw, headers={"content-type": "application/json"})
    assert lone.status_code == 422, lone.text
    assert as_user("clerk").send("POST", API, json=body()).status_code == 403


def test_lists_of_issued_and_held_certificates(as_user, db, world) -> None:  # noqa: ANN001
    mine = issue(db)
    issue(db, "food")
    holder = as_user("zhangsan")
    held = holder.get(API).json()["items"]
    assert [c["number"] for c in held] == [mine.number]
    assert holder.get(API, params={"view": "issued"}).status_code == 403
    officer = as_user("officer")
    issued = officer.get(API, params={"view": "issued", "limit": 1}).json()
    assert len(issued["items"]) == 1 and issued["next_cursor"]
    nxt = officer.get(API, params={"view": "issued", "cursor": issued["next_cursor"]}).json()
    assert len(nxt["items"]) == 1
    assert officer.get(API, params={"view": "issued", "type_code": TEACHER}).json()["items"][0]["number"] == (
        mine.number
    )
    assert officer.get(API, params={"view": "nope"}).status_code == 422


def test_the_signed_document_verifies_offline(as_user, db, world) -> None:  # noqa: ANN001
    from zhicheng.certificates import signing

    cert = issue(db)
    doc = as_user("zhangsan").get(f"{API}/{cert.number}/document").json()
    assert doc["payload"].encode() == document.signed_bytes(cert)
    assert json.loads(doc["payload"])["holder_name"] == "张三"
    assert signing.verify(doc["public_key"], doc["signature"], doc["payload"].encode())
    assert signing.key_id(doc["public_key"]) == doc["key_id"]
    download = as_user("officer").get(f"/certificates/{cert.number}/download")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert json.loads(download.text)["signature"] == doc["signature"]


def test_catalogue_and_keys(as_user, db, world) -> None:  # noqa: ANN001
    issue(db)
    admin = as_user("admin")
    types = {t["code"]: t for t in admin.get("/api/v1/certificate-types").json()}
    assert types[FOOD]["validity_years"] == 5 and types[TEACHER]["holder_kind"] == "citizen"
    new = {"code": "JZZ", "name": "居住证", "holder_kind": "citizen", "fields": [{"key": "居住地址"}]}
    assert admin.send("POST", "/api/v1/certificate-types", json=new).json()["name"] == "居住证"
    bad = admin.send("POST", "/api/v1/certificate-types", json={**new, "code": "jz z"})
    assert bad.status_code == 422
    assert as_user("officer").send("POST", "/api/v1/certificate-types", json=new).status_code == 403
    listed = as_user("officer").get("/api/v1/certificate-keys").json()
    assert len(listed) == 1 and set(listed[0]) >= {"key_id", "public_key"}
    assert not any("sealed" in k or "private" in k for k in listed[0])
    rotated = admin.send("POST", "/api/v1/certificate-keys/rotate", json={"reason": "年度轮换"})
    assert rotated.status_code == 200 and rotated.json()["key_id"] != listed[0]["key_id"]
    assert (
        as_user("officer")
        .send("POST", "/api/v1/certificate-keys/rotate", json={"reason": "年度轮换"})
        .status_code
        == 403
    )
    statuses = sorted(k["status"] for k in admin.get("/api/v1/certificate-keys").json())
    assert statuses == ["active", "retired"]


def test_no_page_or_answer_leaks_a_private_key(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    from sqlalchemy import select

    from zhicheng.certificates.models import CertificateKey
    from zhicheng.certificates.signing import unseal

    with db.read() as s:
        key = s.scalar(select(CertificateKey))
    private_hex = unseal(db.secret, key.private_sealed)
    officer = as_user("officer")
    texts = [
        officer.get(f"/certificates/{cert.number}").text,
        officer.get(f"{API}/{cert.number}").text,
        officer.get(f"{API}/{cert.number}/document").text,
        officer.get("/api/v1/certificate-keys").text,
    ]
    for text in texts:
        assert private_hex not in text and key.private_sealed[-40:] not in text
    assert re.search(r"[0-9a-f]{64}", texts[2])  # the document carries digests and keys, just not that one

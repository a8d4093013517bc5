"""Issuing (numbered, SM2-signed) and verifying: every way a certificate can fail verification answers
valid false with its reason, never an error."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess

import pytest
from Cryptodome.Util.asn1 import DerBitString, DerObjectId, DerSequence
from gmssl.sm2 import CryptSM2
from sqlalchemy import select, update
from tests.certificates.conftest import CITIZEN_ID, ENTERPRISE_ID, FOOD, ME, TEACHER, issue

from zhicheng.certificates import document, keys, numbers, services, signing
from zhicheng.certificates.models import Certificate, CertificateKey
from zhicheng.certificates.verification import verify
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.clock import today
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import Conflict, Invalid, NotFound


def check(db: Database, number: str, **kw):  # noqa: ANN003, ANN201
    with db.read() as s:
        return verify(s, number, **kw)


def tamper(db: Database, number: str, **values) -> None:  # noqa: ANN003
    """Change the stored row behind the services' back, as someone with database access could."""
    with db.sessions() as s, s.begin():
        s.execute(update(Certificate).where(Certificate.number == number).values(**values))


# --- issuing ----------------------------------------------------------------------------------------------
def test_issue_numbers_signs_and_audits(db, world) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    year = today().year
    assert numbers.NUMBER.match(cert.number)
    assert cert.number.startswith(f"{FOOD}-{year}-320100-0000001")
    assert numbers.check_ok(cert.number) and numbers.parse(cert.number).sequence == 1
    assert (cert.holder_kind, cert.holder_id, cert.status) == ("enterprise", ENTERPRISE_ID, "valid")
    assert cert.issuer_name == "南京市市场监督管理局" and cert.type_name == "食品经营许可证"
    # five years from the issue date, the last day included
    assert cert.valid_until == cert.issued_on.replace(year=cert.issued_on.year + 5) - dt.timedelta(days=1)
    assert cert.content_sm3 == sm3_hex(document.signed_bytes(cert))
    second = issue(db, "food")
    assert numbers.parse(second.number).sequence == 2
    assert numbers.parse(issue(db).number).sequence == 1  # another type counts on its own
    with db.read() as s:
        rec = s.scalar(select(AuditRecord).where(AuditRecord.subject == f"certificate:{cert.number}"))
    assert rec.tag == "certificates:certificate:issue"
    assert ENTERPRISE_ID not in rec.change and ENTERPRISE_ID[-4:] in rec.change


def test_callers_look_types_up_in_the_catalogue(db, world) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        food = services.find_type(uow, FOOD.lower())
        assert food.name == "食品经营许可证"
        assert [f["key"] for f in food.fields][:2] == ["经营场所", "主体业态"]
        assert services.find_type(uow, "NOSUCH") is None


@pytest.mark.parametrize(
    "over,fragment",
    [
        ({"type_code": "NOSUCH"}, "not in the catalogue"),
        ({"holder_id": "320102199003071238"}, "resident ID"),  # check digit wrong
        ({"holder_id": ENTERPRISE_ID}, "resident ID"),  # a citizen's certificate for an enterprise
        ({"holder_name": " "}, "name"),
        ({"content": {}}, "required fields missing"),
        ({"content": {"资格种类": "x", "别的": "y"}}, "not in the catalogue"),
        ({"content": {"资格种类": 1.5}}, "amounts as strings"),
        ({"content": {"资格种类": "a\x00b"}}, "content must map"),
        ({"valid_until": dt.date(2000, 1, 1)}, "before the issue date"),
        ({"issuer_org_id": 999_999}, "issuer"),
    ],
)
def test_bad_issues_are_refused(db, world, over, fragment) -> None:  # noqa: ANN001
    with pytest.raises((Invalid, NotFound)) as err:
        issue(db, **over)
    assert fragment in err.value.detail_en


# --- verifying --------------------------------------------------------------------------------------------
def test_a_genuine_certificate_verifies_with_the_holder_masked(db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    out = check(db, cert.number.lower())  # typed in lower case: still found
    assert (out.valid, out.code, out.reason) == (True, "valid", "证照有效")
    shown = out.certificate
    assert shown.holder_name == "张*" and shown.holder_id == CITIZEN_ID[:6] + "********" + CITIZEN_ID[-4:]
    assert (shown.type_name, shown.issuer_name, shown.status) == (
        "教师资格证",
        "南京市市场监督管理局",
        "valid",
    )
    assert shown.valid_until is None
    assert check(db, cert.number, lang="en").reason == "The certificate is valid"


def test_an_enterprise_keeps_its_public_name(db, world) -> None:  # noqa: ANN001
    out = check(db, issue(db, "food").number)
    assert out.certificate.holder_name == "南京好味餐饮有限公司"
    assert out.certificate.holder_id == ENTERPRISE_ID[:6] + "********" + ENTERPRISE_ID[-4:]


def test_changed_content_is_caught(db, world) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    tamper(db, cert.number, content={**cert.content, "经营场所": "南京市秦淮区别处 9 号"})
    out = check(db, cert.number)
    assert (out.valid, out.code, out.certificate) == (False, "tampered", None)


@pytest.mark.parametrize("field,value", [("holder_name", "李四"), ("valid_until", dt.date(2099, 12, 31))])
def test_changed_particulars_are_caught(db, world, field, value) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    tamper(db, cert.number, **{field: value})
    assert check(db, cert.number).code == "tampered"


def test_a_recomputed_digest_does_not_forge_the_signature(db, world) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    with db.read() as s:
        forged = s.get(Certificate, cert.id)
        forged.content = {**forged.content, "主体业态": "单位食堂"}
        digest = sm3_hex(document.signed_bytes(forged))
    tamper(db, cert.number, content=forged.content, content_sm3=digest)
    assert check(db, cert.number).code == "bad_signature"


@pytest.mark.parametrize("how", ["other message", "garbage", "truncated", "zero"])
def test_a_wrong_signature_is_caught(db, world, how) -> None:  # noqa: ANN001
    cert = issue(db)
    other = issue(
        db, holder_name="张三"
    )  # same holder, another certificate: a genuine signature, wrong bytes
    bad = {
        "other message": other.signature,
        "garbage": "zz-not-hex",
        "truncated": cert.signature[:-4],
        "zero": DerSequence([0, 0]).encode().hex(),
    }[how]
    tamper(db, cert.number, signature=bad)
    out = check(db, cert.number)
    assert (out.valid, out.code) == (False, "bad_signature")


def test_another_key_does_not_take_over_a_signature(db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    _, public_hex = signing.generate()
    with db.sessions() as s, s.begin():
        s.add(
            CertificateKey(
                key_id="feedfacefeedface", public_key=public_hex, source="generated", status="retired",
                created_at=cert.created_at,
            )
        )  # fmt: skip
    tamper(db, cert.number, key_id="feedfacefeedface")
    # the signed bytes name the key, so swapping it is a change of the signed data
    assert check(db, cert.number).code == "tampered"
    with db.read() as s:
        swapped = s.get(Certificate, cert.id)
        digest = sm3_hex(document.signed_bytes(swapped))
    tamper(db, cert.number, content_sm3=digest)
    assert check(db, cert.number).code == "bad_signature"


def test_revoked_and_expired_answer_false_with_the_particulars(db, world) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    with unit_of_work(db, ME) as uow:
        services.revoke(uow, cert.number, "企业申请注销")
    out = check(db, cert.number)
    assert (out.valid, out.code, out.certificate.status) == (False, "revoked", "revoked")
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        services.revoke(uow, cert.number, "再次注销")
    other = issue(db).number
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.revoke(uow, other, "")
    old = issue(db, "food", issued_on=dt.date(2019, 3, 1))
    assert old.valid_until == dt.date(2024, 2, 29)
    out = check(db, old.number)
    assert (out.valid, out.code, out.certificate.status) == (False, "expired", "expired")
    fresh = issue(db, "food")
    assert check(db, fresh.number, on=fresh.valid_until).valid
    assert check(db, fresh.number, on=fresh.valid_until + dt.timedelta(days=1)).code == "expired"


GOOD = numbers.make(FOOD, 2026, "320100", 1203)  # SPJYXK-2026-320100-0001203 + check


def _swap(number: str) -> str:
    """Two neighbouring digits of the sequence swapped: 0001203 → 0001023."""
    return number[:-4] + number[-3] + number[-4] + number[-2:]


def _off_by_one(number: str) -> str:
    return number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1]


@pytest.mark.parametrize(
    "raw,code",
    [
        ("", "malformed"),
        ("abc", "malformed"),
        ("'; DROP TABLE certificate; --", "malformed"),
        ("证照-2026-320100-00000125", "malformed"),
        ("X" * 5000, "malformed"),
        (GOOD[:-1], "malformed"),  # no check character
        (_off_by_one(GOOD), "bad_check"),
        (_swap(GOOD), "bad_check"),
        (GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"), "bad_check"),
        (GOOD, "not_found"),
    ],
)
def test_forged_and_malformed_numbers(db, world, raw, code) -> None:  # noqa: ANN001
    out = check(db, raw)
    assert (out.valid, out.code, out.certificate) == (False, code, None)


def test_a_well_formed_unknown_number_is_not_found(db, world) -> None:  # noqa: ANN001
    number = numbers.make(FOOD, 2026, "320100", 9_999_999)
    assert check(db, number).code == "not_found"


# --- the signature, checked without our code ----------------------------------------------------------------
def _pem(public_hex: str) -> str:
    algo = DerSequence(
        [DerObjectId("1.2.840.10045.2.1").encode(), DerObjectId("1.2.156.10197.1.301").encode()]
    )
    spki = DerSequence([algo.encode(), DerBitString(bytes.fromhex(public_hex)).encode()]).encode()
    return "-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki).decode() + "-----END PUBLIC KEY-----\n"


def test_the_signature_verifies_with_gmssl_and_openssl(db, world, tmp_path) -> None:  # noqa: ANN001
    cert = issue(db, "food")
    with db.read() as s:
        key = s.get(CertificateKey, cert.key_id)
    signed = document.signed_bytes(cert)
    # gmssl directly: SM3(Z_A ‖ M) with the default ID, r ‖ s from our DER
    seq = DerSequence()
    seq.decode(bytes.fromhex(cert.signature))
    direct = CryptSM2(private_key="", public_key="00" * 64)
    direct.public_key = key.public_key[2:]
    assert direct.verify_with_sm3(f"{seq[0]:064x}{seq[1]:064x}", signed)
    assert not direct.verify_with_sm3(f"{seq[0]:064x}{seq[1]:064x}", signed + b" ")
    # OpenSSL 3, an implementation we share no code with
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "pub.pem").write_text(_pem(key.public_key))
    (tmp_path / "msg").write_bytes(signed)
    (tmp_path / "sig").write_bytes(bytes.fromhex(cert.signature))
    cmd = [
        openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
        "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in", str(tmp_path / "msg"),
        "-sigfile", str(tmp_path / "sig"),
    ]  # fmt: skip
    ok = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (tmp_path / "msg").write_bytes(signed.replace("餐饮".encode(), "食堂".encode()))
    assert subprocess.run(cmd, capture_output=True, check=False).returncode != 0


def test_sign_verify_round_trip_and_key_checks() -> None:
    private_hex, public_hex = signing.generate()
    sig = signing.sign(private_hex, public_hex, "电子证照".encode())
    assert signing.verify(public_hex, sig, "电子证照".encode())
    assert not signing.verify(public_hex, sig, "电子证件".encode())
    other_private, other_public = signing.generate()
    assert not signing.verify(other_public, sig, "电子证照".encode())
    assert signing.sign(private_hex, public_hex, b"x") != signing.sign(
        private_hex, public_hex, b"x"
    )  # fresh k
    for bad in ("", "00" * 32, "zz" * 32, f"{signing.N:064x}"):
        with pytest.raises(signing.BadKey):
            signing.public_of(bad)
    with pytest.raises(signing.BadKey):
        signing.check_public("04" + "11" * 64)  # not on the curve
    assert not signing.verify("04" + "11" * 64, sig, b"x")


# --- keys ---------------------------------------------------------------------------------------------
def _keys(db: Database) -> list[CertificateKey]:
    with db.read() as s:
        return list(s.scalars(select(CertificateKey).order_by(CertificateKey.created_at)))


def test_the_first_issue_makes_a_sealed_key_and_rotation_keeps_old_ones_verifying(db, world) -> None:  # noqa: ANN001
    first = issue(db)
    [key] = _keys(db)
    assert (key.status, key.source, key.active_slot) == ("active", "generated", 1)
    assert key.private_sealed.startswith(signing.SEALED_PREFIX)
    private_hex = signing.unseal(db.secret, key.private_sealed)
    assert signing.public_of(private_hex) == key.public_key
    assert private_hex not in key.private_sealed  # sealed, not merely stored
    assert signing.unseal(b"another instance secret", key.private_sealed) is None
    assert issue(db).key_id == key.key_id  # the same key signs until rotated
    with unit_of_work(db, ME) as uow:
        new = keys.rotate(uow, "annual rotation")
    old, current = sorted(_keys(db), key=lambda k: k.status == "active")
    assert (old.key_id, old.status, old.private_sealed) == (key.key_id, "retired", None)
    assert current.key_id == new.key_id != key.key_id
    assert check(db, first.number).valid  # still verifies with the retired public key
    assert issue(db).key_id == new.key_id


def test_a_key_that_no_longer_opens_is_replaced(db, world) -> None:  # noqa: ANN001
    first = issue(db)
    other = Database(
        db.url,
        engine=db.engine,
        bind=db.sessions.kw["bind"],
        secret="a changed secret",
        join_transaction_mode="create_savepoint",
    )
    with unit_of_work(other, ME) as uow:
        services.issue(
            uow, type_code=TEACHER, holder_name="张三", holder_id=CITIZEN_ID,
            issuer_org_id=first.issuer_org_id, content={"资格种类": "初级中学教师资格"},
        )  # fmt: skip
    retired, active = sorted(_keys(db), key=lambda k: k.status == "active")
    assert retired.key_id == first.key_id and "does not open" in retired.retire_reason
    assert active.status == "active" and check(db, first.number).valid


def test_a_key_from_the_settings_is_used_and_never_stored(db, world, monkeypatch) -> None:  # noqa: ANN001
    before = issue(db)
    private_hex, public_hex = signing.generate()
    monkeypatch.setattr(keys, "configured_private_key", lambda: private_hex)
    cert = issue(db)
    assert cert.key_id == signing.key_id(public_hex)
    by_id = {k.key_id: k for k in _keys(db)}
    assert (by_id[cert.key_id].source, by_id[cert.key_id].private_sealed) == ("settings", None)
    assert by_id[before.key_id].status == "retired"
    assert check(db, cert.number).valid and check(db, before.number).valid
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        keys.rotate(uow, "not allowed")
    monkeypatch.setattr(keys, "configured_private_key", lambda: "not-a-key")
    with pytest.raises(Invalid):
        issue(db)

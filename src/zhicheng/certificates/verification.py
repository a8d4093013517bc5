"""Verifying a certificate by its number: the question always has an answer, valid or not, with a reason.

Checks in order, the first failing one decides:
malformed (not the shape of a number) → bad_check (check character wrong: mistyped or invented) →
not_found → tampered (the stored fields no longer give the digest they were signed with) → unknown_key →
bad_signature → revoked → expired → valid.
A verifier learns the certificate's particulars only when its signature holds (valid, revoked, expired),
and the holder masked: a citizen's name as 张*, any number as its first 6 and last 4 characters.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.certificates import document, numbers, signing
from zhicheng.certificates.models import Certificate, CertificateKey
from zhicheng.certificates.schemas import Verified, VerifyOut
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.calendar.clock import today as shanghai_today

REASONS = {
    "valid": ("证照有效", "The certificate is valid"),
    "malformed": ("证照编号格式不正确", "This is not a certificate number"),
    "bad_check": (
        "证照编号校验位不正确，可能输错或伪造",
        "The number's check character is wrong: mistyped or forged",
    ),
    "not_found": ("未找到该编号的证照", "No certificate has this number"),
    "tampered": ("证照数据与签发时不一致，可能被篡改", "The certificate's data differ from what was signed"),
    "unknown_key": ("签名密钥未登记", "The signing key is not registered"),
    "bad_signature": ("电子签名验证未通过", "The electronic signature does not verify"),
    "revoked": ("证照已注销", "The certificate has been revoked"),
    "expired": ("证照已超过有效期", "The certificate has expired"),
}


def mask_name(name: str, kind: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; an enterprise's name is public (企业信用信息公示) and stays whole."""
    if kind == "enterprise" or not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_id(number: str) -> str:
    """First 6 and last 4: 110105********1234."""
    return (
        number[:6] + "*" * max(len(number) - 10, 0) + number[-4:] if len(number) > 10 else "*" * len(number)
    )


def _answer(code: str, number: str, on: dt.date, lang: str, cert: Certificate | None = None) -> VerifyOut:
    zh, en = REASONS[code]
    shown = None
    if cert is not None:
        shown = Verified(
            number=cert.number,
            type_code=cert.type_code,
            type_name=cert.type_name,
            holder_kind=cert.holder_kind,
            holder_name=mask_name(cert.holder_name, cert.holder_kind),
            holder_id=mask_id(cert.holder_id),
            issuer_name=cert.issuer_name,
            issued_on=cert.issued_on,
            valid_until=cert.valid_until,
            status="expired" if code == "expired" else cert.status,
        )
    return VerifyOut(
        valid=code == "valid",
        code=code,
        reason=en if lang == "en" else zh,
        number=number[: numbers.MAX_LENGTH],
        checked_on=on,
        certificate=shown,
    )


def verify(s: Session, raw: str, lang: str = "zh", on: dt.date | None = None) -> VerifyOut:
    on = on or shanghai_today()
    number = numbers.normalize(raw)
    if not numbers.shape_ok(number):
        return _answer("malformed", number, on, lang)
    if not numbers.check_ok(number):
        return _answer("bad_check", number, on, lang)
    cert = s.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        return _answer("not_found", number, on, lang)
    try:
        signed = document.signed_bytes(cert)
    except (TypeError, ValueError):  # content altered into something that is not canonical JSON
        return _answer("tampered", number, on, lang)
    if sm3_hex(signed) != cert.content_sm3:
        return _answer("tampered", number, on, lang)
    key = s.get(CertificateKey, cert.key_id)
    if key is None:
        return _answer("unknown_key", number, on, lang)
    if not signing.verify(key.public_key, cert.signature, signed):
        return _answer("bad_signature", number, on, lang)
    if cert.status != "valid":
        return _answer("revoked", number, on, lang, cert)
    if cert.valid_until is not None and cert.valid_until < on:
        return _answer("expired", number, on, lang, cert)
    return _answer("valid", number, on, lang, cert)

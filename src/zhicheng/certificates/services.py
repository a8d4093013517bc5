"""Writes of certificates: the catalogue of types, issuing (numbered, signed with SM2) and revoking.
Each writes its audit record in the caller's transaction. Deliveries are in certificates.delivery, the
signing keys in certificates.keys.

Other modules call, in their own unit of work:

    from zhicheng.certificates import services as certificates
    cert = certificates.issue(uow, type_code="SPJYXK", holder_name="张三", holder_id="3201...",
                              issuer_org_id=7, content={"经营场所": "..."}, source="approvals:case:12")
    cert.number   # e.g. SPJYXK-2026-320100-00000125
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from zhicheng.certificates import document, keys, numbers
from zhicheng.certificates.models import Certificate, CertificateCounter, CertificateType
from zhicheng.certificates.schemas import TypeIn, TypeOut
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs import codes
from zhicheng.core.orgs.models import Org

MAX_CONTENT_BYTES = 32_000


MAX_DEPTH = 4


# --- the catalogue --------------------------------------------------------------------------------------
def define_type(uow: UnitOfWork, data: TypeIn) -> CertificateType:
    """Create a catalogue entry, or update the one with this code (issued certificates keep the name and
    content they were signed with)."""
    s = uow.session
    keys_seen = [f.key for f in data.fields]
    if len(set(keys_seen)) != len(keys_seen):
        raise Invalid("证照字段名称重复", "certificate fields must have distinct names")
    now = utcnow()
    found = s.get(CertificateType, data.code)
    values = data.model_dump(exclude={"code"})
    if found is None:
        found = CertificateType(code=data.code, created_at=now, updated_at=now, active=True, **values)
        s.add(found)
        action = "create"
    else:
        for k, v in values.items():
            setattr(found, k, v)
        found.updated_at, action = now, "update"
    s.flush()
    uow.record(f"certificates:type:{action}", f"certificate_type:{data.code}", data.model_dump())
    return found


def find_type(uow: UnitOfWork, code: str) -> TypeOut | None:
    """The active catalogue entry with this code, or None: for callers that issue only the types the
    catalogue knows (and pick the content fields it lists) without importing this module's models."""
    found = uow.session.get(CertificateType, (code or "").strip().upper())
    return TypeOut.model_validate(found) if found is not None and found.active else None


def _type(uow: UnitOfWork, code: str) -> CertificateType:
    found = uow.session.get(CertificateType, code)
    if found is None or not found.active:
        raise NotFound(f"证照目录中没有类型 {code}", f"certificate type {code!r} is not in the catalogue")
    return found


# --- checking what is issued ------------------------------------------------------------------------------
def holder(kind: str, holder_id: str) -> tuple[str, str]:
    """(holder kind, normalized number): a resident ID for citizens, a credit code for enterprises."""
    raw = (holder_id or "").strip().upper()
    tries = {"citizen": [("citizen", codes.resident_id)], "enterprise": [("enterprise", codes.credit_code)]}
    tries["any"] = tries["citizen"] + tries["enterprise"]
    for found_kind, check in tries[kind]:
        try:
            return found_kind, check(raw)
        except Invalid:
            continue
    wanted = {
        "citizen": ("居民身份证号码", "resident ID number"),
        "enterprise": ("统一社会信用代码", "credit code"),
    }
    zh, en = wanted.get(kind, ("居民身份证号码或统一社会信用代码", "resident ID number or credit code"))
    raise Invalid(f"持证主体证件号码无效，应为有效的{zh}", f"the holder's number is not a valid {en}")


def _text(value: str) -> bool:
    """False for a lone surrogate (JSON lets "\\ud800" through; it is not text and cannot be signed)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scalar_ok(value: Any, depth: int) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, str):
        return "\x00" not in value and _text(value)
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, list):
        return all(_scalar_ok(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _scalar_ok(v, depth + 1) for k, v in value.items())
    return False  # floats included: write amounts as strings ("100.50"), so the signed bytes never drift


def check_content(ctype: CertificateType, content: Any) -> dict[str, Any]:
    if not isinstance(content, dict) or not _scalar_ok(content, 0):
        raise Invalid(
            "证照内容应为字段名到文字、整数或是非值的对象（金额请写成文字），嵌套不超过 4 层",
            "content must map field names to strings, integers or booleans (write amounts as strings), "
            "nested at most 4 deep",
        )
    if len(document.canonical(content)) > MAX_CONTENT_BYTES:
        raise Invalid("证照内容过大", f"content exceeds {MAX_CONTENT_BYTES} bytes")
    declared = {f["key"]: f.get("required", True) for f in ctype.fields}
    if declared:
        unknown = sorted(set(content) - set(declared))
        if unknown:
            raise Invalid(
                f"证照目录未定义字段：{'、'.join(unknown)}", f"fields not in the catalogue: {unknown}"
            )
        missing = [k for k, req in declared.items() if req and content.get(k) in (None, "", [], {})]
        if missing:
            raise Invalid(f"缺少必填字段：{'、'.join(missing)}", f"required fields missing: {missing}")
    return content


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _next_sequence(uow: UnitOfWork, prefix: str) -> int:
    """The next sequence for this prefix; the counter row's lock serializes concurrent issuers."""
    s = uow.session
    for _ in range(3):
        got = s.execute(
            update(CertificateCounter)
            .where(CertificateCounter.prefix == prefix)
            .values(last=CertificateCounter.last + 1)
            .returning(CertificateCounter.last)
            .execution_options(synchronize_session=False)
        ).scalar()
        if got is not None:
            return int(got)
        insert = (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert
        s.execute(
            insert(CertificateCounter)
            .values(prefix=prefix, last=0)
            .on_conflict_do_nothing(index_elements=[CertificateCounter.prefix])
        )
    raise Conflict("证照编号分配繁忙，请重试", "certificate numbering is contended; try again")


# --- issuing and revoking ---------------------------------------------------------------------------------
def issue(
    uow: UnitOfWork,
    *,
    type_code: str,
    holder_name: str,
    holder_id: str,
    issuer_org_id: int,
    content: dict[str, Any],
    valid_until: dt.date | None = None,
    source: str | None = None,
    issued_on: dt.date | None = None,
) -> Certificate:
    """Number, sign and store a certificate (audited as certificates:certificate:issue)."""
    s = uow.session
    ctype = _type(uow, (type_code or "").strip().upper())
    kind, number_id = holder(ctype.holder_kind, holder_id)
    name = (holder_name or "").strip()
    if not 2 <= len(name) <= 100 or not _text(name):
        raise Invalid("持证主体名称应为 2 到 100 个字符", "the holder's name must be 2 to 100 characters")
    org = s.get(Org, issuer_org_id)
    if org is None or not org.active:
        raise NotFound(
            f"颁发机构 {issuer_org_id} 不存在或已停用", f"issuer {issuer_org_id} not found or inactive"
        )
    content = check_content(ctype, content)
    issued_on = issued_on or shanghai_today()
    if valid_until is None and ctype.validity_years:
        valid_until = _years_later(issued_on, ctype.validity_years) - dt.timedelta(days=1)
    if valid_until is not None and valid_until < issued_on:
        raise Invalid("有效期截止日不能早于颁发日期", "valid_until cannot be before the issue date")
    prefix = numbers.prefix(ctype.code, issued_on.year, org.division_code)
    number = numbers.make(ctype.code, issued_on.year, org.division_code, _next_sequence(uow, prefix))
    signer = keys.signer(uow)
    cert = Certificate(
        number=number,
        type_code=ctype.code,
        type_name=ctype.name,
        holder_kind=kind,
        holder_name=name,
        holder_id=number_id,
        issuer_org_id=org.id,
        issuer_name=org.name,
        issued_on=issued_on,
        valid_until=valid_until,
        content=content,
        key_id=signer.key_id,
        status="valid",
        source=(source or None) and source[:160],
        created_at=utcnow(),
    )
    try:
        signed = document.signed_bytes(cert)
    except UnicodeEncodeError as exc:  # a lone surrogate from JSON ("\ud800") is not text
        raise Invalid(
            "证照内容含有无效字符", "the certificate contains characters that are not valid text"
        ) from exc
    cert.content_sm3 = sm3_hex(signed)
    cert.signature = signer.sign(signed)
    s.add(cert)
    s.flush()
    uow.record(
        "certificates:certificate:issue",
        f"certificate:{number}",
        {
            "type_code": ctype.code,
            "holder_kind": kind,
            "holder_id_tail": number_id[-4:],  # the number itself is personal data
            "issuer_org_id": org.id,
            "valid_until": valid_until.isoformat() if valid_until else None,
            "content_sm3": cert.content_sm3,
            "key_id": signer.key_id,
            "source": cert.source,
        },
    )
    return cert


def get(uow: UnitOfWork, number: str) -> Certificate:
    cert = uow.session.scalar(select(Certificate).where(Certificate.number == numbers.normalize(number)))
    if cert is None:
        raise NotFound(f"证照 {number} 不存在", f"certificate {number} not found")
    return cert


def revoke(uow: UnitOfWork, number: str, reason: str) -> Certificate:
    """Revoke (注销/吊销) a certificate; its verification answers valid: false from now on. Deliveries
    still under way are cancelled."""
    from zhicheng.certificates import delivery  # delivery imports this module

    reason = (reason or "").strip()
    if len(reason) < 4:
        raise Invalid("注销须说明理由（至少 4 个字）", "a revocation needs a reason of at least 4 characters")
    cert = get(uow, number)
    hit = uow.session.execute(
        update(Certificate)
        .where(Certificate.id == cert.id, Certificate.status == "valid")
        .values(status="revoked", revoked_at=utcnow(), revoked_by=uow.actor.label[:160], revoke_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not hit:
        raise Conflict(f"证照 {cert.number} 已注销", f"certificate {cert.number} is revoked already")
    uow.session.refresh(cert)
    delivery.cancel_open(uow, cert, "证照已注销 / certificate revoked")
    uow.record("certificates:certificate:revoke", f"certificate:{cert.number}", {"reason": reason})
    delivery.notify_holder(uow, cert, "certificates.revoked", {"reason": reason})
    return cert

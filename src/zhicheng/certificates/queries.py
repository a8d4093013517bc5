"""Reads of certificates shared by the API and the console, and who may see one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhicheng.certificates import document, numbers
from zhicheng.certificates.models import (
    Certificate,
    CertificateDelivery,
    CertificateDeliveryEvent,
    CertificateKey,
    CertificateType,
)
from zhicheng.certificates.permissions import CERTIFICATES_ISSUE, CERTIFICATES_READ
from zhicheng.certificates.signing import ALGORITHM
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.auth.models import User
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import Forbidden, NotFound
from zhicheng.core.orgs.models import Org, Party


def certificate(s: Session, number: str) -> Certificate:
    found = s.scalar(select(Certificate).where(Certificate.number == numbers.normalize(number)[:64]))
    if found is None:
        raise NotFound(f"证照 {number[:64]} 不存在", f"certificate {number[:64]} not found")
    return found


def issuer_path(s: Session, org_id: int) -> str:
    return s.scalar(select(Org.path).where(Org.id == org_id)) or ""


def holder_of(s: Session, user_id: int | None) -> tuple[str, str] | None:
    """(kind, number) of the party a user logs in for, or None."""
    if user_id is None:
        return None
    row = s.execute(
        select(Party.kind, Party.id_number).join(User, User.party_id == Party.id).where(User.id == user_id)
    ).first()
    return (row.kind, row.id_number) if row else None


def is_holder(me: Principal, s: Session, cert: Certificate) -> bool:
    return holder_of(s, me.actor.user_id) == (cert.holder_kind, cert.holder_id)


def is_issuer(me: Principal, s: Session, cert: Certificate, permission: str = CERTIFICATES_READ) -> bool:
    path = issuer_path(s, cert.issuer_org_id)
    return me.can(permission, path) or (permission == CERTIFICATES_READ and me.can(CERTIFICATES_ISSUE, path))


def require_visible(me: Principal, s: Session, cert: Certificate) -> None:
    if not (is_holder(me, s, cert) or is_issuer(me, s, cert)):
        raise Forbidden("只有持证人和颁发机构可以查看证照全文", "only the holder and the issuer may see it")


def issued(
    s: Session,
    paths: list[str],
    type_code: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Certificate]:
    """Certificates issued by organizations under `paths`, newest first."""
    if not paths:
        return []
    q = (
        select(Certificate)
        .join(Org, Org.id == Certificate.issuer_org_id)
        .where(or_(*[Org.path.startswith(p) for p in paths]))
        .order_by(Certificate.id.desc())
    )
    return _filtered(s, q, type_code, status, limit, before)


def held(
    s: Session,
    user_id: int | None,
    type_code: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Certificate]:
    """Certificates of the party the user logs in for, newest first."""
    who = holder_of(s, user_id)
    if who is None:
        return []
    q = select(Certificate).where(Certificate.holder_kind == who[0], Certificate.holder_id == who[1])
    return _filtered(s, q.order_by(Certificate.id.desc()), type_code, status, limit, before)


def _filtered(
    s: Session, q: Any, type_code: str | None, status: str | None, limit: int, before: int | None
) -> list[Certificate]:
    if type_code:
        q = q.where(Certificate.type_code == type_code)
    if status == "expired":
        q = q.where(Certificate.status == "valid", Certificate.valid_until < shanghai_today())
    elif status:
        q = q.where(Certificate.status == status)
    if before is not None:
        q = q.where(Certificate.id < before)
    return list(s.scalars(q.limit(limit)))


def deliveries(s: Session, certificate_id: int) -> list[dict[str, Any]]:
    rows = list(
        s.scalars(
            select(CertificateDelivery)
            .where(CertificateDelivery.certificate_id == certificate_id)
            .order_by(CertificateDelivery.id.desc())
        )
    )
    events: dict[int, list[CertificateDeliveryEvent]] = {}
    if rows:
        q = (
            select(CertificateDeliveryEvent)
            .where(CertificateDeliveryEvent.delivery_id.in_([d.id for d in rows]))
            .order_by(CertificateDeliveryEvent.id)
        )
        for e in s.scalars(q):
            events.setdefault(e.delivery_id, []).append(e)
    return [{**fields_of(d), "events": events.get(d.id, [])} for d in rows]


def fields_of(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def expired(cert: Certificate, on: dt.date | None = None) -> bool:
    return cert.valid_until is not None and cert.valid_until < (on or shanghai_today())


def shown(s: Session, cert: Certificate, verify_url: str | None = None) -> dict[str, Any]:
    """A certificate with its deliveries, as the holder and the issuer see it."""
    return {
        **fields_of(cert),
        "expired": expired(cert),
        "verify_url": verify_url,
        "deliveries": deliveries(s, cert.id),
    }


def signed_document(s: Session, cert: Certificate, verify_url: str | None = None) -> dict[str, Any]:
    """The certificate as a file its holder keeps (schemas.DocumentOut): verifiable offline."""
    signed = document.signed_bytes(cert)
    key = s.get(CertificateKey, cert.key_id)
    return {
        "format": document.FORMAT,
        "number": cert.number,
        "payload": signed.decode(),
        "payload_sm3": sm3_hex(signed),
        "signature": cert.signature,
        "key_id": cert.key_id,
        "public_key": key.public_key if key else "",
        "algorithm": ALGORITHM,
        "verify_url": verify_url,
    }


def types(s: Session, active_only: bool = True) -> list[CertificateType]:
    q = select(CertificateType).order_by(CertificateType.code)
    if active_only:
        q = q.where(CertificateType.active.is_(True))
    return list(s.scalars(q))


def signing_keys(s: Session) -> list[CertificateKey]:
    return list(s.scalars(select(CertificateKey).order_by(CertificateKey.created_at.desc())))

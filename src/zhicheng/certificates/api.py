"""JSON routes of electronic certificates. Verification is public and always answers JSON with `valid`
true or false (HTTP 200, also for unknown and malformed numbers: "is this genuine?" has an answer either
way); the full certificate is for its holder and its issuer only."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from zhicheng.certificates import delivery, keys, qr, queries, services, verification
from zhicheng.certificates.models import Certificate
from zhicheng.certificates.permissions import CERTIFICATES_ISSUE, CERTIFICATES_MANAGE, CERTIFICATES_READ
from zhicheng.certificates.schemas import (
    CertificateOut,
    DeliveryIn,
    DeliveryOut,
    DeliveryStepIn,
    DocumentOut,
    IssueIn,
    KeyOut,
    ReasonIn,
    TypeIn,
    TypeOut,
    VerifyOut,
)
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import UnitOfWork, unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.paging import Page, decode_id, page
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access, public

router = APIRouter(prefix="/api/v1", tags=["certificates"])
STATUSES = ("valid", "revoked", "expired")


@router.get("/certificates/{number}/verify", response_model=VerifyOut)
@public
def verify(number: str, request: Request, s: Reader) -> VerifyOut:
    """Is this certificate genuine and in force? `valid` true or false with a `code` and a `reason`; the
    particulars (holder masked) when the signature holds. No login."""
    return verification.verify(s, number, request_lang(request))


def _issuer_paths(me: Principal) -> list[str]:
    return sorted(set(me.paths(CERTIFICATES_READ)) | set(me.paths(CERTIFICATES_ISSUE)))


@router.get("/certificates", response_model=Page[CertificateOut])
@access(P.SELF)
def list_certificates(
    request: Request,
    s: Reader,
    me: Me,
    view: str = Query(
        "mine", description="mine (held by the caller's party) | issued (by the caller's orgs)"
    ),
    type_code: str | None = None,
    status: str | None = Query(None, description="valid | revoked | expired"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict:
    if view not in ("mine", "issued"):
        raise Invalid("视图应为 mine 或 issued", "view must be mine or issued")
    if status and status not in STATUSES:
        raise Invalid("状态应为 valid、revoked 或 expired", "status must be valid, revoked or expired")
    before = decode_id(cursor)
    if view == "issued":
        paths = _issuer_paths(me)
        if not paths:
            raise Forbidden()
        rows = queries.issued(s, paths, type_code, status, limit + 1, before)
    else:
        rows = queries.held(s, me.actor.user_id, type_code, status, limit + 1, before)
    items, nxt = page(rows, limit, lambda c: c.id)
    base = qr.base_url(request)
    return {
        "items": [
            {
                **queries.fields_of(c),
                "expired": queries.expired(c),
                "verify_url": qr.verify_url(base, c.number),
            }
            for c in items
        ],
        "next_cursor": nxt,
    }


@router.post("/certificates", response_model=CertificateOut, status_code=201)
@access(CERTIFICATES_ISSUE)
def issue(body: IssueIn, request: Request, db: DB, me: Me) -> dict:
    """Issue a certificate in the name of `issuer_org_id` (the caller must hold certificates.issue there)."""
    with unit_of_work(db, me.actor) as uow:
        require(me, CERTIFICATES_ISSUE, queries.issuer_path(uow.session, body.issuer_org_id) or None)
        cert = services.issue(uow, **body.model_dump())
        return queries.shown(uow.session, cert, qr.verify_url(qr.base_url(request), cert.number))


@router.get("/certificates/{number}", response_model=CertificateOut)
@access(P.SELF)
def get_certificate(number: str, request: Request, s: Reader, me: Me) -> dict:
    """The full certificate with its deliveries: for its holder and its issuer."""
    cert = queries.certificate(s, number)
    queries.require_visible(me, s, cert)
    return queries.shown(s, cert, qr.verify_url(qr.base_url(request), cert.number))


@router.get("/certificates/{number}/document", response_model=DocumentOut)
@access(P.SELF)
def get_document(number: str, request: Request, db: DB, me: Me) -> dict:
    """The signed document (exact signed bytes, signature, public key), verifiable offline. The holder's
    download completes an online delivery."""
    with unit_of_work(db, me.actor) as uow:
        cert = services.get(uow, number)
        queries.require_visible(me, uow.session, cert)
        if queries.is_holder(me, uow.session, cert):
            delivery.downloaded(uow, cert)
        return queries.signed_document(uow.session, cert, qr.verify_url(qr.base_url(request), cert.number))


def _as_issuer(me: Principal, uow: UnitOfWork, number: str) -> Certificate:
    cert = services.get(uow, number)
    require(me, CERTIFICATES_ISSUE, queries.issuer_path(uow.session, cert.issuer_org_id))
    return cert


@router.post("/certificates/{number}/revoke", response_model=CertificateOut)
@access(CERTIFICATES_ISSUE)
def revoke(number: str, body: ReasonIn, request: Request, db: DB, me: Me) -> dict:
    """Revoke (注销) a certificate: verification answers valid: false from now on (reason recorded)."""
    with unit_of_work(db, me.actor) as uow:
        cert = _as_issuer(me, uow, number)
        cert = services.revoke(uow, cert.number, body.reason)
        return queries.shown(uow.session, cert, qr.verify_url(qr.base_url(request), cert.number))


@router.post("/certificates/{number}/deliveries", response_model=DeliveryOut, status_code=201)
@access(CERTIFICATES_ISSUE)
def start_delivery(number: str, body: DeliveryIn, db: DB, me: Me) -> dict:
    """Start delivering: online (download), window (pickup) or mail (recipient, phone, address)."""
    with unit_of_work(db, me.actor) as uow:
        cert = _as_issuer(me, uow, number)
        d = delivery.start(uow, cert, body)
        uow.session.flush()
        return next(x for x in queries.deliveries(uow.session, d.certificate_id) if x["id"] == d.id)


@router.post("/certificates/{number}/deliveries/{delivery_id}/steps", response_model=DeliveryOut)
@access(CERTIFICATES_ISSUE)
def delivery_step(number: str, delivery_id: int, body: DeliveryStepIn, db: DB, me: Me) -> dict:
    """Move a delivery on: ready, shipped (carrier, tracking_number), delivered, returned or cancelled."""
    with unit_of_work(db, me.actor) as uow:
        cert = _as_issuer(me, uow, number)
        d = delivery.advance(uow, cert, delivery_id, body)
        uow.session.flush()
        return next(x for x in queries.deliveries(uow.session, d.certificate_id) if x["id"] == d.id)


@router.get("/certificate-types", response_model=list[TypeOut])
@access(P.SELF)
def list_types(s: Reader) -> list:
    """The catalogue of certificate types (证照目录)."""
    return queries.types(s)


@router.post("/certificate-types", response_model=TypeOut)
@access(CERTIFICATES_MANAGE)
def define_type(body: TypeIn, db: DB, me: Me) -> object:
    """Create a catalogue entry, or update the one with this code."""
    with unit_of_work(db, me.actor) as uow:
        return services.define_type(uow, body)


@router.get("/certificate-keys", response_model=list[KeyOut])
@access(P.SELF)
def list_keys(s: Reader) -> list:
    """The instance's SM2 public keys, active and retired (never a private key)."""
    return queries.signing_keys(s)


@router.post("/certificate-keys/rotate", response_model=KeyOut)
@access(CERTIFICATES_MANAGE)
def rotate_key(body: ReasonIn, db: DB, me: Me) -> object:
    """Retire the active signing key and make a new one; what the old key signed still verifies."""
    with unit_of_work(db, me.actor) as uow:
        return keys.rotate(uow, body.reason)

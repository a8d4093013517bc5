"""Console pages of electronic certificates: the list (issued by my departments, held by me), one
certificate with its QR code, signature check and deliveries (and, for the issuer, revoking and delivery
steps), the signed document to download, and the public verification page (no login)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from zhicheng.certificates import delivery, qr, queries, services, verification
from zhicheng.certificates.models import Certificate, CertificateType
from zhicheng.certificates.permissions import CERTIFICATES_ISSUE, CERTIFICATES_READ
from zhicheng.certificates.schemas import DeliveryIn, DeliveryStepIn
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import blank, done, failure, page, say, to_int
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access, public

router = APIRouter(include_in_schema=False)
nav.add("电子证照", "电子证照", "/certificates", P.SELF, order=80)
nav.add("电子证照", "证照核验", "/verify", P.SELF, order=81)
STEP_LABEL = {
    "ready": "可领取",
    "shipped": "已寄出",
    "delivered": "已送达",
    "returned": "已退回",
    "cancelled": "取消送达",
}


@router.get("/certificates")
@access(P.SELF)
def certificate_list(request: Request, s: Reader, me: Me) -> Any:
    paths = sorted(set(me.paths(CERTIFICATES_READ)) | set(me.paths(CERTIFICATES_ISSUE)))
    ctx = {
        "issued": queries.issued(s, paths, limit=200) if paths else None,
        # a login bound to a citizen or enterprise holds certificates; staff logins hold none
        "mine": queries.held(s, me.actor.user_id, limit=200)
        if queries.holder_of(s, me.actor.user_id)
        else None,
        "today": shanghai_today(),
    }
    return page(request, "certificates/list.html", ctx)


def _shown(value: Any) -> str:
    """A content value as printed: lists joined with 、, objects as key：value, booleans as 是/否."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{_shown(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _content_rows(s: Any, cert: Certificate) -> list[tuple[str, str]]:
    """The content in the catalogue's field order, then any field the catalogue no longer lists."""
    ctype = s.get(CertificateType, cert.type_code)
    order = [f["key"] for f in (ctype.fields if ctype else [])]
    keys = [k for k in order if k in cert.content] + sorted(k for k in cert.content if k not in order)
    return [(k, _shown(cert.content[k])) for k in keys]


def _detail(
    request: Request, s: Any, me: Principal, cert: Certificate, error: str | None = None, status: int = 200
) -> Any:
    url = qr.verify_url(qr.base_url(request), cert.number)
    shown = queries.shown(s, cert, url)
    can_issue = me.can(CERTIFICATES_ISSUE, queries.issuer_path(s, cert.issuer_org_id))
    steps = {d["id"]: sorted(delivery.FLOW[d["method"]].get(d["status"], set())) for d in shown["deliveries"]}
    ctx = {
        "cert": shown,
        "content_rows": _content_rows(s, cert),
        "check": verification.verify(s, cert.number, request_lang(request)),
        "qr_svg": qr.svg(url),
        "verify_url": url,
        "can_issue": can_issue,
        "is_holder": queries.is_holder(me, s, cert),
        "open_delivery": any(d["status"] not in delivery.FINAL for d in shown["deliveries"]),
        "steps": steps,
        "status_zh": delivery.STATUS_ZH,
        "method_zh": delivery.METHOD_ZH,
        "step_label": STEP_LABEL,
        "error": error,
    }
    return page(request, "certificates/detail.html", ctx, status)


@router.get("/certificates/{number}")
@access(P.SELF)
def certificate_page(number: str, request: Request, s: Reader, me: Me) -> Any:
    cert = queries.certificate(s, number)
    queries.require_visible(me, s, cert)
    return _detail(request, s, me, cert)


@router.get("/certificates/{number}/download")
@access(P.SELF)
def download(number: str, request: Request, db: DB, me: Me) -> Response:
    """The signed document as a JSON file; the holder's download completes an online delivery."""
    with unit_of_work(db, me.actor) as uow:
        cert = services.get(uow, number)
        queries.require_visible(me, uow.session, cert)
        if queries.is_holder(me, uow.session, cert):
            delivery.downloaded(uow, cert)
        doc = queries.signed_document(uow.session, cert, qr.verify_url(qr.base_url(request), cert.number))
    body = json.dumps(doc, ensure_ascii=False, indent=2)
    disposition = f"attachment; filename*=UTF-8''{quote(cert.number)}.json"
    return Response(body, media_type="application/json", headers={"content-disposition": disposition})


def _issuer_form(
    request: Request, db: Any, me: Principal, number: str, action: Any, ok_zh: str, ok_en: str
) -> Any:
    """Run an issuer's form action; on failure show the certificate page with the error."""
    try:
        with unit_of_work(db, me.actor) as uow:
            cert = services.get(uow, number)
            require(me, CERTIFICATES_ISSUE, queries.issuer_path(uow.session, cert.issuer_org_id))
            action(uow, cert)
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        if status in (401, 403):
            raise
        with db.read() as s:
            cert = queries.certificate(s, number)
            queries.require_visible(me, s, cert)
            return _detail(request, s, me, cert, message, status)
    return done(f"/certificates/{quote(cert.number)}", say(request, ok_zh, ok_en))


@router.post("/certificates/{number}/revoke")
@access(CERTIFICATES_ISSUE)
def revoke(number: str, request: Request, db: DB, me: Me, reason: str = Form("")) -> Any:
    return _issuer_form(
        request,
        db,
        me,
        number,
        lambda uow, c: services.revoke(uow, c.number, reason),
        "证照已注销",
        "Revoked",
    )


@router.post("/certificates/{number}/deliveries")
@access(CERTIFICATES_ISSUE)
def start_delivery(
    number: str,
    request: Request,
    db: DB,
    me: Me,
    method: str = Form(""),
    recipient_name: str = Form(""),
    phone: str = Form(""),
    address: str = Form(""),
    window: str = Form(""),
) -> Any:
    def act(uow: Any, cert: Certificate) -> None:
        data = DeliveryIn.model_validate(
            {
                "method": method,
                "recipient_name": blank(recipient_name),
                "phone": blank(phone),
                "address": blank(address),
                "window": blank(window),
            }
        )
        delivery.start(uow, cert, data)

    return _issuer_form(request, db, me, number, act, "已开始送达", "Delivery started")


@router.post("/certificates/{number}/deliveries/{delivery_id}/steps")
@access(CERTIFICATES_ISSUE)
def delivery_step(
    number: str,
    delivery_id: int,
    request: Request,
    db: DB,
    me: Me,
    status: str = Form(""),
    carrier: str = Form(""),
    tracking_number: str = Form(""),
    note: str = Form(""),
    version: str = Form(""),
) -> Any:
    def act(uow: Any, cert: Certificate) -> None:
        step = DeliveryStepIn.model_validate(
            {
                "status": status,
                "carrier": blank(carrier),
                "tracking_number": blank(tracking_number),
                "note": blank(note),
                "version": to_int(version, "version"),
            }
        )
        delivery.advance(uow, cert, delivery_id, step)

    return _issuer_form(request, db, me, number, act, "送达状态已更新", "Delivery updated")


# --- public verification -----------------------------------------------------------------------------------
@router.get("/verify")
@public
def verify_form(request: Request, number: str | None = None) -> Any:
    """Type a number to check it; the answer is at /verify/{number} (the address a QR code carries)."""
    if number and number.strip():
        return RedirectResponse(f"/verify/{quote(number.strip()[:64], safe='')}", status_code=303)
    return page(request, "certificates/verify.html", {"result": None})


@router.get("/verify/{number}")
@public
def verify_page(number: str, request: Request, s: Reader) -> Any:
    result = verification.verify(s, number, request_lang(request))
    return page(request, "certificates/verify.html", {"result": result, "status_zh": STATUS_ZH_VERIFIED})


STATUS_ZH_VERIFIED = {"valid": "有效", "revoked": "已注销", "expired": "已过期"}

"""Delivering a certificate to its holder (送达): a service module, writing in the caller's unit of work.

Methods and steps (every step is an event on the delivery's timeline and an audit record):
- online: ready (可下载) → delivered, when the holder downloads the signed document;
- window: pending (制证中) → ready (待领取) → delivered (已领取);
- mail: pending → shipped (carrier and tracking number) → delivered (已签收) | returned (退回) → shipped …;
- any step not final → cancelled. One delivery at a time per certificate.
The holder's party, when registered, is told of each step that concerns them (site inbox, and SMS when the
party has a phone) through the notification outbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from zhicheng.certificates.models import Certificate, CertificateDelivery, CertificateDeliveryEvent
from zhicheng.certificates.schemas import DeliveryIn, DeliveryStepIn
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.notify import services as notify
from zhicheng.core.notify import templates
from zhicheng.core.orgs.queries import party_by_number

FIRST = {"online": "ready", "window": "pending", "mail": "pending"}
FLOW: dict[str, dict[str, set[str]]] = {
    "online": {"ready": {"delivered", "cancelled"}},
    "window": {"pending": {"ready", "cancelled"}, "ready": {"delivered", "cancelled"}},
    "mail": {
        "pending": {"shipped", "cancelled"},
        "shipped": {"delivered", "returned"},
        "returned": {"shipped", "cancelled"},
    },
}
FINAL = ("delivered", "cancelled")
METHOD_ZH = {"online": "网上下载", "window": "窗口领取", "mail": "邮寄送达"}
STATUS_ZH = {
    "pending": "制证中",
    "ready": "待领取",
    "shipped": "已寄出",
    "delivered": "已送达",
    "returned": "已退回",
    "cancelled": "已取消",
}

READY = templates.register(
    "certificates.delivery.ready", "证照可领取", "您的{type_name}（编号 {number}）已可{how}。"
)
SHIPPED = templates.register(
    "certificates.delivery.shipped",
    "证照已寄出",
    "您的{type_name}（编号 {number}）已由{carrier}寄出，运单号 {tracking_number}。",
)
RETURNED = templates.register(
    "certificates.delivery.returned",
    "证照邮件被退回",
    "您的{type_name}（编号 {number}）邮件被退回，请联系办理窗口重新寄送或改为窗口领取。",
)
REVOKED = templates.register(
    "certificates.revoked", "证照已注销", "您的{type_name}（编号 {number}）已注销，理由：{reason}。"
)


def notify_holder(uow: UnitOfWork, cert: Certificate, template: str, extra: dict[str, Any]) -> None:
    """Tell the holder, if they are a registered party (a certificate may be issued to someone who never
    logged in: then only the delivery itself reaches them)."""
    party = party_by_number(uow.session, cert.holder_kind, cert.holder_id)
    if party is None:
        return
    data = {"number": cert.number, "type_name": cert.type_name, **extra}
    channels = ["site"] + (["sms"] if party.phone else [])
    for channel in channels:
        notify.enqueue(
            uow,
            channel=channel,
            template=template,
            data=data,
            recipient_party_id=party.id,
            source=f"certificate:{cert.number}",
        )


def _event(uow: UnitOfWork, d: CertificateDelivery, note: str | None = None) -> None:
    uow.session.add(
        CertificateDeliveryEvent(
            delivery_id=d.id,
            status=d.status,
            at=d.updated_at,
            actor=uow.actor.label[:160],
            note=note,
            tracking_number=d.tracking_number if d.status == "shipped" else None,
        )
    )


def _open(uow: UnitOfWork, cert: Certificate) -> list[CertificateDelivery]:
    q = select(CertificateDelivery).where(
        CertificateDelivery.certificate_id == cert.id, CertificateDelivery.status.not_in(FINAL)
    )
    return list(uow.session.scalars(q))


def start(uow: UnitOfWork, cert: Certificate, data: DeliveryIn) -> CertificateDelivery:
    s = uow.session
    # read the certificate afresh and lock its row (PostgreSQL), so that a revocation or another clerk's
    # delivery committed meanwhile is seen, and two clerks cannot open two deliveries at once
    cert = s.get(Certificate, cert.id, populate_existing=True, with_for_update=True) or cert
    if cert.status != "valid":
        raise Conflict("已注销的证照不能送达", "a revoked certificate cannot be delivered")
    if _open(uow, cert):
        raise Conflict("该证照已有进行中的送达", "a delivery of this certificate is under way")
    if data.method == "mail" and not (data.recipient_name and data.phone and data.address):
        raise Invalid(
            "邮寄送达须填写收件人、手机号码和地址", "mail needs a recipient, a phone number and an address"
        )
    now = utcnow()
    d = CertificateDelivery(
        certificate_id=cert.id,
        method=data.method,
        status=FIRST[data.method],
        recipient_name=data.recipient_name,
        phone=data.phone,
        address=data.address,
        window=data.window,
        version=1,
        created_at=now,
        updated_at=now,
    )
    s.add(d)
    s.flush()
    _event(uow, d)
    uow.record(
        "certificates:delivery:start",
        f"certificate:{cert.number}",
        {"delivery_id": d.id, "method": d.method, "status": d.status},
    )
    if d.status == "ready":
        notify_holder(uow, cert, READY, {"how": "在网上下载"})
    return d


def _how(d: CertificateDelivery) -> str:
    return f"到{d.window}领取" if d.window else "到办理窗口领取"


def advance(
    uow: UnitOfWork, cert: Certificate, delivery_id: int, step: DeliveryStepIn
) -> CertificateDelivery:
    """Move a delivery one step; a step that no longer applies (someone was quicker) is a conflict."""
    s = uow.session
    d = s.get(CertificateDelivery, delivery_id, populate_existing=True, with_for_update=True)
    if d is None or d.certificate_id != cert.id:
        raise NotFound(f"送达记录 {delivery_id} 不存在", f"delivery {delivery_id} not found")
    if step.version is not None and step.version != d.version:
        raise Conflict(
            f"送达记录已被他人更新（当前为“{STATUS_ZH[d.status]}”），请刷新",
            f"the delivery was updated by someone else (now {d.status}); reload",
        )
    if step.status not in FLOW[d.method].get(d.status, set()):
        raise Conflict(
            f"{METHOD_ZH[d.method]}不能从“{STATUS_ZH[d.status]}”变为“{STATUS_ZH[step.status]}”",
            f"a {d.method} delivery cannot go from {d.status} to {step.status}",
        )
    values: dict[str, Any] = {"status": step.status, "version": d.version + 1, "updated_at": utcnow()}
    if step.status == "shipped":
        if not (step.carrier and step.tracking_number):
            raise Invalid("寄出须填写快递公司和运单号", "shipping needs a carrier and a tracking number")
        values.update(carrier=step.carrier, tracking_number=step.tracking_number)
    if step.status == "delivered":
        values["delivered_at"] = values["updated_at"]
    hit = s.execute(
        update(CertificateDelivery)
        .where(CertificateDelivery.id == d.id, CertificateDelivery.version == d.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not hit:
        raise Conflict("送达状态已被他人更新，请刷新", "the delivery was updated by someone else; reload")
    s.refresh(d)
    _event(uow, d, step.note)
    uow.record(
        f"certificates:delivery:{step.status}",
        f"certificate:{cert.number}",
        {"delivery_id": d.id, "tracking_number": d.tracking_number if step.status == "shipped" else None},
    )
    if step.status == "ready":
        notify_holder(uow, cert, READY, {"how": _how(d)})
    elif step.status == "shipped":
        notify_holder(uow, cert, SHIPPED, {"carrier": d.carrier, "tracking_number": d.tracking_number})
    elif step.status == "returned":
        notify_holder(uow, cert, RETURNED, {})
    return d


def downloaded(uow: UnitOfWork, cert: Certificate) -> bool:
    """The holder downloaded the signed document: an online delivery waiting for it is done."""
    for d in _open(uow, cert):
        if d.method == "online" and d.status == "ready":
            advance(uow, cert, d.id, DeliveryStepIn(status="delivered", note="持证人已下载"))
            return True
    return False


def cancel_open(uow: UnitOfWork, cert: Certificate, note: str) -> None:
    now = utcnow()
    for d in _open(uow, cert):
        d.status, d.version, d.updated_at = "cancelled", d.version + 1, now
        uow.session.flush()
        _event(uow, d, note)

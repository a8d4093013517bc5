"""Electronic certificates (电子证照): the catalogue of types, the signing keys, the certificates, their
numbering counters and their delivery to the holder."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class CertificateType(Base):
    """A catalogue entry (证照目录, after GB/T 36902-2018): what a certificate of this type is, who may hold
    it, how long it is valid, and the fields of its content."""

    __tablename__ = "certificate_type"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)  # 证照类型代码
    name: Mapped[str] = mapped_column(String(100), nullable=False)  # 证照名称
    holder_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # citizen | enterprise | any
    validity_years: Mapped[int | None] = mapped_column(Integer)  # None: no fixed term (长期有效)
    # [{"key": "经营场所", "required": true}, ...]; empty: any content
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class CertificateKey(Base):
    """An SM2 key pair of this platform instance. One is active; retired ones keep their public key so
    that the certificates they signed still verify. The private key is kept sealed (SM4 + HMAC-SM3 under
    a key derived from ZHICHENG_SECRET_KEY) and erased at retirement; a key configured in the settings
    (source "settings") never has its private part stored at all. `active_slot` is 1 for the active key
    and NULL otherwise, so a unique index allows one active key only."""

    __tablename__ = "certificate_key"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(130), nullable=False)  # 04 ‖ x ‖ y, hex
    private_sealed: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # generated | settings
    status: Mapped[str] = mapped_column(String(10), nullable=False)  # active | retired
    active_slot: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retire_reason: Mapped[str | None] = mapped_column(String(200))


class CertificateCounter(Base):
    """The last sequence number used per type, year and division (the number without its tail)."""

    __tablename__ = "certificate_counter"
    __audit_exempt__ = True  # bookkeeping of numbers; the certificate that takes one is audited

    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Certificate(Base):
    """An issued certificate. Everything the holder and a verifier rely on is in the signed payload
    (certificates.services.payload); `content_sm3` is SM3 over that payload's canonical JSON, so a changed
    row is told from a forged signature. status: valid | revoked (expiry is computed from valid_until)."""

    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_holder", "holder_id"),
        Index("ix_certificate_issuer", "issuer_org_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(48), unique=True, nullable=False)
    type_code: Mapped[str] = mapped_column(ForeignKey("certificate_type.code"), nullable=False)
    type_name: Mapped[str] = mapped_column(String(100), nullable=False)
    holder_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # citizen | enterprise
    holder_name: Mapped[str] = mapped_column(String(100), nullable=False)
    holder_id: Mapped[str] = mapped_column(String(18), nullable=False)  # resident ID or credit code
    issuer_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    issuer_name: Mapped[str] = mapped_column(String(100), nullable=False)
    issued_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)  # the last valid day; None: 长期有效
    content: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    content_sm3: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)  # DER SEQUENCE {r, s}, hex
    key_id: Mapped[str] = mapped_column(ForeignKey("certificate_key.key_id"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="valid")
    source: Mapped[str | None] = mapped_column(String(160))  # the cause, e.g. "approvals:case:12"
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(160))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class CertificateDelivery(Base):
    """Getting the result to the holder (送达): online (download), at the window, or by mail.

    online: ready → delivered (the holder downloads it); window: pending → ready (待领取) → delivered;
    mail: pending → shipped (carrier and tracking number) → delivered | returned → shipped again; any step
    not final → cancelled. `version` grows at every step; steps are conditional on it."""

    __tablename__ = "certificate_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("certificate.id"), nullable=False, index=True
    )
    method: Mapped[str] = mapped_column(String(10), nullable=False)  # online | window | mail
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    recipient_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    window: Mapped[str | None] = mapped_column(String(100))  # the hall and window for pickup
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CertificateDeliveryEvent(Base):
    """One step of a delivery, for its timeline."""

    __tablename__ = "certificate_delivery_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_delivery.id"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    tracking_number: Mapped[str | None] = mapped_column(String(40))

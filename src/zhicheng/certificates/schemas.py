from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HolderKind = Literal["citizen", "enterprise", "any"]
Method = Literal["online", "window", "mail"]
Step = Literal["ready", "shipped", "delivered", "returned", "cancelled"]


class FieldIn(BaseModel):
    key: str = Field(min_length=1, max_length=40, description="the field's name as printed, e.g. 经营场所")
    required: bool = True


class TypeIn(BaseModel):
    code: str = Field(
        pattern=r"^[A-Z0-9]{2,24}$", description="证照类型代码: 2–24 upper-case letters, digits"
    )
    name: str = Field(min_length=2, max_length=100)
    holder_kind: HolderKind
    validity_years: int | None = Field(None, ge=1, le=100, description="empty: no fixed term (长期有效)")
    fields: list[FieldIn] = Field(default_factory=list, max_length=60)
    description: str | None = Field(None, max_length=2000)


class TypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    holder_kind: str
    validity_years: int | None
    fields: list[dict[str, Any]]
    description: str | None
    active: bool


class IssueIn(BaseModel):
    type_code: str = Field(max_length=24)
    holder_name: str = Field(min_length=2, max_length=100)
    holder_id: str = Field(min_length=18, max_length=18, description="resident ID number or credit code")
    issuer_org_id: int
    content: dict[str, Any] = Field(default_factory=dict)
    valid_until: dt.date | None = Field(None, description="the last valid day; default from the type")
    source: str | None = Field(None, max_length=160)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=4, max_length=500)


class DeliveryIn(BaseModel):
    method: Method
    recipient_name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, pattern=r"^1\d{10}$")
    address: str | None = Field(None, max_length=300)
    window: str | None = Field(None, max_length=100, description="the hall and window for pickup")


class DeliveryStepIn(BaseModel):
    status: Step
    carrier: str | None = Field(None, max_length=40)
    tracking_number: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{6,40}$")
    note: str | None = Field(None, max_length=500)
    version: int | None = Field(
        None, description="the version the caller saw; another one means someone acted first (409)"
    )


class DeliveryEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    status: str
    at: dt.datetime
    actor: str
    note: str | None
    tracking_number: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    method: str
    status: str
    recipient_name: str | None
    phone: str | None
    address: str | None
    window: str | None
    carrier: str | None
    tracking_number: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    delivered_at: dt.datetime | None
    events: list[DeliveryEventOut] = []


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: str
    type_code: str
    type_name: str
    holder_kind: str
    holder_name: str
    holder_id: str
    issuer_org_id: int
    issuer_name: str
    issued_on: dt.date
    valid_until: dt.date | None
    content: dict[str, Any]
    content_sm3: str
    key_id: str
    status: str
    source: str | None
    revoked_at: dt.datetime | None
    revoke_reason: str | None
    created_at: dt.datetime
    expired: bool = False
    verify_url: str | None = None
    deliveries: list[DeliveryOut] = []


class KeyOut(BaseModel):
    """A signing key as anyone may see it: never its private part."""

    model_config = ConfigDict(from_attributes=True)
    key_id: str
    public_key: str
    source: str
    status: str
    created_at: dt.datetime
    retired_at: dt.datetime | None
    retire_reason: str | None


class Verified(BaseModel):
    """What a verifier learns of a genuine certificate: the holder masked (张*, 6 + 4 of the number)."""

    number: str
    type_code: str
    type_name: str
    holder_kind: str
    holder_name: str
    holder_id: str
    issuer_name: str
    issued_on: dt.date
    valid_until: dt.date | None
    status: str


class VerifyOut(BaseModel):
    valid: bool
    code: str = Field(
        description="valid, malformed, bad_check, not_found, tampered, unknown_key, "
        "bad_signature, revoked or expired"
    )
    reason: str
    number: str
    checked_on: dt.date
    certificate: Verified | None = Field(
        None, description="present when the signature holds (valid, revoked or expired)"
    )


class DocumentOut(BaseModel):
    """The certificate as a file the holder keeps: the exact signed bytes, the signature and the key, so
    that it verifies offline (see docs/certificates.md)."""

    format: str
    number: str
    payload: str
    payload_sm3: str
    signature: str
    key_id: str
    public_key: str
    algorithm: str
    verify_url: str | None = None

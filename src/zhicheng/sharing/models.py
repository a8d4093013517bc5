"""Sharing requests (one per application, moving through the steps) and the grants they end in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class SharingRequest(Base):
    """A consumer department's application for a catalog resource.

    status: submitted (the data authority checks) → rejected | awaiting_provider (有条件) | granted (无条件);
    awaiting_provider → granted | refused; refused → disputed (the consumer) → granted | refused (settled).
    `share_type` is the strictest sharing type among the resource and the requested items, at submission.
    `clock_id` is the core.calendar clock of the step being waited on (None when nobody is waited on).
    `version` grows at every transition; transitions are conditional updates on the expected status, so of
    two reviewers deciding at once one wins and the other gets a conflict."""

    __tablename__ = "sharing_request"
    __table_args__ = (
        Index("ix_sharing_request_consumer", "consumer_org_id"),
        Index("ix_sharing_request_provider", "provider_org_id"),
        Index("ix_sharing_request_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False, index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    scenario: Mapped[str] = mapped_column(Text, nullable=False)  # 使用场景
    system_name: Mapped[str] = mapped_column(String(200), nullable=False)  # 业务系统名称
    items: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    valid_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[dt.date] = mapped_column(Date, nullable=False)
    share_type: Mapped[str] = mapped_column(String(16), nullable=False)  # unconditional | conditional
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    submitted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_reason: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    settle_reason: Mapped[str | None] = mapped_column(Text)
    applicant: Mapped[str] = mapped_column(String(160), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class SharingGrant(Base):
    """What a consumer may use: consumer × resource × items × purpose × period, until revoked."""

    __tablename__ = "sharing_grant"
    __table_args__ = (Index("ix_sharing_grant_lookup", "consumer_org_id", "resource_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("sharing_request.id"), nullable=False, unique=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False, index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False)
    items: Mapped[list[str]] = mapped_column(JSONType, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")  # active | revoked
    # how the exchange treats this consumer: a masking profile (sharing.masking), rules for single items,
    # and calls per minute (None: the platform default, ZHICHENG_EXCHANGE_RATE_PER_MINUTE)
    masking_profile: Mapped[str] = mapped_column(String(40), nullable=False, default="standard")
    mask_overrides: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False, default=dict)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(160))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

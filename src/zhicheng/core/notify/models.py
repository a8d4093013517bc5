"""The outbox: one row per message to one recipient on one channel.

status: pending (due at `next_attempt_at`) → sending (claimed under a lease by a worker) → delivered, or
back to pending with a backoff after a failure, or dead (dead-lettered) after too many attempts or a
permanent error. Site messages are read in the inbox once delivered; `read_at` marks them read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class Notification(Base):
    __tablename__ = "notification"
    # infrastructure like the job table: the cause that enqueues a message carries the audit record
    __audit_exempt__ = True
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_party_inbox", "recipient_party_id", "channel", "id"),
        Index("ix_notification_user_inbox", "recipient_user_id", "channel", "id"),
        CheckConstraint(
            "recipient_party_id IS NOT NULL OR recipient_user_id IS NOT NULL", name="has_recipient"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recipient_party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # sms | email | site | webhook
    # phone number, e-mail address or webhook URL; None for site messages (and an SMS to nobody's phone)
    address: Mapped[str | None] = mapped_column(String(500))
    template: Mapped[str] = mapped_column(String(80), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    source: Mapped[str | None] = mapped_column(String(160))  # the cause, e.g. "approvals:case:12"
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    lock_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(100))  # the gateway's message id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

"""Quality issues (data overdue against its update cycle), corrections reported by consumers, and catalog
maintenance tasks opened by the data authority."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, UTCDateTime


class QualityIssue(Base):
    """One spell of a resource's data being overdue against its update cycle (kind "stale").

    Created once when the sweep finds the data older than its cycle (plus a grace), cleared by the sweep when
    the data is updated again (or the resource is retired, or its cycle no longer fixed). `open_key` is
    "<kind>:<resource id>" while the issue is open and NULL once cleared: its unique constraint keeps one
    open issue per resource and kind even when two sweeps run at once. A later overdue spell is a new row."""

    __tablename__ = "quality_issue"
    __table_args__ = (Index("ix_quality_issue_provider", "provider_org_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # stale
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False, index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    update_cycle: Mapped[str] = mapped_column(String(16), nullable=False)  # the cycle when flagged
    source: Mapped[str] = mapped_column(
        String(16), nullable=False
    )  # dataset | catalog: where `last` came from
    last_update_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)  # last update + cycle
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cleared_reason: Mapped[str | None] = mapped_column(String(16))  # updated | cycle | retired


class QualityCorrection(Base):
    """A consumer department's report of wrong data (数据纠错) in a resource, and the provider's answer.

    status: submitted → corrected | rejected. The provider answers on a working-day clock (`clock_id`,
    stopped by the answer); an unanswered report past its due date is escalated to the data authority.
    `version` grows at every transition; answers are conditional updates on status and version, so of two
    answers at once one wins and the other gets a conflict."""

    __tablename__ = "quality_correction"
    __table_args__ = (
        Index("ix_quality_correction_consumer", "consumer_org_id"),
        Index("ix_quality_correction_provider", "provider_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False, index=True)
    consumer_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    item: Mapped[str] = mapped_column(String(100), nullable=False)
    record_key: Mapped[str] = mapped_column(String(200), nullable=False)  # the row's key or record id
    problem: Mapped[str] = mapped_column(Text, nullable=False)  # what is wrong
    suggested: Mapped[str | None] = mapped_column(Text)  # the value the consumer believes right
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    submitted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reporter: Mapped[str] = mapped_column(String(160), nullable=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)  # the provider's note, or its reasons for rejecting
    answered_by: Mapped[str | None] = mapped_column(String(160))
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column()  # answered by the due date
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class MaintenanceTask(Base):
    """A catalog entry that must be brought up to date after a legal or functional change, within 15
    working days (国发〔2016〕51号, unconfirmed national figure).

    status: open → done (the resource got a catalog version after `opened_version`; closed by the sweep) |
    cancelled (by the data authority, with reasons). Overdue open tasks are escalated like corrections.
    `open_key` ("task:<resource id>" while open, NULL after) keeps one open task per resource."""

    __tablename__ = "quality_task"
    __table_args__ = (Index("ix_quality_task_provider", "provider_org_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False, index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    opened_by: Mapped[str] = mapped_column(String(160), nullable=False)
    opened_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    opened_version: Mapped[int] = mapped_column(Integer, nullable=False)  # the resource's version then
    clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_version: Mapped[int | None] = mapped_column(Integer)  # the version that did the maintenance
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

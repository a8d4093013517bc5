"""Tables of one-stop services: service items (with their versions), flow versions, uploaded files, cases with
their materials, tasks and timeline, the credit blacklist and escalations.

Due dates live on the core.calendar clocks (which pause, resume and follow calendar edits) and are copied onto
the case and task rows, so that the reviewer inbox and the overdue scan are index range scans even with a
million open cases. services keep the copies in step; the sweep job re-copies after a calendar edit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class ServiceItem(Base):
    """政务服务事项: what can be applied for, who implements it, who really decides it (approval-bureau mode),
    its limits in working days, materials, form and flow. Every change makes a new version (ItemVersion);
    a case keeps the version it was submitted under.

    materials: [{code, name, required, core, rongque, formats, max_mb, template, note}] — `core` is a 主审要件
    that can never be missing; `rongque` marks a non-core material that may arrive after acceptance (容缺).
    form: [{key, label, type, required, max_length}]"""

    __tablename__ = "approval_item"
    __table_args__ = (
        Index("ix_approval_item_org", "org_id"),
        Index("ix_approval_item_decider", "deciding_org_id"),
        Index("ix_approval_item_flow", "flow_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)  # 实施主体
    deciding_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))  # who really decides
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    conditions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    statutory_days: Mapped[int] = mapped_column(Integer, nullable=False)
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    fee: Mapped[str] = mapped_column(Text, nullable=False, default="不收费")
    result_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    certificate_type: Mapped[str | None] = mapped_column(String(100))  # 电子证照类型, None: no certificate
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    form: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    flow_code: Mapped[str] = mapped_column(String(40), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active")  # active | retired
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class ItemVersion(Base):
    """Every version of an item, kept whole: its history, and what a case submitted under it was bound by."""

    __tablename__ = "approval_item_version"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("approval_item.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    changed_fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class FlowVersion(Base):
    """One immutable version of a flow definition (flows.py validates it). Publishing a changed flow adds a
    version; cases point at the version they started with."""

    __tablename__ = "approval_flow"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False, index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(160), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Blob(Base):
    """File content, stored once per SM3 digest, in the database: it commits or rolls back with the case that
    refers to it, so no material is half-written or lost between a disk and the database."""

    __tablename__ = "approval_blob"

    sm3: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Upload(Base):
    """A file an applicant (or a window clerk) uploaded, before it is attached to a case as a material.
    Only its uploader (`owner`, the actor label) may attach it."""

    __tablename__ = "approval_upload"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sm3: Mapped[str] = mapped_column(ForeignKey("approval_blob.sm3"), nullable=False, index=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    extension: Mapped[str] = mapped_column(String(10), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    owner: Mapped[str] = mapped_column(String(160), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Case(Base):
    """办件: one application for one item, by one party, on the flow version it started with.

    status (vocab.CASE_STATUS): submitted → in_progress (accepted) | refused | correcting (补正, the clock
    paused) ; in_progress ⇄ suspended (hearing, testing, expert review) ; → delivering (decided: approved) |
    rejected → completed ; terminated when 容缺 materials do not arrive in time. `stage` is the flow stage
    the case is in. The clocks (core.calendar) start at acceptance for the promised and statutory limits; each
    stage has its own; a 容缺 acceptance starts the supplement clock. `*_due_on` copy their due dates.
    `version` grows at every change: writers lock the row and compare it."""

    __tablename__ = "approval_case"
    __table_args__ = (
        UniqueConstraint("party_id", "client_token"),
        Index("ix_approval_case_party", "party_id", "id"),
        Index("ix_approval_case_window", "window_org_id", "status", "id"),
        Index("ix_approval_case_due", "status", "promised_due_on"),
        # the overdue scan: a partial index, because `escalated_at IS NULL` as a key column would not let
        # PostgreSQL read the rows in (due date, id) order; it would fetch every overdue row and sort them
        Index(
            "ix_approval_case_unescalated",
            "status",
            "promised_due_on",
            "id",
            postgresql_where=text("escalated_at IS NULL"),
            sqlite_where=text("escalated_at IS NULL"),
        ),
        Index("ix_approval_case_supplement", "status", "supplement_due_on"),
        Index("ix_approval_case_decided", "decided_on"),
        Index("ix_approval_case_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("approval_item.id"), nullable=False)
    item_version: Mapped[int] = mapped_column(Integer, nullable=False)
    flow_id: Mapped[int] = mapped_column(ForeignKey("approval_flow.id"), nullable=False)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), nullable=False)
    applicant_name: Mapped[str] = mapped_column(String(100), nullable=False)
    client_token: Mapped[str | None] = mapped_column(String(80))  # the Idempotency-Key of the submission
    submitted_by: Mapped[str] = mapped_column(String(160), nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    window_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    promised_days: Mapped[int] = mapped_column(Integer, nullable=False)
    statutory_days: Mapped[int] = mapped_column(Integer, nullable=False)
    submitted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    stage_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    promised_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    statutory_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    supplement_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    stage_due_on: Mapped[dt.date | None] = mapped_column(Date)
    promised_due_on: Mapped[dt.date | None] = mapped_column(Date)
    statutory_due_on: Mapped[dt.date | None] = mapped_column(Date)
    supplement_due_on: Mapped[dt.date | None] = mapped_column(Date)
    rongque: Mapped[bool] = mapped_column(nullable=False, default=False)  # accepted with materials missing
    rongque_missing: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    supplements_done_on: Mapped[dt.date | None] = mapped_column(Date)
    # what the applicant was asked to correct: {"materials": [...], "fields": [...], "note": ..., "on": ...}
    correction: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pause_reason: Mapped[str | None] = mapped_column(String(16))  # vocab.PAUSE_REASONS, while paused
    paused_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16))  # approved | rejected
    reason: Mapped[str | None] = mapped_column(Text)  # of a refusal, a rejection or a termination
    certificate_no: Mapped[str | None] = mapped_column(String(64))
    delivery_method: Mapped[str | None] = mapped_column(String(10))
    tracking_no: Mapped[str | None] = mapped_column(String(60))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class CaseMaterial(Base):
    """A file attached to a case for one of its item's materials. A correction or a 容缺 supplement adds a
    row and marks the earlier one superseded: nothing an applicant handed in is ever dropped."""

    __tablename__ = "approval_material"
    __table_args__ = (Index("ix_approval_material_case", "case_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    sm3: Mapped[str] = mapped_column(ForeignKey("approval_blob.sm3"), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    supplement: Mapped[bool] = mapped_column(nullable=False, default=False)  # arrived after submission
    superseded: Mapped[bool] = mapped_column(nullable=False, default=False)
    added_by: Mapped[str] = mapped_column(String(160), nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Task(Base):
    """Work one organization owes a case in one stage: a review (one per department of a joint review, all
    opened together), the decision, or the delivery. `queue` says which permission acts on it (review, decide,
    deliver); `due_on` copies the stage clock's due date so that the inbox sorts by an index."""

    __tablename__ = "approval_task"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", "round", "org_id"),
        Index("ix_approval_task_inbox", "org_id", "queue", "status", "due_on", "id"),
        Index(  # partial, as ix_approval_case_unescalated
            "ix_approval_task_unescalated",
            "status",
            "due_on",
            "id",
            postgresql_where=text("escalated_at IS NULL"),
            sqlite_where=text("escalated_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), nullable=False)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # review | joint_review | decide | deliver
    queue: Mapped[str] = mapped_column(String(10), nullable=False)  # review | decide | deliver
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # a stage returned to runs again
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    concluded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    concluded_by: Mapped[str | None] = mapped_column(String(160))
    reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CaseEvent(Base):
    """The timeline of a case (全程留痕). `public` events are shown to the applicant; internal ones
    (assignments, escalations) to staff only."""

    __tablename__ = "approval_event"
    __table_args__ = (Index("ix_approval_event_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)  # the (Shanghai) day it counts on
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    stage: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    public: Mapped[bool] = mapped_column(nullable=False, default=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class BlacklistEntry(Base):
    """A party on a credit blacklist (失信名单): no 容缺受理 for it while the entry is active. `open_key` is
    "<kind>:<number>" while active and NULL once lifted, so one number has one active entry."""

    __tablename__ = "approval_blacklist"
    __table_args__ = (Index("ix_approval_blacklist_number", "kind", "id_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # citizen | enterprise
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(100), nullable=False)
    listed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    listed_by: Mapped[str] = mapped_column(String(160), nullable=False)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)


class Escalation(Base):
    """督办: a case past its promised limit, or a task past its stage budget, flagged to the supervisors of
    `org_id` (the late organization). A supervisor acknowledges it with an instruction."""

    __tablename__ = "approval_escalation"
    __table_args__ = (Index("ix_approval_escalation_open", "org_id", "acked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), nullable=False, index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("approval_task.id"))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # case | task
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    raised_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(160))
    instruction: Mapped[str | None] = mapped_column(Text)


# 好差评 ratings live in their own file; imported here so that every approvals table is known with these
from zhicheng.approvals.rating_models import Rating, Rectification  # noqa: E402,F401

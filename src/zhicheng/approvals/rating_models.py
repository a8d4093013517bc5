"""Tables of 好差评 (国办发〔2019〕51号): one rating per finished case, and for each bad rating
(不满意, 非常不满意) one rectification task (整改) owed by the responsible department, on a working-day
clock, with the follow-up visit (回访) that closes it or reopens it.

The rating copies the case's item, implementing department, deciding org and window, so that the statistics
by item, department and window are index range scans over the rating day without joining the cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class Rating(Base):
    """好差评: level 5 非常满意 … 1 非常不满意 (vocab in ratings.LEVELS); ≤ 2 is a bad review (差评).
    `org_id` is the implementing department (实施主体) of the item; `channel` where it was given
    (online, window, sms, hotline, app)."""

    __tablename__ = "approval_rating"
    __table_args__ = (
        Index("ix_approval_rating_day", "rated_on"),
        Index("ix_approval_rating_item", "item_id", "rated_on"),
        Index("ix_approval_rating_org", "org_id", "rated_on"),
        Index("ix_approval_rating_window", "window_org_id", "rated_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), unique=True, nullable=False)
    item_id: Mapped[int] = mapped_column(ForeignKey("approval_item.id"), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)  # implementing department
    deciding_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    window_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)  # 1..5
    channel: Mapped[str] = mapped_column(String(12), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rated_by: Mapped[str] = mapped_column(String(160), nullable=False)
    rated_on: Mapped[dt.date] = mapped_column(Date, nullable=False)  # Shanghai day
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Rectification(Base):
    """整改: the task a bad rating opens for the responsible department. status: open → answered (整改情况
    given) → closed (回访 satisfied) | reopened (回访 unsatisfied: a new round on a new clock, answered
    again).
    `due_on` copies the clock's due date; `escalated_at` is set once per round by the overdue sweep.
    `history` keeps every earlier round: [{round, answer, answered_by, answered_at, result, note, by, at}]."""

    __tablename__ = "approval_rectification"
    __table_args__ = (
        Index("ix_approval_rectification_org", "org_id", "status", "due_on"),
        Index("ix_approval_rectification_unescalated", "status", "escalated_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("approval_rating.id"), unique=True, nullable=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("approval_case.id"), nullable=False, index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)  # responsible department
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)  # 整改情况
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(160))
    follow_up_result: Mapped[str | None] = mapped_column(String(12))  # satisfied | unsatisfied
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    followed_up_by: Mapped[str | None] = mapped_column(String(160))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)

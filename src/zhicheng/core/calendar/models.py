from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core import cache
from zhicheng.core.db import Base, BigId, UTCDateTime

GENERATION = "calendar"  # changed by every write to the calendar's tables: cached calendars reload (queries)


class CalendarDay(Base):
    """An exception to the weekend rule: a weekday holiday or a weekend adjusted workday (调休)."""

    __tablename__ = "calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # holiday | workday
    name: Mapped[str] = mapped_column(String(40), nullable=False, default="")


class CalendarYear(Base):
    """Whether a year's arrangement is published; unpublished years count weekends only (provisional)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    published: Mapped[bool] = mapped_column(nullable=False, default=False)
    source: Mapped[str] = mapped_column(String(40), nullable=False, default="manual")
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Clock(Base):
    """A deadline that counts working days from a start and stops while paused.

    Modules keep one per thing that has a legal limit (a request, a case, a review) and name it by
    `owner` (module:subject) and `subject` (its id). `due_on` is recomputed whenever the clock pauses,
    resumes, or the calendar of a year it touches changes; `provisional` says it rests on an unpublished
    year."""

    __tablename__ = "clock"
    __table_args__ = (
        Index("ix_clock_owner_subject", "owner", "subject"),
        Index("ix_clock_state_due", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(60), nullable=False)
    subject: Mapped[str] = mapped_column(String(100), nullable=False)
    started_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    budget_days: Mapped[int] = mapped_column(Integer, nullable=False)
    due_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    provisional: Mapped[bool] = mapped_column(nullable=False, default=False)
    state: Mapped[str] = mapped_column(
        String(10), nullable=False, default="running"
    )  # running | paused | stopped
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)


class ClockPause(Base):
    __tablename__ = "clock_pause"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    clock_id: Mapped[int] = mapped_column(
        ForeignKey("clock.id", ondelete="CASCADE"), nullable=False, index=True
    )
    paused_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    resumed_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(60), nullable=False)


cache.watch(GENERATION, CalendarDay.__tablename__, CalendarYear.__tablename__)

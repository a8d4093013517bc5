"""Reads of the calendar and of clocks, shared by the API, the console, the CLI and other modules.

`calendar(s)` gives the working-day `Calendar` in force. It is cached in the process, keyed on a cheap
fingerprint of the database: every row of `calendar_year` (year, published, published_at) and the number of
exception days. Every edit that can change the arithmetic changes that fingerprint — publishing sets
published_at, and an edit of a published year's day sets it again (see services) — so an edit committed by
another process, or made earlier in the caller's own transaction, is seen on the next call.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhicheng.core.calendar.clock import Calendar, Deadline, clock_status
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import CalendarDay, CalendarYear, Clock, ClockPause
from zhicheng.core.errors import NotFound

_CACHE: OrderedDict[tuple[Any, ...], Calendar] = OrderedDict()
_LOCK = threading.Lock()
_KEEP = 8  # a few databases per process at most (tests open several)


def _fingerprint(s: Session) -> tuple[Any, ...]:
    stmt = select(CalendarYear.year, CalendarYear.published, CalendarYear.published_at)
    years = tuple(tuple(row) for row in s.execute(stmt.order_by(CalendarYear.year)))
    days = s.scalar(select(func.count()).select_from(CalendarDay))
    return (str(s.get_bind().engine.url), years, days)


def calendar(s: Session) -> Calendar:
    """The calendar in force: published years with their exceptions; drafts of unpublished years left out."""
    key = _fingerprint(s)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    published = [year for year, is_published, _ in key[1] if is_published]
    rows = [tuple(row) for row in s.execute(select(CalendarDay.day, CalendarDay.kind))]
    cal = Calendar.build(published, rows)
    if _fingerprint(s) != key:
        # another transaction committed between our statements (read committed): what we read is at least
        # as new as `key`, but must not be remembered under it
        return cal
    with _LOCK:
        _CACHE[key] = cal
        while len(_CACHE) > _KEEP:
            _CACHE.popitem(last=False)
    return cal


def add_workdays(s: Session, start: dt.date, n: int) -> Deadline:
    return calendar(s).add_workdays(start, n)


@dataclass(frozen=True)
class YearView:
    year: int
    published: bool
    source: str | None
    published_at: dt.datetime | None
    days: list[CalendarDay]


def year(s: Session, year: int) -> YearView:
    """A year's exceptions (drafts included, for an unpublished year) and whether it is published."""
    row = s.get(CalendarYear, year)
    within = (CalendarDay.day >= dt.date(year, 1, 1)) & (CalendarDay.day <= dt.date(year, 12, 31))
    days = list(s.scalars(select(CalendarDay).where(within).order_by(CalendarDay.day)))
    return YearView(
        year,
        bool(row and row.published),
        row.source if row else None,
        row.published_at if row else None,
        days,
    )


def years(s: Session) -> list[CalendarYear]:
    return list(s.scalars(select(CalendarYear).order_by(CalendarYear.year)))


def clock(s: Session, clock_id: int) -> Clock:
    found = s.get(Clock, clock_id)
    if found is None:
        raise NotFound(f"计时器 {clock_id} 不存在", f"clock {clock_id} does not exist")
    return found


def pauses(s: Session, clock_id: int) -> list[ClockPause]:
    return list(s.scalars(select(ClockPause).where(ClockPause.clock_id == clock_id).order_by(ClockPause.id)))


def clocks_of(s: Session, owner: str, subject: str) -> list[Clock]:
    stmt = select(Clock).where(Clock.owner == owner, Clock.subject == subject).order_by(Clock.id)
    return list(s.scalars(stmt))


def remaining_workdays(s: Session, clock: Clock, today: dt.date | None = None) -> int | None:
    """Working days left on `clock` (negative when overdue); None once stopped.

    A paused clock is frozen: it reports what was left on the day it paused."""
    if clock.state == "stopped":
        return None
    on = today or shanghai_today()
    if clock.state == "paused":
        open_pause = s.scalar(
            select(ClockPause.paused_on).where(
                ClockPause.clock_id == clock.id, ClockPause.resumed_on.is_(None)
            )
        )
        if open_pause is not None:
            on = open_pause
    return calendar(s).remaining(clock.due_on, on)


def status(s: Session, clock: Clock, today: dt.date | None = None, warn_days: int = 2) -> str:
    """ok | warning (due within warn_days working days) | overdue | stopped."""
    return clock_status(remaining_workdays(s, clock, today), clock.state == "stopped", warn_days)

"""Reads of the calendar and of clocks, shared by the API, the console, the CLI and other modules.

`calendar(s)` gives the working-day `Calendar` in force, built once per "calendar" generation (core.cache:
every ORM write to calendar_day or calendar_year changes it when its transaction commits) and cached in the
process; a transaction then keeps the one it read for its remaining clock operations, so it costs one
indexed read of the generations per transaction, however many clocks a step starts or stops. An edit
committed by another process is seen by the next transaction. An edit made earlier in the caller's own
transaction (whose generation changes only at commit) is read from the tables, never cached nor kept.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from zhicheng.core import cache
from zhicheng.core.calendar.clock import Calendar, Deadline, clock_status
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import GENERATION, CalendarDay, CalendarYear, Clock, ClockPause
from zhicheng.core.db import per_transaction
from zhicheng.core.errors import NotFound

_CACHE: dict[str, tuple[int, Calendar]] = {}  # database URL → (generation, calendar)
_LOCK = threading.Lock()
_KEEP = 8  # a few databases per process at most (tests open several)
_TABLES = (CalendarDay, CalendarYear)
_KEPT = per_transaction("zc_calendar")  # session.info: the calendar this transaction read
# session.info: this transaction wrote calendar_day or calendar_year (its own until the outermost one ends)
_EDITED = per_transaction("zc_calendar_edited", savepoints=False)


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if any(isinstance(o, _TABLES) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_EDITED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: Any) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in _TABLES:
            state.session.info[_EDITED] = True


def calendar(s: Session) -> Calendar:
    """The calendar in force: published years with their exceptions; drafts of unpublished years left out."""
    if s.info.get(_EDITED) or any(isinstance(o, _TABLES) for o in (*s.new, *s.dirty, *s.deleted)):
        return _build(s)  # the query flushes a pending edit first
    kept = s.info.get(_KEPT)
    if kept is not None:
        return kept
    url = str(s.get_bind().engine.url)
    generation = cache.generations(s).get(GENERATION, 0)
    found = _CACHE.get(url)
    if found is not None and found[0] == generation:
        cal = found[1]
    else:
        cal = _build(s)
        # another transaction may have committed an edit between our statements (read committed): what we
        # read is then newer than `generation` and must not be remembered under it
        if cache.generations(s).get(GENERATION, 0) == generation:
            with _LOCK:
                _CACHE.pop(url, None)
                while len(_CACHE) >= _KEEP:
                    _CACHE.pop(next(iter(_CACHE)))
                _CACHE[url] = (generation, cal)
    s.info[_KEPT] = cal
    return cal


def _build(s: Session) -> Calendar:
    published = s.scalars(select(CalendarYear.year).where(CalendarYear.published.is_(True)))
    return Calendar.build(
        list(published), [tuple(row) for row in s.execute(select(CalendarDay.day, CalendarDay.kind))]
    )


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

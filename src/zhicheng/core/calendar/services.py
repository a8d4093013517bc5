"""Writes to the calendar and to clocks: the seed from the chinesecalendar package, administrators' edits,
and the clocks modules start, pause, resume and stop. Every write is audited in the caller's unit of work.

Any edit of a year (a day set or unset, the year published) recomputes, in the same transaction, every
running or paused clock whose due date is provisional or whose counted days touch that year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import chinese_calendar
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from zhicheng.core.calendar import queries
from zhicheng.core.calendar.clock import MAX_YEAR, MIN_YEAR, Calendar, Pause, check_year
from zhicheng.core.calendar.models import CalendarDay, CalendarYear, Clock, ClockPause
from zhicheng.core.db import UnitOfWork, per_transaction, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound

SEED_FROM = 2019  # older years matter to no open deadline
KINDS = ("holiday", "workday")
WEEKDAYS_ZH = "一二三四五六日"


def seed_from_package(uow: UnitOfWork) -> int:
    """Load the published years the package carries that the table does not have yet; returns years added."""
    s = uow.session
    have = set(s.scalars(select(CalendarYear.year)))
    years = sorted({d.year for d in chinese_calendar.holidays} - have)
    years = [y for y in years if y >= SEED_FROM]
    for year in years:
        for day, name in chinese_calendar.holidays.items():
            if day.year == year and day.weekday() < 5:
                s.add(CalendarDay(day=day, kind="holiday", name=_name(name)))
        for day, name in chinese_calendar.workdays.items():
            if day.year == year and day.weekday() >= 5:
                s.add(CalendarDay(day=day, kind="workday", name=_name(name)))
        s.add(CalendarYear(year=year, published=True, source="chinesecalendar", published_at=utcnow()))
    if years:
        uow.record("calendar:year:seed", f"years:{years[0]}-{years[-1]}", {"years": years})
    return len(years)


ZH_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _name(value: object) -> str:
    """The package names holidays in English; the table keeps the Chinese name (调休 for plain ones)."""
    text = str(getattr(value, "value", value) or "")
    return ZH_NAMES.get(text, text)[:40] or "调休"


# --- administrators' edits -------------------------------------------------------------------------------


def set_day(uow: UnitOfWork, day: dt.date, kind: str, name: str = "") -> CalendarDay:
    """Mark `day` as a weekday holiday or a weekend adjusted workday (调休); renames an existing exception."""
    check_year(day.year)
    if kind not in KINDS:
        raise Invalid(f"类型应为 holiday 或 workday：{kind!r}", f"kind must be holiday or workday: {kind!r}")
    weekend = day.weekday() >= 5
    label = f"{day.isoformat()}（星期{WEEKDAYS_ZH[day.weekday()]}）"
    if kind == "holiday" and weekend:
        raise Invalid(
            f"{label}本是休息日，无需设为节假日", f"{day} is a weekend day already; it is no exception"
        )
    if kind == "workday" and not weekend:
        raise Invalid(
            f"{label}本是工作日，调休上班日只能设在周末",
            f"{day} is a weekday already; an adjusted workday falls on a weekend",
        )
    name = " ".join((name or "").split())
    if kind == "workday" and not name:
        name = "调休"
    if not name:
        raise Invalid("请填写节假日名称", "a holiday needs a name")
    if len(name) > 40:
        raise Invalid("名称最长 40 个字", "the name is at most 40 characters")
    s = uow.session
    row = s.get(CalendarDay, day)
    before = {"kind": row.kind, "name": row.name} if row else None
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name)
        s.add(row)
    else:
        row.kind, row.name = kind, name
    _touch_year(uow, day.year)
    uow.record("calendar:day:set", f"day:{day.isoformat()}", {"kind": kind, "name": name, "before": before})
    recompute_year(uow, day.year)
    return row


def unset_day(uow: UnitOfWork, day: dt.date) -> None:
    """Remove an exception: the day follows the weekend rule again."""
    check_year(day.year)
    s = uow.session
    row = s.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 不是节假日或调休日", f"{day} is not an exception in the calendar")
    before = {"kind": row.kind, "name": row.name}
    s.delete(row)
    _touch_year(uow, day.year)
    uow.record("calendar:day:unset", f"day:{day.isoformat()}", {"before": before})
    recompute_year(uow, day.year)


def publish_year(uow: UnitOfWork, year: int) -> tuple[CalendarYear, int]:
    """Put a year's arrangement in force; returns the year and how many clocks moved."""
    check_year(year)
    s = uow.session
    row = s.get(CalendarYear, year, with_for_update=True)  # two administrators publishing: one wins
    if row is not None and row.published:
        raise Conflict(f"{year} 年的安排已经发布", f"the arrangement for {year} is already published")
    count = len(queries.year(s, year).days)
    if not count:
        # every real year has 元旦 and 春节: publishing an empty year would make it silently wrong
        raise Invalid(
            f"{year} 年尚未录入任何节假日，不能发布",
            f"no holidays are entered for {year}; nothing to publish",
        )
    if row is None:
        row = CalendarYear(year=year, source="manual")
        s.add(row)
    row.published, row.published_at = True, utcnow()
    uow.record("calendar:year:publish", f"year:{year}", {"days": count})
    return row, recompute_year(uow, year)


def _touch_year(uow: UnitOfWork, year: int) -> None:
    """Keep a row for every year that has exceptions. An edit of a published year is a correction that is in
    force at once: it sets published_at again, which is also what tells cached calendars to reload."""
    s = uow.session
    row = s.get(CalendarYear, year)
    if row is None:
        s.add(CalendarYear(year=year, published=False, source="manual"))
    elif row.published:
        row.published_at = utcnow()
    s.flush()


# --- clocks ------------------------------------------------------------------------------------------------
# A transaction locks a clock once: the clocks it locked or started are held in session.info with their pauses
# (nobody else can move them until it ends), so a step that stops several clocks, or the same one twice, reads
# each once. Forgotten when the transaction ends.
_HELD = per_transaction("zc_clocks_held")


def _held(s: Session) -> dict[int, tuple[Clock, list[ClockPause]]]:
    return s.info.setdefault(_HELD, {})


def start_clock(uow: UnitOfWork, owner: str, subject: str, started_on: dt.date, budget_days: int) -> Clock:
    """Start a clock of `budget_days` working days counted from the day after `started_on`."""
    return start_clocks(uow, [(owner, subject, started_on, budget_days)])[0]


def start_clocks(uow: UnitOfWork, specs: Sequence[tuple[str, str, dt.date, int]]) -> list[Clock]:
    """Start several clocks, each (owner, subject, started_on, budget_days), inserted together."""
    s = uow.session
    cal = queries.calendar(s)
    rows = []
    for owner, subject, started_on, budget_days in specs:
        owner, subject = (owner or "").strip(), str(subject or "").strip()
        if not owner or len(owner) > 60 or not subject or len(subject) > 100:
            raise Invalid(
                "计时器需要归属（最长 60 字）和对象（最长 100 字）",
                "a clock needs an owner (≤60) and a subject (≤100)",
            )
        _check_date(started_on)
        deadline = cal.add_workdays(started_on, budget_days)
        rows.append(
            Clock(
                owner=owner,
                subject=subject,
                started_on=started_on,
                budget_days=budget_days,
                due_on=deadline.date,
                provisional=deadline.provisional,
                state="running",
            )
        )
    s.add_all(rows)
    s.flush()
    held = _held(s)
    for clock in rows:
        held[clock.id] = (clock, [])
        uow.note(
            "calendar:clock:start",
            f"clock:{clock.id}",
            {
                "owner": clock.owner,
                "subject": clock.subject,
                "started_on": clock.started_on.isoformat(),
                "budget_days": clock.budget_days,
                "due_on": clock.due_on.isoformat(),
                "provisional": clock.provisional,
            },
        )
    return rows


def pause_clock(uow: UnitOfWork, clock_id: int, on: dt.date, reason: str) -> Clock:
    """Stop the count from the day after `on` (e.g. while the applicant supplies materials)."""
    clock, pauses = _one(uow, clock_id)
    _pause(uow, clock, pauses, on, reason)
    return clock


def resume_clock(uow: UnitOfWork, clock_id: int, on: dt.date) -> Clock:
    """Restart the count: the working days d with paused_on < d <= on do not count."""
    clock, pauses = _one(uow, clock_id)
    _resume(uow, clock, pauses, on)
    return clock


def stop_clock(uow: UnitOfWork, clock_id: int, on: dt.date) -> Clock:
    """The work is done (or withdrawn): the clock stops; an open pause ends on the same day."""
    clock, pauses = _one(uow, clock_id)
    _stop(uow, clock, pauses, on)
    return clock


# For a module that keeps several clocks per thing (a case's limits and stage): each acts on those of the
# clocks in the state it applies to and leaves the others alone, in the order given, from one locked read.
# Pausing and stopping happen on `on` or, when a pause began or ended later, on that day (a service acting
# for a day already past, e.g. the worker catching up). Unknown ids are skipped.


def pause_running(uow: UnitOfWork, clock_ids: Sequence[int], on: dt.date, reason: str) -> list[Clock]:
    """Pause the running clocks among `clock_ids`; returns the clocks found."""
    found = _lock(uow, clock_ids)
    for clock, pauses in found.values():
        if clock.state == "running":
            _pause(uow, clock, pauses, max(on, _last_day(clock, pauses)), reason)
    return [clock for clock, _ in found.values()]


def resume_paused(uow: UnitOfWork, clock_ids: Sequence[int], on: dt.date) -> list[Clock]:
    """Resume the paused clocks among `clock_ids` on `on`; returns the clocks found."""
    found = _lock(uow, clock_ids)
    for clock, pauses in found.values():
        if clock.state == "paused":
            _resume(uow, clock, pauses, on)
    return [clock for clock, _ in found.values()]


def stop_running(uow: UnitOfWork, clock_ids: Sequence[int], on: dt.date) -> list[Clock]:
    """Stop the clocks among `clock_ids` not stopped yet; returns the clocks found (stopped now or before)."""
    found = _lock(uow, clock_ids)
    for clock, pauses in found.values():
        if clock.state != "stopped":
            _stop(uow, clock, pauses, max(on, _last_day(clock, pauses)))
    return [clock for clock, _ in found.values()]


def _last_day(clock: Clock, pauses: list[ClockPause]) -> dt.date:
    """The earliest day a clock may pause or stop on: its start, or the last day one of its pauses began or
    ended."""
    return max(
        [clock.started_on, *(p.paused_on for p in pauses), *(p.resumed_on for p in pauses if p.resumed_on)]
    )


def _pause(uow: UnitOfWork, clock: Clock, pauses: list[ClockPause], on: dt.date, reason: str) -> None:
    if clock.state != "running":
        raise Conflict(
            f"计时器 {clock.id} 当前为{_STATE_ZH[clock.state]}，不能暂停",
            f"clock {clock.id} is {clock.state}; cannot pause",
        )
    _check_date(on)
    last = max([clock.started_on, *(p.resumed_on for p in pauses if p.resumed_on)])
    if on < last:
        raise Invalid(f"暂停日期不能早于 {last.isoformat()}", f"the pause cannot begin before {last}")
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 60:
        raise Invalid("请填写暂停原因（最长 60 字）", "a pause needs a reason (at most 60 characters)")
    pause = ClockPause(clock_id=clock.id, paused_on=on, reason=reason)
    uow.session.add(pause)
    pauses.append(pause)
    clock.state = "paused"
    uow.record("calendar:clock:pause", f"clock:{clock.id}", {"on": on.isoformat(), "reason": reason})
    _recompute(uow, clock, pauses)


def _resume(uow: UnitOfWork, clock: Clock, pauses: list[ClockPause], on: dt.date) -> None:
    if clock.state != "paused":
        raise Conflict(
            f"计时器 {clock.id} 当前为{_STATE_ZH[clock.state]}，不能恢复",
            f"clock {clock.id} is {clock.state}; cannot resume",
        )
    _check_date(on)
    open_pause = next((p for p in pauses if p.resumed_on is None), None)
    if open_pause is None:
        raise Conflict(f"计时器 {clock.id} 没有未结束的暂停", f"clock {clock.id} has no open pause")
    if on < open_pause.paused_on:
        raise Invalid(
            f"恢复日期不能早于暂停日期 {open_pause.paused_on.isoformat()}",
            f"the clock cannot resume before it paused on {open_pause.paused_on}",
        )
    open_pause.resumed_on = on
    clock.state = "running"
    uow.record(
        "calendar:clock:resume",
        f"clock:{clock.id}",
        {"on": on.isoformat(), "paused_on": open_pause.paused_on.isoformat()},
    )
    _recompute(uow, clock, pauses)


def _stop(uow: UnitOfWork, clock: Clock, pauses: list[ClockPause], on: dt.date) -> None:
    if clock.state == "stopped":
        raise Conflict(f"计时器 {clock.id} 已停止", f"clock {clock.id} is already stopped")
    _check_date(on)
    last = max([clock.started_on, *(p.paused_on for p in pauses)])
    if on < last:
        raise Invalid(f"停止日期不能早于 {last.isoformat()}", f"the clock cannot stop before {last}")
    for p in pauses:
        if p.resumed_on is None:
            p.resumed_on = on
    _recompute(uow, clock, pauses, audit=False)
    clock.state, clock.stopped_on = "stopped", on
    uow.note(
        "calendar:clock:stop", f"clock:{clock.id}", {"on": on.isoformat(), "due_on": clock.due_on.isoformat()}
    )


_STATE_ZH = {"running": "计时中", "paused": "暂停状态", "stopped": "已停止"}


def _check_date(d: dt.date) -> None:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise Invalid(
            f"日期应在 {MIN_YEAR}–{MAX_YEAR} 年之间：{d}",
            f"the date must lie within {MIN_YEAR}-{MAX_YEAR}: {d}",
        )


def _one(uow: UnitOfWork, clock_id: int) -> tuple[Clock, list[ClockPause]]:
    found = _lock(uow, [clock_id]).get(clock_id)
    if found is None:
        raise NotFound(f"计时器 {clock_id} 不存在", f"clock {clock_id} does not exist")
    return found


# built once (every step of a case moves clocks): building a statement costs more than running it on SQLite
_LOCK_CLOCKS = (
    select(Clock)
    .where(Clock.id.in_(bindparam("ids", expanding=True)))
    .order_by(Clock.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)
_PAUSES_OF = (
    select(ClockPause)
    .where(ClockPause.clock_id.in_(bindparam("ids", expanding=True)))
    .order_by(ClockPause.id)
    .execution_options(populate_existing=True)
)


def _lock(uow: UnitOfWork, clock_ids: Sequence[int]) -> dict[int, tuple[Clock, list[ClockPause]]]:
    """The clocks that exist among `clock_ids`, in that order, with their pauses, locked against a concurrent
    pause, resume or stop (SELECT … FOR UPDATE, in id order; SQLite serializes writers anyway)."""
    s = uow.session
    held = _held(s)
    missing = sorted({i for i in clock_ids if i not in held})
    if missing:
        clocks = s.scalars(_LOCK_CLOCKS, {"ids": missing}).all()
        if clocks:
            pauses: dict[int, list[ClockPause]] = {c.id: [] for c in clocks}
            for p in s.scalars(_PAUSES_OF, {"ids": list(pauses)}):
                pauses[p.clock_id].append(p)
            held.update((c.id, (c, pauses[c.id])) for c in clocks)
    return {i: held[i] for i in dict.fromkeys(clock_ids) if i in held}


def _recompute(
    uow: UnitOfWork,
    clock: Clock,
    pauses: Sequence[ClockPause],
    audit: bool = True,
    cal: Calendar | None = None,
) -> bool:
    """Set due_on and provisional from the calendar in force; True (and audited) if either changed."""
    spans: list[Pause] = [(p.paused_on, p.resumed_on) for p in pauses]
    deadline = (cal or queries.calendar(uow.session)).due_with_pauses(
        clock.started_on, clock.budget_days, spans
    )
    if (deadline.date, deadline.provisional) == (clock.due_on, clock.provisional):
        return False
    before = (clock.due_on, clock.provisional)
    clock.due_on, clock.provisional = deadline.date, deadline.provisional
    if audit:
        uow.record(
            "calendar:clock:recompute",
            f"clock:{clock.id}",
            {
                "due_on": [before[0].isoformat(), deadline.date.isoformat()],
                "provisional": [before[1], deadline.provisional],
            },
        )
    return True


def recompute_year(uow: UnitOfWork, year: int) -> int:
    """Recompute the running and paused clocks that an edit of `year` can move; returns how many moved."""
    s = uow.session
    s.flush()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    # a pause resumed in the year counts that year's days too, even past the due date of an overdue clock
    paused_into = select(ClockPause.clock_id).where(ClockPause.resumed_on >= first)
    touching = s.scalars(
        select(Clock)
        .where(
            Clock.state.in_(("running", "paused")),
            Clock.started_on <= last,
            or_(Clock.provisional.is_(True), Clock.due_on >= first, Clock.id.in_(paused_into)),
        )
        .order_by(Clock.id)
    ).all()
    cal = queries.calendar(s)
    return sum(_recompute(uow, clock, queries.pauses(s, clock.id), cal=cal) for clock in touching)

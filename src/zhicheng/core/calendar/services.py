"""Writes to the calendar: the seed from the chinesecalendar package and administrators' edits."""

from __future__ import annotations

import chinese_calendar
from sqlalchemy import select

from zhicheng.core.calendar.models import CalendarDay, CalendarYear
from zhicheng.core.db import UnitOfWork, utcnow

SEED_FROM = 2019  # older years matter to no open deadline


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
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _name(value: object) -> str:
    """The package names holidays in English; the table keeps the Chinese name (调休 for plain adjusted days)."""
    text = str(getattr(value, "value", value) or "")
    return ZH_NAMES.get(text, text)[:40] or "调休"



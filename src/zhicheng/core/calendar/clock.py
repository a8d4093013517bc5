"""Working-day arithmetic on an in-memory calendar. Pure: no database, no clock reads except `today()`.

The rules, in one place:
- A day is a working day when the weekend rule says so (Monday to Friday), unless the calendar of a
  *published* year names it as an exception: a weekday holiday, or a weekend adjusted workday (调休).
- A year that is not published counts weekends only; any result that rests on such a year is `provisional`.
- Counting starts the day after the start: the start day itself is never counted, so 10 working days from
  2026-09-28 is 2026-10-16, and 0 working days from a day is that day.
- A pause from day p to resume day r excludes the working days d with p < d <= r (the clock restarts the day
  after the materials arrive), and the due date moves by that many working days:
  due = start + (budget + working days inside pauses) working days. The clock is frozen while paused: the
  working days left on the pause day are the days left on the resume day, even for a clock already overdue.
  An open pause (not resumed yet) moves nothing until it is resumed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from zhicheng.core.errors import Invalid

ZONE = ZoneInfo("Asia/Shanghai")
ONE = dt.timedelta(days=1)
MAX_WORKDAYS = 5000  # about twenty years; a larger number is a typo, not a legal time limit
MIN_YEAR, MAX_YEAR = 2000, 2100  # the years the calendar can be edited for
MEMO = 4096  # deadlines a calendar remembers (Calendar._deadlines)


def today(now: dt.datetime | None = None) -> dt.date:
    """The date in Asia/Shanghai now (or at the aware instant `now`)."""
    return local_date(now or dt.datetime.now(dt.UTC))


def local_date(ts: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an aware timestamp: 2026-09-30T17:00Z is already 10-01 in Shanghai."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime: pass an aware timestamp (core.db.utcnow)")
    return ts.astimezone(ZONE).date()


def parse_day(text: str) -> dt.date:
    """A YYYY-MM-DD date from user input, or Invalid naming the input."""
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise Invalid(
            f"日期格式应为 YYYY-MM-DD，收到 {text!r}", f"a date must be YYYY-MM-DD, got {text!r}"
        ) from None


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    provisional: bool  # true when some counted day lies in a year whose arrangement is not published


Pause = tuple[dt.date, dt.date | None]  # (paused_on, resumed_on or None while open)


@dataclass(frozen=True)
class Calendar:
    """Published years and their exceptions (those of unpublished years are drafts and left out)."""

    published: frozenset[int] = frozenset()
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    # add_workdays' answers: a calendar is immutable and shared while its generation lasts (queries.calendar),
    # and a day's steps start and stop many clocks from the same day with the same budgets
    _deadlines: dict[tuple[dt.date, int], Deadline] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def build(cls, published: Iterable[int], days: Iterable[tuple[dt.date, str]]) -> Calendar:
        years = frozenset(published)
        kept = [(d, k) for d, k in days if d.year in years]
        holidays = frozenset(d for d, k in kept if k == "holiday")
        return cls(years, holidays, frozenset(d for d, k in kept if k == "workday"))

    def is_published(self, year: int) -> bool:
        return year in self.published

    def is_workday(self, d: dt.date) -> bool:
        if d in self.holidays:
            return False
        if d in self.workdays:
            return True
        return d.weekday() < 5

    def provisional_between(self, a: dt.date, b: dt.date) -> bool:
        """True if a day in (a, b] lies in an unpublished year."""
        if b <= a:
            return False
        return any(y not in self.published for y in range((a + ONE).year, b.year + 1))

    def add_workdays(self, start: dt.date, n: int) -> Deadline:
        """The n-th working day after `start` (start not counted); n=0 gives `start`."""
        found = self._deadlines.get((start, n)) if type(n) is int else None  # True == 1: refused below
        if found is None:
            _check_count(n)
            due = self._walk(start, n)
            found = Deadline(due, self.provisional_between(start, due))
            if len(self._deadlines) >= MEMO:
                self._deadlines.clear()
            self._deadlines[(start, n)] = found
        return found

    def due_with_pauses(self, start: dt.date, n: int, pauses: Sequence[Pause]) -> Deadline:
        """`start` + n working days + the working days inside the closed pauses (which must not overlap).

        Provisional when a counted day, or a day of a pause, lies in an unpublished year."""
        closed = [(p, r) for p, r in pauses if r is not None and r > p]
        if not closed:
            return self.add_workdays(start, n)
        _check_count(n)
        extra = sum(self.workdays_between(p, r) for p, r in closed)
        due = self._walk(start, n + extra)
        end = max([due, *(r for _, r in closed)])
        return Deadline(due, self.provisional_between(start, end))

    def _walk(self, start: dt.date, n: int) -> dt.date:
        d, left = start, n
        try:
            while left:
                d += ONE
                left -= self.is_workday(d)
        except OverflowError:
            raise Invalid("日期超出可计算范围", "the date is out of the range that can be counted") from None
        return d

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days d with a < d <= b; negative (the same count) when b is before a.

        So workdays_between(s, add_workdays(s, n).date) == n."""
        if b < a:
            return -self.workdays_between(b, a)
        count, d = 0, a
        while d < b:
            d += ONE
            count += self.is_workday(d)
        return count

    def remaining(self, due_on: dt.date, on: dt.date) -> int:
        """Working days left until `due_on` as seen on day `on`; negative once past it.

        A day past the due date is always negative, even on the weekend right after a Friday deadline,
        where no working day has passed yet: it is then -1, so that 'overdue' never reads as 'due today'."""
        if on <= due_on:
            return self.workdays_between(on, due_on)
        return min(-1, -self.workdays_between(due_on, on))


def _check_count(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool):
        raise Invalid("工作日数必须是整数", "the number of working days must be an integer")
    if n < 0:
        raise Invalid(f"工作日数不能为负数：{n}", f"the number of working days cannot be negative: {n}")
    if n > MAX_WORKDAYS:
        raise Invalid(
            f"工作日数过大（最多 {MAX_WORKDAYS}）：{n}",
            f"too many working days (at most {MAX_WORKDAYS}): {n}",
        )


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(
            f"年份应在 {MIN_YEAR}–{MAX_YEAR} 之间：{year}",
            f"the year must be within {MIN_YEAR}-{MAX_YEAR}: {year}",
        )
    return year


def clock_status(remaining: int | None, stopped: bool, warn_days: int = 2) -> str:
    """ok | warning (yellow: due within warn_days working days) | overdue (red) | stopped."""
    if stopped or remaining is None:
        return "stopped"
    if remaining < 0:
        return "overdue"
    return "warning" if remaining <= warn_days else "ok"

"""Working-day arithmetic on the pure Calendar: the start day is not counted, unpublished years are
provisional, pauses exclude the working days d with paused_on < d <= resumed_on."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from zhicheng.core.calendar.clock import Calendar, clock_status, local_date, parse_day, today
from zhicheng.core.errors import Invalid

D = dt.date


def package_calendar(*years: int) -> Calendar:
    """The State Council arrangement for `years`, as the chinesecalendar package has it."""
    days = [(d, "holiday") for d in chinese_calendar.holidays if d.year in years and d.weekday() < 5]
    days += [(d, "workday") for d in chinese_calendar.workdays if d.year in years and d.weekday() >= 5]
    return Calendar.build(years, days)


CAL = package_calendar(2024, 2025, 2026)


def test_ten_working_days_from_2026_09_28_is_2026_10_16() -> None:
    deadline = CAL.add_workdays(D(2026, 9, 28), 10)
    assert deadline.date == D(2026, 10, 16)
    assert deadline.provisional is False


def test_the_start_day_is_not_counted() -> None:
    monday = D(2025, 3, 3)
    assert CAL.add_workdays(monday, 1).date == D(2025, 3, 4)
    friday = D(2025, 3, 7)
    assert CAL.add_workdays(friday, 1).date == D(2025, 3, 10)  # over the weekend
    saturday = D(2025, 3, 8)
    assert CAL.add_workdays(saturday, 1).date == D(2025, 3, 10)


def test_zero_days_is_the_start_itself_and_negative_is_refused() -> None:
    sunday = D(2026, 3, 1)
    assert CAL.add_workdays(sunday, 0).date == sunday
    assert CAL.add_workdays(sunday, 0).provisional is False
    with pytest.raises(Invalid):
        CAL.add_workdays(sunday, -1)
    with pytest.raises(Invalid):
        CAL.add_workdays(sunday, 10**6)


def test_exceptions_of_a_published_year() -> None:
    assert not CAL.is_workday(D(2026, 10, 1))  # National Day, a Thursday
    assert CAL.is_workday(D(2026, 10, 10))  # adjusted workday, a Saturday
    assert CAL.is_workday(D(2026, 10, 9))
    assert not CAL.is_workday(D(2026, 10, 11))  # plain Sunday


def test_an_unpublished_year_counts_weekends_only_and_is_provisional() -> None:
    # 2027-01-01 is a Friday; nothing says it is a holiday until 2027 is published
    deadline = CAL.add_workdays(D(2026, 12, 30), 3)
    assert deadline.date == D(2027, 1, 4)
    assert deadline.provisional is True
    # drafts of an unpublished year are ignored by the arithmetic
    drafts = Calendar.build({2026}, [(D(2027, 1, 1), "holiday")])
    assert drafts.add_workdays(D(2026, 12, 31), 1) == CAL.add_workdays(D(2026, 12, 31), 1)
    published = Calendar.build({2026, 2027}, [(D(2027, 1, 1), "holiday")])
    assert published.add_workdays(D(2026, 12, 31), 1).date == D(2027, 1, 4)
    assert published.add_workdays(D(2026, 12, 31), 1).provisional is False


def test_a_deadline_ending_before_the_unpublished_year_is_not_provisional() -> None:
    deadline = CAL.add_workdays(D(2026, 12, 1), 5)
    assert deadline.provisional is False and deadline.date == D(2026, 12, 8)


def test_workdays_between_is_the_inverse_of_add_workdays() -> None:
    start = D(2026, 9, 28)
    for n in (0, 1, 3, 10, 25, 60):
        assert CAL.workdays_between(start, CAL.add_workdays(start, n).date) == n
    assert CAL.workdays_between(D(2026, 10, 16), D(2026, 9, 28)) == -10


def test_remaining_is_negative_once_past_due_even_on_the_weekend() -> None:
    friday = D(2025, 3, 7)
    assert CAL.remaining(friday, D(2025, 3, 5)) == 2
    assert CAL.remaining(friday, friday) == 0
    assert CAL.remaining(friday, D(2025, 3, 8)) == -1  # Saturday after a Friday deadline
    assert CAL.remaining(friday, D(2025, 3, 11)) == -2


def test_a_pause_from_monday_to_wednesday_moves_the_due_date_two_working_days() -> None:
    start = D(2025, 3, 3)  # Monday
    plain = CAL.due_with_pauses(start, 10, [])
    assert plain.date == D(2025, 3, 17)
    paused = CAL.due_with_pauses(start, 10, [(D(2025, 3, 10), D(2025, 3, 12))])  # Mon → Wed
    assert paused.date == D(2025, 3, 19)
    assert CAL.workdays_between(plain.date, paused.date) == 2


def test_an_open_pause_moves_nothing_and_a_zero_length_pause_neither() -> None:
    start = D(2025, 3, 3)
    plain = CAL.add_workdays(start, 5).date
    assert CAL.due_with_pauses(start, 5, [(D(2025, 3, 4), None)]).date == plain
    assert CAL.due_with_pauses(start, 5, [(D(2025, 3, 4), D(2025, 3, 4))]).date == plain


def test_a_pause_over_a_weekend_counts_only_its_working_days() -> None:
    start = D(2025, 3, 3)
    # paused Friday, resumed Monday: Saturday and Sunday were not working days anyway; Monday is excluded
    due = CAL.due_with_pauses(start, 10, [(D(2025, 3, 7), D(2025, 3, 10))]).date
    assert due == CAL.add_workdays(start, 11).date


def test_a_clock_is_frozen_while_paused_even_when_overdue() -> None:
    start, budget = D(2025, 3, 3), 3  # due Thursday 2025-03-06
    due = CAL.add_workdays(start, budget).date
    pause, resume = D(2025, 3, 10), D(2025, 3, 21)  # paused two working days late, resumed much later
    left_at_pause = CAL.remaining(due, pause)
    assert left_at_pause == -2
    moved = CAL.due_with_pauses(start, budget, [(pause, resume)]).date
    assert CAL.remaining(moved, resume) == left_at_pause


def test_a_pause_reaching_into_an_unpublished_year_is_provisional() -> None:
    start = D(2026, 12, 1)
    deadline = CAL.due_with_pauses(start, 3, [(D(2026, 12, 2), D(2027, 1, 5))])
    assert deadline.provisional is True


def test_dates_at_the_edge_of_the_calendar_are_refused_not_crashed() -> None:
    with pytest.raises(Invalid):
        CAL.add_workdays(dt.date.max - dt.timedelta(days=3), 10)


def test_status_colours() -> None:
    assert clock_status(5, False) == "ok"
    assert clock_status(2, False) == "warning"
    assert clock_status(0, False) == "warning"
    assert clock_status(-1, False) == "overdue"
    assert clock_status(3, False, warn_days=3) == "warning"
    assert clock_status(None, True) == "stopped"


def test_dates_are_taken_in_shanghai() -> None:
    late_utc = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)  # 01:00 on 10-01 in Shanghai
    assert local_date(late_utc) == D(2026, 10, 1)
    assert today(late_utc) == D(2026, 10, 1)
    assert today(dt.datetime(2026, 9, 30, 15, 59, tzinfo=dt.UTC)) == D(2026, 9, 30)
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 9, 30, 17, 0))


@pytest.mark.parametrize("text", ["2026-02-30", "2026/09/28", "", "tomorrow", "2026-9-28x"])
def test_bad_dates_are_invalid(text: str) -> None:
    with pytest.raises(Invalid):
        parse_day(text)


def test_the_package_and_the_calendar_agree_on_every_day_of_published_years() -> None:
    d = D(2024, 1, 1)
    while d <= D(2026, 12, 31):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d
        d += dt.timedelta(days=1)


def test_remembered_deadlines_are_the_counted_ones_and_bad_counts_still_fail() -> None:
    """add_workdays remembers its answers per calendar; a remembered answer is the one counting gives, and
    remembering never lets a bad count through (True hashes as 1)."""
    cal = Calendar.build([2026], [(dt.date(2026, 10, 1), "holiday"), (dt.date(2026, 10, 10), "workday")])
    fresh = Calendar.build([2026], [(dt.date(2026, 10, 1), "holiday"), (dt.date(2026, 10, 10), "workday")])
    start = dt.date(2026, 9, 28)
    first = cal.add_workdays(start, 10)
    assert cal.add_workdays(start, 10) is first
    assert first == fresh.due_with_pauses(start, 10, [(dt.date(2026, 9, 29), None)])
    assert cal.due_with_pauses(start, 10, []) is first
    with pytest.raises(Invalid):
        cal.add_workdays(start, True)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        cal.due_with_pauses(start, -1, [])

"""The calendar table, administrators' edits, clocks that pause and their recomputation, the API and the
console page, as the personas see them."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import delete, select

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar import queries, services
from zhicheng.core.calendar.models import CalendarDay, CalendarYear, Clock
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.errors import Conflict, Invalid, NotFound

D = dt.date
ME = Actor(kind="cli", name="tester")


def forget_2027(db) -> None:  # noqa: ANN001
    """These tests enter 2027 themselves. The package lacks it today; a later release that carries it would
    seed it as published, so the test database drops it first (inside the test's transaction)."""
    with db.sessions() as s, s.begin():
        s.execute(delete(CalendarDay).where(CalendarDay.day.between(D(2027, 1, 1), D(2027, 12, 31))))
        s.execute(delete(CalendarYear).where(CalendarYear.year == 2027))


@pytest.fixture(autouse=True)
def _unpublished_2027(db) -> None:  # noqa: ANN001
    forget_2027(db)


def tags(db, prefix: str) -> list[str]:  # noqa: ANN001
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditRecord.tag).where(AuditRecord.tag.startswith(prefix)).order_by(AuditRecord.id)
            )
        )


def clock(db, clock_id: int) -> Clock:  # noqa: ANN001
    with db.read() as s:
        return queries.clock(s, clock_id)


def start(db, on: D, budget: int) -> Clock:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        return services.start_clock(uow, "test:case", "case-1", on, budget)


# --- the table and the seed -----------------------------------------------------------------------


def test_the_seed_publishes_2019_to_2026_and_not_2027(db) -> None:  # noqa: ANN001
    with db.read() as s:
        years = {y.year: y for y in queries.years(s)}
    assert all(years[y].published and years[y].source == "chinesecalendar" for y in range(2019, 2027))
    assert 2027 not in years or not years[2027].published


def test_the_table_keeps_only_exceptions_to_the_weekend_rule(db) -> None:  # noqa: ANN001
    with db.read() as s:
        rows = list(s.scalars(select(CalendarDay)))
    assert rows
    assert all((r.kind == "holiday") == (r.day.weekday() < 5) for r in rows)
    assert {r.name for r in rows} >= {"元旦", "春节", "国庆节", "劳动节"}


def test_the_seeded_calendar_agrees_with_the_package_on_every_day(db) -> None:  # noqa: ANN001
    with db.read() as s:
        cal = queries.calendar(s)
    d = D(2019, 1, 1)
    while d <= D(2026, 12, 31):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d
        d += dt.timedelta(days=1)


def test_ten_working_days_from_2026_09_28(db) -> None:  # noqa: ANN001
    with db.read() as s:
        deadline = queries.add_workdays(s, D(2026, 9, 28), 10)
    assert (deadline.date, deadline.provisional) == (D(2026, 10, 16), False)


# --- edits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (D(2027, 1, 4), "workday", "调休"),  # a Monday is a workday already
        (D(2027, 1, 3), "holiday", "元旦"),  # a Sunday is a day off already
        (D(1999, 10, 1), "holiday", "国庆节"),
        (D(2101, 1, 3), "workday", ""),
        (D(2027, 1, 1), "festival", "元旦"),
        (D(2027, 1, 1), "holiday", "  "),  # a holiday needs a name
        (D(2027, 1, 1), "holiday", "节" * 41),
    ],
)
def test_nonsense_edits_are_invalid_and_write_nothing(db, day, kind, name) -> None:  # noqa: ANN001
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.set_day(uow, day, kind, name)
    with db.read() as s:
        assert s.get(CalendarDay, day) is None
    assert tags(db, "calendar:day") == []


def test_set_rename_and_unset_are_audited(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2027, 1, 1), "holiday", "元旦")
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2027, 1, 1), "holiday", "元旦节")
    with unit_of_work(db, ME) as uow:
        row = services.set_day(uow, D(2027, 2, 20), "workday", "")
    assert row.name == "调休"  # a workday's default name
    with db.read() as s:
        assert s.get(CalendarDay, D(2027, 1, 1)).name == "元旦节"
        assert s.get(CalendarYear, 2027).published is False  # a draft until published
    with unit_of_work(db, ME) as uow:
        services.unset_day(uow, D(2027, 1, 1))
    with pytest.raises(NotFound), unit_of_work(db, ME) as uow:
        services.unset_day(uow, D(2027, 1, 1))
    assert tags(db, "calendar:day") == ["calendar:day:set"] * 3 + ["calendar:day:unset"]


def test_a_correction_to_a_published_year_is_in_force_at_once(db) -> None:  # noqa: ANN001
    with db.read() as s:
        before = s.get(CalendarYear, 2026).published_at
        assert not queries.calendar(s).is_workday(D(2026, 10, 1))
    with unit_of_work(db, ME) as uow:
        services.unset_day(uow, D(2026, 10, 1))
        services.set_day(uow, D(2026, 10, 9), "holiday", "国庆节")
    with db.read() as s:
        cal = queries.calendar(s)
        assert cal.is_workday(D(2026, 10, 1)) and not cal.is_workday(D(2026, 10, 9))
        assert s.get(CalendarYear, 2026).published_at > before


def test_publishing_needs_entries_and_happens_once(db) -> None:  # noqa: ANN001
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.publish_year(uow, 2027)
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.publish_year(uow, 2200)
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        services.publish_year(uow, 2026)
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2027, 1, 1), "holiday", "元旦")
        year, moved = services.publish_year(uow, 2027)
    assert year.published and year.published_at is not None and moved == 0
    assert "calendar:year:publish" in tags(db, "calendar:year")


def test_an_unpublished_year_is_weekends_only_until_published(db) -> None:  # noqa: ANN001
    with db.read() as s:
        first = queries.add_workdays(s, D(2026, 12, 31), 1)
    assert (first.date, first.provisional) == (D(2027, 1, 1), True)
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2027, 1, 1), "holiday", "元旦")
    with db.read() as s:
        assert queries.add_workdays(s, D(2026, 12, 31), 1) == first  # a draft changes nothing
    with unit_of_work(db, ME) as uow:
        services.publish_year(uow, 2027)
    with db.read() as s:
        after = queries.add_workdays(s, D(2026, 12, 31), 1)
    assert (after.date, after.provisional) == (D(2027, 1, 4), False)


# --- clocks ---------------------------------------------------------------------------------------


def test_a_pause_from_monday_to_wednesday_moves_the_due_date_two_working_days(db) -> None:  # noqa: ANN001
    c = start(db, D(2025, 3, 3), 10)
    assert c.due_on == D(2025, 3, 17) and c.state == "running" and not c.provisional
    with unit_of_work(db, ME) as uow:
        paused = services.pause_clock(uow, c.id, D(2025, 3, 10), "补正材料")
    assert paused.state == "paused" and paused.due_on == D(2025, 3, 17)
    with unit_of_work(db, ME) as uow:
        resumed = services.resume_clock(uow, c.id, D(2025, 3, 12))
    assert resumed.state == "running" and resumed.due_on == D(2025, 3, 19)
    assert tags(db, "calendar:clock") == [
        "calendar:clock:start",
        "calendar:clock:pause",
        "calendar:clock:resume",
        "calendar:clock:recompute",
    ]


def test_wrong_moves_of_a_clock_are_refused(db) -> None:  # noqa: ANN001
    c = start(db, D(2025, 3, 3), 10)
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        services.resume_clock(uow, c.id, D(2025, 3, 5))  # it is running
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 1), "补正材料")  # before it started
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 5), " ")  # no reason
    with unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 5), "补正材料")
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 6), "再次暂停")
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.resume_clock(uow, c.id, D(2025, 3, 4))  # before it paused
    with unit_of_work(db, ME) as uow:
        services.resume_clock(uow, c.id, D(2025, 3, 7))
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 6), "补正材料")  # before the last resume
    with unit_of_work(db, ME) as uow:
        services.stop_clock(uow, c.id, D(2025, 3, 10))
    for move in (
        lambda u: services.pause_clock(u, c.id, D(2025, 3, 11), "x"),
        lambda u: services.resume_clock(u, c.id, D(2025, 3, 11)),
        lambda u: services.stop_clock(u, c.id, D(2025, 3, 11)),
    ):
        with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
            move(uow)
    with pytest.raises(NotFound), unit_of_work(db, ME) as uow:
        services.pause_clock(uow, 987654, D(2025, 3, 11), "x")
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.start_clock(uow, "test:case", "case-2", D(2025, 3, 3), -1)


def test_stopping_a_paused_clock_closes_its_pause(db) -> None:  # noqa: ANN001
    c = start(db, D(2025, 3, 3), 10)
    with unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 10), "补正材料")
        stopped = services.stop_clock(uow, c.id, D(2025, 3, 12))
    assert stopped.state == "stopped" and stopped.stopped_on == D(2025, 3, 12)
    with db.read() as s:
        pauses = [(p.paused_on, p.resumed_on) for p in queries.pauses(s, c.id)]
        assert pauses == [(D(2025, 3, 10), D(2025, 3, 12))]
        assert queries.status(s, stopped, D(2025, 4, 1)) == "stopped"
        assert queries.remaining_workdays(s, stopped, D(2025, 4, 1)) is None


def test_remaining_days_and_status_colours(db) -> None:  # noqa: ANN001
    c = start(db, D(2025, 3, 3), 5)  # due Monday 2025-03-10
    assert c.due_on == D(2025, 3, 10)
    with db.read() as s:
        seen = {
            d: (queries.remaining_workdays(s, c, D(2025, 3, d)), queries.status(s, c, D(2025, 3, d)))
            for d in (3, 6, 10, 11, 15)
        }
    assert seen == {
        3: (5, "ok"),
        6: (2, "warning"),
        10: (0, "warning"),
        11: (-1, "overdue"),
        15: (-4, "overdue"),
    }  # the 15th is a Saturday


def test_a_paused_clock_is_frozen(db) -> None:  # noqa: ANN001
    c = start(db, D(2025, 3, 3), 5)
    with unit_of_work(db, ME) as uow:
        services.pause_clock(uow, c.id, D(2025, 3, 5), "补正材料")
    with db.read() as s:
        paused = queries.clock(s, c.id)
        assert queries.remaining_workdays(s, paused, D(2025, 3, 28)) == 3
        assert queries.status(s, paused, D(2025, 3, 28)) == "ok"
    with unit_of_work(db, ME) as uow:
        resumed = services.resume_clock(uow, c.id, D(2025, 3, 12))
    assert resumed.due_on == D(2025, 3, 17)
    with db.read() as s:
        assert queries.remaining_workdays(s, resumed, D(2025, 3, 12)) == 3


def test_a_provisional_clock_is_recomputed_when_its_year_is_published(db) -> None:  # noqa: ANN001
    c = start(db, D(2026, 12, 21), 15)
    assert (c.due_on, c.provisional) == (D(2027, 1, 11), True)  # weekend-only: 2027-01-01 counted
    done = start(db, D(2026, 12, 21), 15)
    with unit_of_work(db, ME) as uow:
        services.stop_clock(uow, done.id, D(2026, 12, 22))
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2027, 1, 1), "holiday", "元旦")
    assert clock(db, c.id).provisional is True  # entries alone change nothing
    with unit_of_work(db, ME) as uow:
        _, moved = services.publish_year(uow, 2027)
    assert moved == 1
    after = clock(db, c.id)
    assert (after.due_on, after.provisional) == (D(2027, 1, 12), False)
    stopped = clock(db, done.id)
    assert (stopped.due_on, stopped.provisional) == (D(2027, 1, 11), True)  # a stopped clock is left alone
    assert "calendar:clock:recompute" in tags(db, "calendar:clock")


def test_a_correction_moves_the_clocks_that_span_it_only(db) -> None:  # noqa: ANN001
    spanning = start(db, D(2026, 9, 28), 10)
    earlier = start(db, D(2026, 3, 2), 5)
    assert spanning.due_on == D(2026, 10, 16)
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, D(2026, 10, 12), "holiday", "临时假日")
    assert clock(db, spanning.id).due_on == D(2026, 10, 19)
    assert clock(db, earlier.id).due_on == earlier.due_on
    with unit_of_work(db, ME) as uow:
        services.unset_day(uow, D(2026, 10, 12))
    assert clock(db, spanning.id).due_on == D(2026, 10, 16)


# --- the API --------------------------------------------------------------------------------------

PROBLEM = "application/problem+json"


def test_clerk_reads_a_year_and_counts_working_days(as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    year = c.get("/api/v1/calendar/2026").json()
    assert year["published"] is True and year["source"] == "chinesecalendar"
    assert {"day": "2026-10-01", "kind": "holiday", "name": "国庆节"} in year["days"]
    assert {"day": "2026-10-10", "kind": "workday", "name": "国庆节"} in year["days"]
    r = c.get("/api/v1/calendar/add-workdays", params={"start": "2026-09-28", "days": 10})
    assert r.status_code == 200
    assert r.json() == {"start": "2026-09-28", "days": 10, "due": "2026-10-16", "provisional": False}
    r = c.get("/api/v1/calendar/add-workdays", params={"start": "2026-12-30", "days": 3})
    assert r.json() == {"start": "2026-12-30", "days": 3, "due": "2027-01-04", "provisional": True}
    assert c.get("/api/v1/calendar/2027").json() == {
        "year": 2027,
        "published": False,
        "source": None,
        "published_at": None,
        "days": [],
    }


def test_a_system_token_counts_working_days_too(as_system) -> None:  # noqa: ANN001
    r = as_system.get("/api/v1/calendar/add-workdays?start=2026-09-28&days=10")
    assert r.status_code == 200 and r.json()["due"] == "2026-10-16"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/calendar/add-workdays?start=2026-02-30&days=10",
        "/api/v1/calendar/add-workdays?start=tomorrow&days=10",
        "/api/v1/calendar/add-workdays?start=2026-09-28&days=-1",
        "/api/v1/calendar/add-workdays?start=2026-09-28&days=ten",
        "/api/v1/calendar/add-workdays?start=2026-09-28&days=999999",
        "/api/v1/calendar/add-workdays?days=10",
        "/api/v1/calendar/add-workdays?start=9999-12-30&days=10",
        "/api/v1/calendar/1999",
        "/api/v1/calendar/twenty",
    ],
)
def test_bad_input_is_a_422_problem(as_user, url: str) -> None:  # noqa: ANN001
    r = as_user("clerk").get(url)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["messages"]["zh"] and r.json()["messages"]["en"]


def test_clerk_cannot_edit(as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    assert (
        c.send(
            "POST", "/api/v1/calendar/days", json={"day": "2027-01-01", "kind": "holiday", "name": "元旦"}
        ).status_code
        == 403
    )
    assert c.send("DELETE", "/api/v1/calendar/days/2026-10-01").status_code == 403
    assert c.send("POST", "/api/v1/calendar/years/2027/publish").status_code == 403
    assert c.get("/api/v1/calendar/2026").json()["published"] is True


def test_outsider_and_anonymous_are_refused(as_user, client) -> None:  # noqa: ANN001
    assert as_user("outsider").get("/api/v1/calendar/2026").status_code == 403
    assert as_user("outsider").get("/api/v1/calendar/add-workdays?start=2026-09-28&days=1").status_code == 403
    assert client.get("/api/v1/calendar/2026").status_code == 401


def test_admin_enters_and_publishes_next_year(as_user) -> None:  # noqa: ANN001
    c = as_user("admin")
    before = c.get("/api/v1/calendar/add-workdays?start=2026-12-31&days=1").json()
    assert before["due"] == "2027-01-01" and before["provisional"] is True
    r = c.send("POST", "/api/v1/calendar/days", json={"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert r.status_code == 201 and r.json() == {"day": "2027-01-01", "kind": "holiday", "name": "元旦"}
    r = c.send("POST", "/api/v1/calendar/days", json={"day": "2027-01-04", "kind": "workday", "name": ""})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert "weekday" in r.json()["messages"]["en"]
    r = c.send("POST", "/api/v1/calendar/days", json={"day": "2027-02-30", "kind": "holiday", "name": "x"})
    assert r.status_code == 422
    r = c.send("POST", "/api/v1/calendar/days", json={"day": "2027-01-09", "kind": "workday"})
    assert r.status_code == 201 and r.json()["name"] == "调休"
    assert c.send("DELETE", "/api/v1/calendar/days/2027-01-09").status_code == 204
    assert c.send("DELETE", "/api/v1/calendar/days/2027-01-09").status_code == 404
    assert c.send("DELETE", "/api/v1/calendar/days/2027-13-09").status_code == 422
    r = c.send("POST", "/api/v1/calendar/years/2027/publish")
    assert r.status_code == 200 and r.json()["published"] is True and r.json()["recomputed"] == 0
    assert c.send("POST", "/api/v1/calendar/years/2027/publish").status_code == 409
    assert c.send("POST", "/api/v1/calendar/years/3000/publish").status_code == 422
    after = c.get("/api/v1/calendar/add-workdays?start=2026-12-31&days=1").json()
    assert after["due"] == "2027-01-04" and after["provisional"] is False
    year = c.get("/api/v1/calendar/2027").json()
    assert year["published"] is True
    assert year["days"] == [{"day": "2027-01-01", "kind": "holiday", "name": "元旦"}]


# --- the console page -----------------------------------------------------------------------------


def test_clerk_sees_the_year_and_the_calculator_but_no_edit_forms(as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    home = c.get("/")
    assert 'href="/calendar"' in home.text
    page = c.get("/calendar?year=2026")
    assert page.status_code == 200
    assert page.text.count('class="cal-month"') == 12
    assert 'data-day="2026-10-01"' in page.text and 'class="d-hol" data-day="2026-10-01"' in page.text
    assert 'class="d-adj" data-day="2026-10-10"' in page.text
    assert 'class="d-rest" data-day="2026-10-11"' in page.text
    assert 'data-testid="published"' in page.text and "provisional-banner" not in page.text
    assert 'action="/calendar/days"' not in page.text and 'action="/calendar/publish"' not in page.text
    calc = c.get("/calendar?year=2026&start=2026-09-28&days=10")
    assert 'data-testid="calc-result"' in calc.text and "2026-10-16" in calc.text
    bad = c.get("/calendar?start=2026-02-30&days=10")
    assert bad.status_code == 200 and "YYYY-MM-DD" in bad.text
    assert c.form("/calendar/days", {"day": "2027-01-01", "kind": "holiday", "name": "x"}).status_code == 403
    assert c.form("/calendar/publish", {"year": "2027"}).status_code == 403


def test_an_unpublished_year_shows_the_provisional_banner(as_user) -> None:  # noqa: ANN001
    page = as_user("clerk").get("/calendar?year=2027")
    assert page.status_code == 200
    assert 'data-testid="provisional-banner"' in page.text and 'data-testid="unpublished"' in page.text
    en = as_user("clerk").get("/calendar?year=2027&lang=en")
    assert "Working-day calendar" in en.text and "Not published" in en.text


@pytest.mark.parametrize("year", ["abc", "1999", "20261"])
def test_a_bad_year_is_a_readable_page(as_user, year: str) -> None:  # noqa: ANN001
    page = as_user("clerk").get(f"/calendar?year={year}")
    assert page.status_code == 422
    assert 'class="flash error"' in page.text and page.text.count('class="cal-month"') == 12


def test_admin_sets_unsets_and_publishes_through_forms(as_user) -> None:  # noqa: ANN001
    c = as_user("admin")
    page = c.get("/calendar?year=2027")
    assert 'action="/calendar/days"' in page.text and 'data-testid="publish"' in page.text
    r = c.form("/calendar/days", {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "year": "2027"})
    assert r.status_code == 303 and r.headers["location"].startswith("/calendar?year=2027&done=set")
    shown = c.get(r.headers["location"])
    assert 'class="flash ok"' in shown.text and "元旦" in shown.text
    assert 'class="d-hol" data-day="2027-01-01"' in shown.text
    bad = c.form("/calendar/days", {"day": "2027-01-04", "kind": "workday", "name": "", "year": "2027"})
    assert bad.status_code == 422 and 'class="flash error"' in bad.text
    assert "调休上班日只能设在周末" in bad.text
    bad = c.form("/calendar/days", {"day": "not-a-day", "kind": "holiday", "name": "x", "year": "2027"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    r = c.form("/calendar/days/unset", {"day": "2027-01-01", "year": "2027"})
    assert r.status_code == 303
    assert c.form("/calendar/days/unset", {"day": "2027-01-01", "year": "2027"}).status_code == 404
    assert c.form("/calendar/publish", {"year": "2027"}).status_code == 422  # nothing entered
    c.form("/calendar/days", {"day": "2027-01-01", "kind": "holiday", "name": "元旦", "year": "2027"})
    r = c.form("/calendar/publish", {"year": "2027"})
    assert r.status_code == 303 and "done=publish" in r.headers["location"]
    shown = c.get(r.headers["location"])
    assert 'data-testid="published"' in shown.text and 'data-testid="publish"' not in shown.text


def test_a_form_without_the_csrf_token_is_refused(as_user) -> None:  # noqa: ANN001
    c = as_user("admin")
    r = c.http.post(
        "/calendar/days",
        data={"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
        follow_redirects=False,
    )
    assert r.status_code == 403

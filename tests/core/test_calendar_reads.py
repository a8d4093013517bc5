"""What a transaction costs the calendar: the calendar read once (and not at all while the process's copy is
current), each clock locked and read once; and that the copy never hides an edit."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import event

from zhicheng.core.calendar import queries, services
from zhicheng.core.db import Actor, unit_of_work

D = dt.date
ME = Actor(kind="cli", name="tester")
TUESDAY = D(2026, 3, 10)  # an ordinary working day of a published year


class Statements:
    """The reads of a block: the table of each SELECT (its first FROM)."""

    def __init__(self, db) -> None:  # noqa: ANN001
        self.engine, self.seen = db.engine, []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, _conn, _cursor, statement: str, *_rest) -> None:  # noqa: ANN001, ANN002
        found = re.match(r"\s*SELECT\b.*?\bFROM\s+(\w+)", statement, re.S)
        if found:
            self.seen.append(found.group(1))

    def count(self, table: str) -> int:
        return self.seen.count(table)


def test_a_transaction_reads_the_calendar_once_however_many_clocks_it_moves(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        queries.calendar(uow.session)  # the process's copy is current from here on
    with Statements(db) as seen, unit_of_work(db, ME) as uow:
        clocks = services.start_clocks(uow, [("test:a", str(n), D(2026, 3, 2), 10) for n in range(3)])
        services.pause_running(uow, [c.id for c in clocks], D(2026, 3, 4), "补正材料")
        services.resume_paused(uow, [c.id for c in clocks], D(2026, 3, 6))
        services.stop_running(uow, [c.id for c in clocks], D(2026, 3, 9))
    assert seen.count("cache_generation") == 1  # the freshness check, once
    assert seen.count("calendar_day") == seen.count("calendar_year") == 0
    assert seen.count("clock") == seen.count("clock_pause") == 0  # started here: held, never read back
    assert [c.due_on for c in clocks] == [D(2026, 3, 18)] * 3  # 10 working days + the 2 inside the pause


def test_clocks_locked_once_are_read_once(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        ids = [
            c.id for c in services.start_clocks(uow, [("test:b", str(n), D(2026, 3, 2), 5) for n in range(2)])
        ]
    with Statements(db) as seen, unit_of_work(db, ME) as uow:
        services.stop_running(uow, ids[:1], D(2026, 3, 3))
        services.stop_running(uow, ids, D(2026, 3, 3))  # the first is stopped already: left alone
        services.stop_running(uow, ids, D(2026, 3, 4))
    assert seen.count("clock") == 2  # SELECT … FOR UPDATE: the first clock, then the second
    assert seen.count("clock_pause") == 2  # their pauses, with each


def test_a_stop_for_a_day_before_the_last_resume_happens_on_that_day(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        clock = services.start_clock(uow, "test:c", "1", D(2026, 3, 2), 5)
        services.pause_clock(uow, clock.id, D(2026, 3, 3), "补正材料")
        services.resume_clock(uow, clock.id, D(2026, 3, 6))
    with unit_of_work(db, ME) as uow:
        (stopped,) = services.stop_running(uow, [clock.id, clock.id + 10_000], D(2026, 3, 4))  # and no such
    assert (stopped.state, stopped.stopped_on) == ("stopped", D(2026, 3, 6))


def test_an_edit_committed_by_another_transaction_is_seen_by_the_next(db) -> None:  # noqa: ANN001
    with db.read() as s:
        assert queries.calendar(s).is_workday(TUESDAY)
    with unit_of_work(db, ME) as uow:
        services.set_day(uow, TUESDAY, "holiday", "测试假日")
    with db.read() as s:
        assert not queries.calendar(s).is_workday(TUESDAY)


def test_an_edit_earlier_in_the_same_transaction_is_seen_at_once(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        assert queries.calendar(uow.session).is_workday(TUESDAY)  # kept for the transaction…
        services.set_day(uow, TUESDAY, "holiday", "测试假日")
        assert not queries.calendar(uow.session).is_workday(TUESDAY)  # …until it edits the calendar
        clock = services.start_clock(uow, "test:d", "1", D(2026, 3, 9), 1)
        assert clock.due_on == D(2026, 3, 11)
    with db.read() as s:  # what this transaction saw was not cached under the old generation
        assert not queries.calendar(s).is_workday(TUESDAY)

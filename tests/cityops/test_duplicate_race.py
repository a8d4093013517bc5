"""Two transactions deciding at once on two reports of one problem (same class, 10 m apart) open one case,
not two: on PostgreSQL the second waits on the advisory locks of cityops.dedupe until the first commits,
then merges into its case; on SQLite the second writer waits for the write lock (BEGIN IMMEDIATE). Both
intake paths (intake.report in a unit of work, the lane's batch write path) in every pairing, as they run
in two API workers. Reports of another class, or far away, do not wait."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import h3.api.basic_int as h3
import pytest
from sqlalchemy import func, select, text

from tests.cityops.conftest import MANHOLE, ME, QINHUAI, centre, report_body
from zhicheng.cityops import batch, batch_write, dedupe, intake
from zhicheng.cityops.models import Case, Reporter
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core.db import Actor, Database, unit_of_work

SENSOR = Actor(kind="system", name="race-test")
WAIT = 20  # seconds: a generous bound for what takes milliseconds


@pytest.fixture
def db(fresh_url: str) -> Iterator[Database]:  # the conftest fixtures (city …) build on this one
    """Real commits on a database of the test's own: the race needs two connections."""
    live = Database(fresh_url)
    yield live
    live.dispose()


# --- the two paths: a report written and its transaction held open, or written and committed -------------


@contextmanager
def _held_orm(db: Database, body: dict) -> Iterator[intake.Outcome]:
    with unit_of_work(db, ME) as uow:
        yield intake.report(uow, ReportIn(**body), channel="grid")


@contextmanager
def _held_batch(db: Database, body: dict) -> Iterator[intake.Outcome]:
    bind = db.writer_sessions.kw["bind"]  # as cityops.batch commits: BEGIN IMMEDIATE on SQLite
    with bind.begin() as conn:
        item = batch.prepare(SENSOR, ReportIn(**body), channel="sensor")
        (out,) = batch_write.write(conn, intake._url(conn), [item])
        assert isinstance(out, intake.Outcome)
        yield out


def _orm(db: Database, body: dict) -> intake.Outcome:
    with _held_orm(db, body) as out:
        return out


def _batch(db: Database, body: dict) -> intake.Outcome:
    (out,) = batch.run(db, [batch.prepare(SENSOR, ReportIn(**body), channel="sensor")])
    assert isinstance(out, intake.Outcome), out
    return out


HELD: dict[str, Callable[[Database, dict], AbstractContextManager[intake.Outcome]]] = {
    "orm": _held_orm,
    "batch": _held_batch,
}
WRITE: dict[str, Callable[[Database, dict], intake.Outcome]] = {"orm": _orm, "batch": _batch}


class _Second(threading.Thread):
    """The other API worker: writes its reports (each committed) while the first transaction is open."""

    def __init__(self, db: Database, write: Callable[[Database, dict], intake.Outcome], *bodies: dict):
        super().__init__(daemon=True)
        self.db, self.write, self.bodies = db, write, bodies
        self.results: list[intake.Outcome] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.results = [self.write(self.db, b) for b in self.bodies]
        except BaseException as exc:  # noqa: BLE001 - answered in the test's thread
            self.error = exc


def _waits(db: Database, locktype: str = "advisory", done: threading.Thread | None = None) -> bool:
    """True once a backend of this database waits for a lock of the type (PostgreSQL), or `done` has
    ended, within WAIT."""
    deadline = time.monotonic() + WAIT
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = :t"
                ),
                {"t": locktype},
            ).scalar()
            conn.rollback()  # a fresh snapshot of the statistics each time
            if waiting or (done is not None and not done.is_alive()):
                return True
            time.sleep(0.01)
    return False


def _cases(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Case)) or 0


@pytest.mark.parametrize(
    ("first", "second"), [("orm", "orm"), ("batch", "batch"), ("orm", "batch"), ("batch", "orm")]
)
def test_the_second_waits_and_merges(db, city, dialect, first, second) -> None:  # noqa: ANN001
    x, y = centre(3, 3)
    with HELD[first](db, report_body(lng=x, lat=y)) as opened:
        assert not opened.merged
        other = _Second(db, WRITE[second], report_body(lng=x + 0.0001, lat=y))  # ~9 m east
        other.start()
        if dialect == "postgresql":
            assert _waits(db)
        else:
            time.sleep(0.3)  # it waits in BEGIN IMMEDIATE (busy_timeout), not in a lock we can see
        assert other.is_alive() and not other.results  # it has decided nothing before the first commits
    other.join(WAIT)
    assert not other.is_alive() and other.error is None, other.error
    (joined,) = other.results
    assert joined.merged and joined.case_id == opened.case_id and joined.number == opened.number
    with db.read() as s:
        assert s.get(Case, opened.case_id).report_count == 2
        assert s.scalar(select(func.count()).select_from(Reporter)) == 2
    assert _cases(db) == 1


def test_without_the_locks_postgresql_opens_two_cases(db, city, dialect, monkeypatch) -> None:  # noqa: ANN001
    """The defect the locks mend, and why SQLite needs none: the same interleaving with cityops.dedupe's
    locks taken away opens a second case on PostgreSQL (the second decides at once; it may then wait for
    the first's roll-up row, but its case is decided), and still merges on SQLite, whose second writer
    waits for the write lock all the same."""
    monkeypatch.setattr(dedupe, "lock", lambda conn, wanted: None)
    x, y = centre(3, 3)
    with _held_orm(db, report_body(lng=x, lat=y)):
        other = _Second(db, _batch, report_body(lng=x + 0.0001, lat=y))
        other.start()
        if dialect == "postgresql":
            assert _waits(db, "transactionid", done=other)
        else:
            time.sleep(0.3)
            assert other.is_alive()
    other.join(WAIT)
    assert not other.is_alive() and other.error is None, other.error
    assert other.results[0].merged == (dialect == "sqlite")
    assert _cases(db) == (2 if dialect == "postgresql" else 1)


def test_other_classes_and_places_do_not_wait(db, city, dialect) -> None:  # noqa: ANN001
    """On PostgreSQL they do not wait for the first commit. SQLite runs one writer at a time whatever it
    writes: there they wait their turn, then open their own cases all the same."""
    # far away means another street here: reports of one class in one street on one day add to the same
    # roll-up row (cityops_daily), whose upsert waits for the first commit whatever the duplicate locks do
    x, y = centre(3, 3)
    far = (QINHUAI[0] + 0.005, QINHUAI[1] + 0.005)  # about 3 km south, in another district
    with _held_orm(db, report_body(lng=x, lat=y)) as opened:
        other = _Second(
            db,
            _batch,
            report_body(MANHOLE, lng=x + 0.0001, lat=y),  # another class at the same place
            report_body(lng=far[0], lat=far[1]),  # the same class far away
        )
        other.start()
        if dialect == "sqlite":
            other.join(0.5)
            assert other.is_alive()  # waiting for the database's write lock
        else:
            other.join(WAIT)
            assert not other.is_alive() and other.error is None, other.error
    other.join(WAIT)
    assert not other.is_alive() and other.error is None, other.error
    assert [r.merged for r in other.results] == [False, False]
    assert opened.case_id not in {r.case_id for r in other.results}
    assert _cases(db) == 3


# --- the keys (no database) ---------------------------------------------------------------------------------


def test_reports_within_the_radius_always_share_a_key() -> None:
    """Pairs of points at most the radius apart, anywhere around cell borders, with the radius of either
    process (50 m or 10 m): their lock keys meet. Another class never shares them."""
    rnd = random.Random(5)
    checked = 0
    for _ in range(3000):
        lat, lng = 32.04 + rnd.random() * 0.05, 118.80 + rnd.random() * 0.05
        d, bearing = rnd.random() * 50, rnd.random() * 2 * math.pi
        lat2 = lat + d * math.cos(bearing) / 111_320
        lng2 = lng + d * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
        if h3.great_circle_distance((lat, lng), (lat2, lng2), "m") > 50:
            continue
        a, b = (h3.latlng_to_cell(p, q, 10) for p, q in ((lat, lng), (lat2, lng2)))
        mine = dedupe.keys(7, h3.grid_disk(a, intake.ring_size(50)))
        theirs = dedupe.keys(7, h3.grid_disk(b, intake.ring_size(10)))
        assert mine & theirs
        assert not mine & dedupe.keys(8, h3.grid_disk(b, intake.ring_size(50)))
        assert len(mine) <= 3  # a 50 m ring spans at most three parents
        checked += 1
    assert checked > 2500


def test_keys_are_the_same_in_every_process() -> None:
    """Pinned: two versions of zhicheng running side by side during an upgrade must lock the same keys."""
    parent = h3.latlng_to_cell(32.0415, 118.8015, dedupe.LOCK_RES)
    assert parent == 0x8830911913FFFFF
    assert dedupe.key(1, parent) == 4725615901284660508
    assert dedupe.key(2, parent) == -6892085389170599619

"""Database.write_turn: the writers of a SQLite file take turns on a file lock, which wakes the next one the
moment the last lets go (SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries). Other
databases, and tests bound to one connection, need no turn: the block runs at once."""

from __future__ import annotations

import subprocess
import sys
import threading

from zhicheng.core.db import Database


def _waits(db: Database) -> tuple[threading.Event, threading.Thread]:
    entered = threading.Event()

    def take() -> None:
        with db.write_turn():
            entered.set()

    t = threading.Thread(target=take)
    t.start()
    return entered, t


def test_a_thread_waits_for_the_turn_and_gets_it_when_released(fresh_url) -> None:  # noqa: ANN001
    db = Database(fresh_url)
    sqlite = db.dialect == "sqlite"
    with db.write_turn():
        entered, t = _waits(db)
        # on SQLite the second writer waits; elsewhere the turn is no lock at all
        assert entered.wait(0.3) is not sqlite
    t.join(5)
    assert entered.is_set() and not t.is_alive()
    db.dispose()


def test_another_process_holding_the_turn_keeps_us_waiting(fresh_url, tmp_path) -> None:  # noqa: ANN001
    db = Database(fresh_url)
    if db.dialect != "sqlite":  # PostgreSQL orders its writers itself: the turn is a no-op there
        with db.write_turn():
            pass
        db.dispose()
        return
    script = (
        "import sys\n"
        "from zhicheng.core.db import Database\n"
        f"db = Database({fresh_url!r})\n"
        "with db.write_turn():\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline().strip() == "held"
        entered, t = _waits(db)
        assert not entered.wait(0.5)  # the other process has the turn
        other.stdin.write("go\n")
        other.stdin.flush()
        assert entered.wait(10)
        t.join(5)
    finally:
        if other.poll() is None:
            other.kill()
        other.wait(10)
    db.dispose()


def test_bound_and_memory_databases_take_no_turn(db) -> None:  # noqa: ANN001
    """The test fixture's database is bound to one connection: nesting turns must not deadlock."""
    with db.write_turn(), db.write_turn():
        pass
    memory = Database("sqlite://")
    with memory.write_turn(), memory.write_turn():
        pass
    memory.dispose()

"""`zhicheng cityops …` run as the real executable against a database of its own: the roll-ups' rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select, update

from tests.cityops.conftest import MANHOLE, ME, report_body
from tests.test_cli import run
from zhicheng.cityops import intake, rollup
from zhicheng.cityops.rollup_models import Daily, Live
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Database, unit_of_work


@pytest.fixture
def db(fresh_url: str) -> Iterator[Database]:
    """The grid, categories and people of tests/cityops/conftest.py, committed for real (the CLI runs in
    another process)."""
    database = Database(fresh_url)
    yield database
    database.dispose()


def test_rollup_rebuild_recounts_from_the_cases(db: Database, city: dict[str, int], fresh_url: str) -> None:
    with unit_of_work(db, ME) as uow:
        for lng, lat in ((118.825, 32.065), (118.845, 32.085), (118.835, 32.055)):
            intake.report(uow, ReportIn(**report_body(lng=lng, lat=lat)), channel="hotline")
        intake.report(uow, ReportIn(**report_body(category=MANHOLE)), channel="grid")
    with db.connect() as conn:
        expected = rollup.recount(conn)
    assert sum(v["reported"] for v in expected[0].values()) == 4
    # the tables are damaged (a bulk load by SQL, a bad repair): the figures no longer match the cases
    with db.transaction() as conn:
        conn.execute(delete(Daily.__table__))
        conn.execute(update(Live.__table__).values(cases=99))
    with db.connect() as conn:
        assert rollup.stored(conn) != expected

    r = run(fresh_url, "cityops", "rollup-rebuild", "--json")
    assert r.returncode == 0, r.stderr
    counts = json.loads(r.stdout)
    assert counts == {"daily": len(expected[0]), "live": len(expected[1])} and counts["daily"] >= 2
    with db.connect() as conn:
        assert rollup.stored(conn) == expected
    with db.read() as s:
        rec = s.scalar(select(AuditRecord).where(AuditRecord.tag == "cityops:rollup:rebuild"))
        assert rec is not None and rec.actor.startswith("cli")

    plain = run(fresh_url, "cityops", "rollup-rebuild")  # again: the same counts, nothing else changes
    assert plain.returncode == 0 and plain.stdout.strip() == (
        f"daily: {counts['daily']} rows, live: {counts['live']} rows"
    )
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Daily)) == counts["daily"]
    # the function answers the rows it wrote on either database (PostgreSQL's driver once gave -1)
    with db.transaction() as conn:
        assert rollup.rebuild(conn) == counts


def test_rollup_rebuild_on_a_database_without_tables_fails_in_one_line(tmp_path: object) -> None:
    r = run(f"sqlite:///{tmp_path}/empty.db", "cityops", "rollup-rebuild")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

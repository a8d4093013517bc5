"""`zhicheng calendar …` against a database of its own, in process (CliRunner) and as a real process; and a
calendar cached in one process seeing the edits another process commits."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.core.test_calendar import forget_2027
from zhicheng.cli import app
from zhicheng.core.calendar import queries
from zhicheng.core.db import Database
from zhicheng.core.errors import Invalid

ZHICHENG = Path(sys.executable).parent / "zhicheng"


@pytest.fixture
def url(fresh_url: str) -> str:
    """A database of its own where 2027 is not published (whatever the package release carries)."""
    db = Database(fresh_url)
    try:
        forget_2027(db)
    finally:
        db.dispose()
    return fresh_url


@pytest.fixture
def cli(url: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("ZHICHENG_DATABASE_URL", url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["calendar", *args])


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZHICHENG_DATABASE_URL": url}
    return subprocess.run(
        [str(ZHICHENG), "calendar", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_add_workdays_prints_only_the_date(cli) -> None:  # noqa: ANN001
    r = cli("add-workdays", "2026-09-28", "10")
    assert r.exit_code == 0, r.output
    assert r.stdout == "2026-10-16\n" and r.stderr == ""


def test_a_provisional_date_gets_a_note_on_stderr_only(cli) -> None:  # noqa: ANN001
    r = cli("add-workdays", "2026-12-30", "3")
    assert r.exit_code == 0
    assert r.stdout == "2027-01-04\n"
    assert "provisional" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("add-workdays", "2026-02-30", "10"),
        ("add-workdays", "2026-09-28", "ten"),
        ("add-workdays", "2026-09-28", "--", "-1"),
        ("show", "26"),
        ("show", "1999"),
        ("set", "2027-01-04", "workday"),
        ("set", "2027-01-01", "festival"),
        ("publish", "2027"),  # nothing entered yet
    ],
)
def test_bad_input_raises_invalid(cli, args) -> None:  # noqa: ANN001
    r = cli(*args)
    assert isinstance(r.exception, Invalid), (r.exception, r.output)


def test_enter_show_and_publish_next_year(cli) -> None:  # noqa: ANN001
    shown = cli("show", "2027")
    assert shown.exit_code == 0 and "NOT published" in shown.stdout
    assert cli("set", "2027-01-01", "holiday", "--name", "元旦").exit_code == 0
    assert cli("set", "2027-01-09", "workday").exit_code == 0
    assert cli("unset", "2027-01-09").exit_code == 0
    shown = cli("show", "2027")
    assert "2027-01-01 Fri  holiday  元旦" in shown.stdout and "2027-01-09" not in shown.stdout
    assert cli("add-workdays", "2026-12-31", "1").stdout == "2027-01-01\n"  # a draft changes nothing
    published = cli("publish", "2027")
    assert published.exit_code == 0 and "2027 published" in published.stdout
    r = cli("add-workdays", "2026-12-31", "1")
    assert (r.stdout, r.stderr) == ("2027-01-04\n", "")
    shown = cli("show", "2026")
    assert shown.stdout.startswith("2026: published (chinesecalendar")
    assert "2026-10-01 Thu  holiday  国庆节" in shown.stdout


def test_the_installed_command(url: str) -> None:
    r = run(url, "add-workdays", "2026-09-28", "10")
    assert (r.returncode, r.stdout) == (0, "2026-10-16\n"), r.stderr
    bad = run(url, "add-workdays", "2026-02-30", "10")
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_a_cached_calendar_sees_what_another_process_commits(url: str) -> None:
    db = Database(url)
    try:
        with db.read() as s:
            assert queries.add_workdays(s, dt.date(2026, 12, 31), 1).provisional
            cached = queries.calendar(s)
        with db.read() as s:
            assert queries.calendar(s) is cached  # nothing changed: the cache answers
        for args in (("set", "2027-01-01", "holiday", "--name", "元旦"), ("publish", "2027")):
            assert run(url, *args).returncode == 0
        with db.read() as s:
            deadline = queries.add_workdays(s, dt.date(2026, 12, 31), 1)
        assert (deadline.date, deadline.provisional) == (dt.date(2027, 1, 4), False)
        assert run(url, "unset", "2027-01-01").returncode == 0  # a correction to a published year
        with db.read() as s:
            assert queries.add_workdays(s, dt.date(2026, 12, 31), 1).date == dt.date(2027, 1, 1)
    finally:
        db.dispose()

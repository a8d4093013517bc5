"""`zhicheng calendar …`: count working days, show a year, and enter next year's arrangement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from zhicheng.core.calendar import queries, services
from zhicheng.core.calendar.clock import check_year, local_date, parse_day
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.settings import load

app = typer.Typer(help="The working-day calendar (Asia/Shanghai).", no_args_is_help=True)
OPERATOR = Actor(kind="cli", name="operator")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@contextmanager
def _db() -> Iterator[Database]:
    db = Database.from_settings(load())
    try:
        yield db
    finally:
        db.dispose()


def _year(text: str) -> int:
    if not text.strip().isdigit():
        raise Invalid(f"年份应为四位数字：{text!r}", f"a year must be four digits: {text!r}")
    return check_year(int(text))


@app.command("add-workdays")
def add_workdays(
    start: Annotated[str, typer.Argument(help="YYYY-MM-DD; the start day itself is not counted")],
    days: Annotated[str, typer.Argument(help="working days to add (0 or more)")],
) -> None:
    """Print the date N working days after START (a provisional date also gets a note on stderr)."""
    day = parse_day(start)
    if not days.strip().lstrip("-").isdigit():
        raise Invalid(
            f"工作日数应为整数：{days!r}", f"the number of working days must be an integer: {days!r}"
        )
    with _db() as db, db.read() as s:
        deadline = queries.add_workdays(s, day, int(days))
    typer.echo(deadline.date.isoformat())
    if deadline.provisional:
        typer.echo(
            "note: provisional, a year it touches is not published yet (weekends only) / "
            "暂定：涉及的年度尚未发布节假日安排，仅按周末计算",
            err=True,
        )


@app.command("show")
def show(year: Annotated[str, typer.Argument(help="e.g. 2027")]) -> None:
    """List a year's exceptions to the weekend rule and whether it is published."""
    number = _year(year)
    with _db() as db, db.read() as s:
        view = queries.year(s, number)
    if view.published:
        when = local_date(view.published_at).isoformat() if view.published_at else "?"
        typer.echo(f"{number}: published ({view.source}, {when})")
    else:
        typer.echo(f"{number}: NOT published: deadlines touching it are provisional (weekends only)")
    for d in view.days:
        typer.echo(f"  {d.day.isoformat()} {WEEKDAYS[d.day.weekday()]}  {d.kind:<7}  {d.name}")
    holidays = sum(d.kind == "holiday" for d in view.days)
    typer.echo(f"  {holidays} weekday holidays, {len(view.days) - holidays} adjusted workdays")


@app.command("set")
def set_day(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    kind: Annotated[str, typer.Argument(help="holiday (a weekday off) or workday (a weekend day worked)")],
    name: Annotated[str, typer.Option("--name", help="e.g. 元旦; a workday defaults to 调休")] = "",
) -> None:
    """Mark a day as a holiday or an adjusted workday."""
    when = parse_day(day)
    with _db() as db, unit_of_work(db, OPERATOR) as uow:
        row = services.set_day(uow, when, kind.strip().lower(), name)
    typer.echo(f"{row.day.isoformat()} {row.kind} {row.name}")


@app.command("unset")
def unset_day(day: Annotated[str, typer.Argument(help="YYYY-MM-DD")]) -> None:
    """Remove an exception: the day follows the weekend rule again."""
    when = parse_day(day)
    with _db() as db, unit_of_work(db, OPERATOR) as uow:
        services.unset_day(uow, when)
    typer.echo(f"{when.isoformat()} removed")


@app.command("publish")
def publish(year: Annotated[str, typer.Argument(help="e.g. 2027")]) -> None:
    """Put a year's arrangement in force; provisional deadlines touching it are recomputed."""
    number = _year(year)
    with _db() as db, unit_of_work(db, OPERATOR) as uow:
        _, moved = services.publish_year(uow, number)
    typer.echo(f"{number} published; {moved} clocks recomputed")

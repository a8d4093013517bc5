"""`zhicheng exchange …`: load a file into a hosted resource, pull a resource from its provider now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.exchange import loading, pulls, queries
from zhicheng.exchange.models import DataLoad
from zhicheng.settings import load as load_settings

app = typer.Typer(help="The data behind catalog resources: loads and pulls.", no_args_is_help=True)
OPERATOR = Actor(kind="cli", name="operator")
SHOWN = 20  # report lines printed; the whole report is in --json and the API


def _db() -> Database:
    return Database.from_settings(load_settings())


def _print(load: DataLoad, as_json: bool) -> None:
    if as_json:
        keys = ("id", "source", "filename", "format", "mode", "rows_read", "rows_loaded", "rows_rejected")
        out = {k: getattr(load, k) for k in keys} | {"digest": load.digest, "report": load.report}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for p in load.report[:SHOWN]:
        where = f"第 {p['row']} 行 " if p.get("row") is not None else ""
        typer.echo(f"{where}{p.get('item', '')}: {p['zh']} / {p['en']}", err=True)
    if len(load.report) > SHOWN:
        typer.echo(f"… {len(load.report) - SHOWN} more in the report (--json)", err=True)
    zh, en = loading.summary(load)
    typer.echo(f"导入 #{load.id}: {zh} / {en}")


@app.command("load")
def load_file(
    code: Annotated[str, typer.Argument(help="the resource code")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK), .xlsx or JSON; row 1 names the items")],
    mode: Annotated[
        str, typer.Option("--mode", help="full (replace all rows) or incremental (add)")
    ] = "full",
    as_json: Annotated[
        bool, typer.Option("--json", help="print the load and its whole report as JSON")
    ] = False,
) -> None:
    """Load a file into a hosted resource; bad rows are reported, good rows loaded. Exits 1 if any row was
    rejected, 2 (one line) if the file could not be loaded at all."""
    if not file.is_file():
        raise Invalid(f"文件不存在：{file}", f"no such file: {file}")
    db = _db()
    try:
        with file.open("rb") as fh, unit_of_work(db, OPERATOR) as uow:
            _, ds = queries.hosted_dataset(uow.session, code)
            load = loading.load_file(uow, ds.id, fh, file.name, mode)
    finally:
        db.dispose()
    _print(load, as_json)
    if load.rows_rejected:
        raise typer.Exit(1)


@app.command("pull")
def pull_now(
    code: Annotated[str, typer.Argument(help="the resource code")],
    as_json: Annotated[bool, typer.Option("--json", help="print the load and its report as JSON")] = False,
) -> None:
    """Pull a resource from its provider now (as the worker does on schedule). Exits 2 with one line if
    the pull failed; the previous rows are kept."""
    db = _db()
    try:
        with db.read() as s:
            _, ds = queries.hosted_dataset(s, code)
        load = pulls.run(db, ds.id, OPERATOR)
    finally:
        db.dispose()
    _print(load, as_json)
    if load.rows_rejected:
        raise typer.Exit(1)

"""`zhicheng catalog …`: import a department's catalogue from .xlsx/CSV, export it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from zhicheng.catalog import importer, transfer
from zhicheng.core.db import Actor, Database
from zhicheng.core.errors import Invalid
from zhicheng.settings import load

app = typer.Typer(help="The data resource catalog: import, export, reindex.", no_args_is_help=True)
OPERATOR = Actor(kind="cli", name="operator")
OUTCOMES = (("created", "新建"), ("updated", "更新"), ("unchanged", "未变"), ("failed", "失败"))


def _db() -> Database:
    return Database.from_settings(load())


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help=".xlsx or CSV (UTF-8 or GBK) with Chinese headers")],
    provider: Annotated[int, typer.Option("--provider", help="id of the department that provides them")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and report, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Create or update the department's resources; report every bad row. Exits 1 if any resource failed."""
    if not file.is_file():
        raise Invalid(f"文件不存在：{file}", f"no such file: {file}")
    if file.stat().st_size > transfer.MAX_BYTES:
        raise Invalid("文件超过 10 MB，请拆分后导入", "the file is larger than 10 MB; split it")
    db = _db()
    try:
        report = importer.import_sheet(
            db, OPERATOR, provider, transfer.read_file(file.read_bytes(), file.name), dry_run
        )
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report)
    if report["counts"]["failed"] or report["problems_total"]:
        raise typer.Exit(1)


def _print(report: dict) -> None:
    for p in report["problems"]:
        where = f"第 {p['row']} 行" + (f" {p['column']}" if p["column"] else "")
        cell = f" [{p['cell']}]" if p["cell"] else ""
        typer.echo(f"{where}{cell}: {p['zh']} / {p['en']}", err=True)
    if report["problems_total"] > len(report["problems"]):
        typer.echo(f"… {report['problems_total']} problems in all", err=True)
    counts = report["counts"]
    zh = "，".join(f"{label} {counts[k]}" for k, label in OUTCOMES)
    en = ", ".join(f"{k} {counts[k]}" for k, _ in OUTCOMES)
    prefix = "试运行（未写入）/ dry run (nothing written): " if report["dry_run"] else ""
    typer.echo(f"{prefix}{zh} / {en}")


@app.command("export")
def export_file(
    output: Annotated[Path, typer.Option("--output", help="FILE.xlsx or FILE.csv")],
    provider: Annotated[int | None, typer.Option("--provider", help="one department's; default all")] = None,
) -> None:
    """Write the published catalogue as .xlsx or CSV (UTF-8 with BOM), ready to edit and import back."""
    kind = output.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv"):
        raise Invalid("输出文件须以 .xlsx 或 .csv 结尾", "the output file must end in .xlsx or .csv")
    db = _db()
    try:
        with db.read() as s:
            rows = transfer.export_rows(s, provider)
    finally:
        db.dispose()
    output.write_bytes(transfer.write_xlsx(rows) if kind == "xlsx" else transfer.write_csv(rows))
    typer.echo(f"{len(rows)} rows written to {output}")


@app.command("reindex")
def reindex() -> None:
    """Rebuild the full-text search index (after renaming organizations or classes, or a restore)."""
    from zhicheng.catalog.search import reindex_all

    count = reindex_all(_db())
    typer.echo(f"indexed {count} resources")

"""`zhicheng jobs ...`: look at jobs and retry failed ones. (`zhicheng worker` runs a worker.)"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.jobs import queries, services
from zhicheng.core.jobs.schemas import JobFilter, JobOut
from zhicheng.settings import load

app = typer.Typer(help="Background jobs and timers.", no_args_is_help=True)
CLI_ACTOR = Actor(kind="cli", name="operator")


def _db() -> Database:
    return Database.from_settings(load())


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="pending, running, done or failed")] = None,
    kind: Annotated[str | None, typer.Option(help="a job kind; ending in '.' matches a prefix")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="how many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object: jobs, counts, workers")] = False,
) -> None:
    """List recent jobs, newest first, with the workers' heartbeats."""
    f = JobFilter(status=status, kind=kind)
    db = _db()
    with db.read() as s:
        rows = [JobOut.model_validate(j) for j in queries.jobs(s, f, limit)]
        summ = queries.summary(s)
    db.dispose()
    if as_json:
        out = {
            "jobs": [r.model_dump(mode="json") for r in rows],
            "counts": summ.counts,
            "overdue": summ.overdue,
            "workers": [w.model_dump(mode="json") for w in summ.workers],
        }
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    alive = sum(w.alive for w in summ.workers)
    counts = "  ".join(f"{k} {v}" for k, v in summ.counts.items())
    typer.echo(f"workers alive: {alive}   {counts}   overdue {summ.overdue}")
    for r in rows:
        error = f"  ! {r.last_error}" if r.last_error else ""
        typer.echo(
            f"{r.id:>8}  {r.status:<8} {r.kind:<24} due {r.due_at:%Y-%m-%d %H:%M:%S}Z  "
            f"attempts {r.attempts}/{r.max_attempts}{error}"
        )


@app.command("retry")
def retry(job_id: int) -> None:
    """Give a failed job a fresh set of attempts, due now."""
    db = _db()
    with unit_of_work(db, CLI_ACTOR) as uow:
        services.retry(uow, job_id)
    db.dispose()
    typer.echo(f"job {job_id} is pending again")

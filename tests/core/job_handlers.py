"""Job handlers that exist only for tests. A worker subprocess loads them through
ZHICHENG_JOB_MODULES=tests.core.job_handlers (with the repository root on PYTHONPATH)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from zhicheng.core.jobs.registry import JobContext, handler

KINDS = ("test.run", "test.fail", "test.flaky", "test.block", "test.slow")
BLOCK_LIMIT = 120  # seconds: a blocked handler gives up by itself, so no test can hang for ever


@handler("test.run")
def run(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The effect every test counts: one audit record per run, committed with the job's completion."""
    ctx.record("test:job:run", f"job:{ctx.job_id}", {"attempt": ctx.attempt, **payload})


@handler("test.fail")
def fail(ctx: JobContext, payload: dict[str, Any]) -> None:
    ctx.record("test:job:run", f"job:{ctx.job_id}", {"attempt": ctx.attempt})  # rolled back with the error
    raise RuntimeError(payload.get("message", "boom"))


@handler("test.flaky")
def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Fails its first `fail_times` attempts, then succeeds."""
    if ctx.attempt <= payload.get("fail_times", 1):
        raise ValueError(f"flaky attempt {ctx.attempt}")
    run(ctx, {})


@handler("test.slow")
def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Writes its effect, then takes `ms` milliseconds: longer than a short lease, so others take over."""
    run(ctx, {})
    ctx.session.flush()
    time.sleep(payload["ms"] / 1000)


@handler("test.block")
def block(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Writes its effect, tells the test it has (a file), then waits for a release file."""
    run(ctx, {})
    ctx.session.flush()  # the effect is now written inside the job's open transaction
    Path(payload["started"]).write_text(str(ctx.attempt))
    release = Path(payload["release"])
    deadline = time.monotonic() + BLOCK_LIMIT
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("test.block was never released")
        time.sleep(0.05)

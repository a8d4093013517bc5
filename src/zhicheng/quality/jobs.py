"""The quality sweep: every ten minutes, stale data is flagged to its provider (and cleared once updated),
maintenance tasks close when their resource gets a new catalog version, and overdue corrections and tasks are
escalated to the data authority."""

from __future__ import annotations

from typing import Any

from zhicheng.core.jobs.registry import JobContext, periodic
from zhicheng.quality import services

SWEEP_EVERY = 600  # seconds; cycles are days and deadlines working days, so ten minutes is prompt enough


@periodic("quality.sweep", seconds=SWEEP_EVERY)
def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    services.sweep(ctx.uow)

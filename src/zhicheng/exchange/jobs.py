"""Scheduled pulls (every minute the worker runs the pulls whose time has come) and the usage roll-up.

Each pull runs in transactions of its own (the provider may take a while to answer, and a failing pull must
still leave its failure on record), hence own_transactions; running again is harmless, because a pull that
ran is not due again until every_minutes later.
"""

from __future__ import annotations

from typing import Any

from zhicheng.core.jobs.registry import JobContext, periodic
from zhicheng.exchange import pulls, usage

PULL_EVERY = 60  # seconds; pull intervals are in minutes


@periodic("exchange.pull", seconds=PULL_EVERY, own_transactions=True)
def pull_due(ctx: JobContext, payload: dict[str, Any]) -> None:
    pulls.run_due(ctx.db, ctx.uow.actor)


USAGE_EVERY = 60  # seconds: the usage charts may lag a minute behind the audit trail


@periodic("exchange.usage", seconds=USAGE_EVERY)
def roll_up_usage(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Count the calls recorded since the last run into the usage table (see usage.py)."""
    while usage.roll_up(ctx.uow) == usage.BATCH:
        pass

"""The jobs module's own periodic task: forget finished jobs after a week.

Failed jobs stay until an operator retries them; periodic tasks keep one row each and are never pruned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from zhicheng.core.jobs.registry import JobContext, periodic
from zhicheng.core.jobs.services import prune

KEEP_DONE = dt.timedelta(days=7)


@periodic("jobs.prune", seconds=3600, own_transactions=True)
def prune_done(ctx: JobContext, payload: dict[str, Any]) -> None:
    while prune(ctx.db, KEEP_DONE) > 0:
        pass

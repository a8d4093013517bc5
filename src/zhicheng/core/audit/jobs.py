"""Seal the audit chain in the background, about once a second.

Writers only append unsealed records (cheap, no contention on the chain's head); this task chains them
in batches of `settings.audit_seal_batch`. `seal` opens its own transactions and is safe to repeat and
to run concurrently (an advisory lock on PostgreSQL, the write lock on SQLite), which is what a task
registered with own_transactions=True must be. It loops while full batches come back, so a burst of
writes is sealed within the tick rather than a batch per second.
"""

from __future__ import annotations

from typing import Any

from zhicheng.core.audit.services import seal
from zhicheng.core.jobs.registry import JobContext, periodic

MAX_BATCHES_PER_TICK = 20  # then yield to other jobs; the next tick continues


@periodic("audit.seal", seconds=1, own_transactions=True)
def seal_pending(ctx: JobContext, payload: dict[str, Any]) -> None:
    batch = ctx.settings.audit_seal_batch
    for _ in range(MAX_BATCHES_PER_TICK):
        if seal(ctx.db, batch) < batch:
            return

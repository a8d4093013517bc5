"""The outbox's periodic task: deliver due messages every two seconds.

It opens its own short transactions (claim, then one per outcome) so that no transaction is held while a
webhook answers; a run repeated after a worker's crash only re-sends messages whose claim expired.
"""

from __future__ import annotations

from typing import Any

from zhicheng.core.jobs.registry import JobContext, periodic
from zhicheng.core.notify import services

DELIVER_EVERY = 2  # seconds


@periodic("notify.deliver", seconds=DELIVER_EVERY, own_transactions=True)
def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    services.deliver_due(ctx.db, ctx.settings)

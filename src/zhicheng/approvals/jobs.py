"""The approvals sweep: every ten minutes, 容缺 cases whose materials did not arrive are terminated, cases
past their promised limit and tasks past their stage budget are escalated (督办), and due dates moved by a
calendar edit are copied onto cases and tasks; rectifications of bad ratings (差评整改) past their deadline
are escalated once per round."""

from __future__ import annotations

from typing import Any

from zhicheng.approvals import ratings, supervision
from zhicheng.core.jobs.registry import JobContext, periodic

SWEEP_EVERY = 600  # seconds; limits are working days, so ten minutes is prompt enough


@periodic("approvals.sweep", seconds=SWEEP_EVERY)
def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    supervision.sweep(ctx.uow)


@periodic("approvals.rectifications", seconds=SWEEP_EVERY)
def sweep_rectifications(ctx: JobContext, payload: dict[str, Any]) -> None:
    ratings.sweep_rectifications(ctx.uow)

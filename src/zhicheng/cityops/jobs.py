"""The city operations sweep: every ten minutes, cases past their dispatch or handle due date are escalated
(超期督办, once per clock) and due dates moved by a calendar edit are copied onto the cases."""

from __future__ import annotations

from typing import Any

from zhicheng.cityops import loop
from zhicheng.core.calendar.clock import today
from zhicheng.core.jobs.registry import JobContext, periodic

SWEEP_EVERY = 600  # seconds


@periodic("cityops.sweep", seconds=SWEEP_EVERY)
def sweep(ctx: JobContext, payload: dict[str, Any]) -> None:
    loop.sweep(ctx.uow, today())

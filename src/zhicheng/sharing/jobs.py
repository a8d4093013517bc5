"""Escalation: every ten minutes, requests whose current step is overdue are flagged to the data authority."""

from __future__ import annotations

from typing import Any

from zhicheng.core.jobs.registry import JobContext, periodic
from zhicheng.sharing import services

ESCALATE_EVERY = 600  # seconds; deadlines are in working days, so ten minutes is prompt enough


@periodic("sharing.escalate", seconds=ESCALATE_EVERY)
def escalate(ctx: JobContext, payload: dict[str, Any]) -> None:
    services.escalate_overdue(ctx.uow)

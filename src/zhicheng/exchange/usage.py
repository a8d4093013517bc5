"""Usage statistics: calls and rows per day × resource × grant, rolled up from the audit trail.

The trail is the truth (every call leaves "exchange:records:read" with resource, grant, consumer and rows);
this roll-up only makes charts cheap. It reads the records past its mark in batches and adds them to the
day's counters in the same transaction that moves the mark, so a record is counted once even when a
worker dies mid-way. Days are Asia/Shanghai days.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import UnitOfWork
from zhicheng.exchange.models import RollupMark, Usage

TAG = "exchange:records:read"
MARK = "usage"
BATCH = 20_000


def roll_up(uow: UnitOfWork, batch: int = BATCH) -> int:
    """Count the next batch of calls into the usage table; returns how many calls were counted."""
    s = uow.session
    mark = s.get(RollupMark, MARK, with_for_update=True)
    if mark is None:
        mark = RollupMark(name=MARK, last_audit_id=0)
        s.add(mark)
    rows = s.execute(
        select(AuditRecord.id, AuditRecord.at, AuditRecord.change)
        .where(AuditRecord.id > mark.last_audit_id, AuditRecord.tag == TAG)
        .order_by(AuditRecord.id)
        .limit(batch)
    ).all()
    if not rows:
        return 0
    calls: Counter[tuple[Any, ...]] = Counter()
    volume: Counter[tuple[Any, ...]] = Counter()
    for _, at, change in rows:
        c = json.loads(change)
        key = (
            local_date(at),
            int(c.get("resource_id") or 0),
            int(c.get("grant") or 0),
            int(c.get("consumer") or 0),
        )
        calls[key] += 1
        volume[key] += int(c.get("rows") or 0)
    for (day, resource_id, grant_id, consumer), n in calls.items():
        found = s.get(Usage, (day, resource_id, grant_id))
        if found is None:
            s.add(
                Usage(
                    day=day,
                    resource_id=resource_id,
                    grant_id=grant_id,
                    consumer_org_id=consumer,
                    calls=n,
                    rows=volume[(day, resource_id, grant_id, consumer)],
                )
            )
        else:
            found.calls += n
            found.rows += volume[(day, resource_id, grant_id, consumer)]
    mark.last_audit_id = rows[-1][0]
    return len(rows)

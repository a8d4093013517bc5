"""Group commit of single reports: concurrent `intake` reports of one process written in one transaction.

The rules are intake.report's (grid assignment, routing, the duplicate merge within the radius and window,
the Idempotency-Key, one audit record per report, the roll-ups), applied to a batch on a lean write path
(batch_write.py):
Core statements instead of the ORM's unit of work (the cases, reporters and events of a batch are inserted
with one statement each), the duplicate search also among the cases opened earlier in the same batch, and
the roll-up delta of the new cases written directly (rollup.opened; the ORM hook sees nothing of these
Core inserts, so nothing is counted twice).

`prepare` checks what needs no database (the channel, the point, the time) before a report joins a batch.
A report that breaks a rule in the batch (outside the city, unknown category) gets its error and writes
nothing; the others go on. If the transaction itself fails, each report is retried alone, so one bad report
never sinks the others. Every caller is answered only after the commit that holds its report.

Two front ends gather the batches without a timer (core.batching): `submit` for threads,
`submit_async` for coroutines (cityops.lane: the batch runs in a worker thread while the event loop
reads the next requests, which form the next batch)."""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from typing import Any

from zhicheng.cityops import intake, vocab
from zhicheng.cityops.batch_write import MAX_BATCH, Item, write
from zhicheng.cityops.intake import Outcome, Rules, _url
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core import batching
from zhicheng.core.db import Actor, Database, utcnow
from zhicheng.core.errors import DomainError, Invalid

__all__ = ["MAX_BATCH", "Item", "prepare", "run", "submit", "submit_async", "write"]


def prepare(
    actor: Actor,
    data: ReportIn,
    *,
    channel: str,
    rules: Rules = Rules(),
    idempotency_key: str | None = None,
    today: dt.date | None = None,
) -> Item:
    """The checks that need no database. An unknown channel raises at once; a bad point or time is kept
    on the item and answered after the Idempotency-Key lookup (a retry gets its first answer, as in
    intake.report)."""
    if channel not in vocab.CHANNELS:
        raise Invalid(f"未知的上报渠道：{channel}", f"unknown channel: {channel}")
    token = f"{actor.label}|{idempotency_key}"[:250] if idempotency_key else None
    item = Item(actor, data, channel, token, rules, today)
    try:
        item.lng, item.lat = intake.where(data)
        item.at = intake.when(data, utcnow())
    except DomainError as exc:
        item.error = exc
    return item


def run(db: Database, items: list[Item]) -> list[Outcome | BaseException]:
    """Write `items` in one transaction; if the transaction fails, each alone (its own failure is its own
    answer). Never raises for a report's sake."""
    try:
        return _commit(db, items)  # type: ignore[return-value]
    except Exception as exc:
        if len(items) == 1:
            return [exc]
    out: list[Outcome | BaseException] = []
    for it in items:
        try:
            out.extend(_commit(db, [it]))
        except Exception as exc:
            out.append(exc)
    return out


def _commit(db: Database, items: list[Item]) -> list[Outcome | DomainError]:
    """One transaction on a Core connection (no ORM session: nothing here needs one); on SQLite it begins
    holding the write lock, as a unit of work does (core.db)."""
    with db.write_transaction() as conn:
        return write(conn, _url(conn), items)


# --- front ends: threads and coroutines (core.batching) -----------------------------------------------------


def _run(db: Database, items: list[Item]) -> list[Outcome | BaseException]:
    return run(db, items)  # `run` looked up at each batch, not bound once: tests replace it


class LoopBatcher(batching.LoopBatcher[Item, Outcome]):
    """Reports from coroutines (cityops.lane). One lane: two on PostgreSQL measured no faster and cost more
    CPU per report, as the batches get smaller; and batches in flight together that hold reports of one
    class nearby wait for each other's commit (cityops.dedupe)."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        super().__init__(batching.weakly(_run, db), max_batch)


_batchers: batching.PerDatabase[Item, Outcome] = batching.PerDatabase(_run, MAX_BATCH)
_loop_batchers: weakref.WeakKeyDictionary[Any, dict[Database, LoopBatcher]] = weakref.WeakKeyDictionary()


def submit(db: Database, item: Item) -> Outcome:
    """Report from a thread; returns once committed (grouped with concurrent reports of this process)."""
    return _batchers(db).submit(item)


async def submit_async(db: Database, item: Item) -> Outcome:
    """Report from a coroutine; returns once committed."""
    loop = asyncio.get_running_loop()
    groups = _loop_batchers.setdefault(loop, {})
    found = groups.get(db)
    if found is None:
        found = groups[db] = LoopBatcher(db)
    return await found.submit(item)

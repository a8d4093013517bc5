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

Two front ends gather the batches without a timer: `Batcher.submit` for threads (leader and followers, as
core.audit.group), `LoopBatcher.submit` for coroutines (cityops.lane: the batch runs in a worker thread
while the event loop reads the next requests, which form the next batch)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from zhicheng.cityops import intake, vocab
from zhicheng.cityops.batch_write import MAX_BATCH, Item, write
from zhicheng.cityops.intake import Outcome, Rules, _url
from zhicheng.cityops.schemas import ReportIn
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


def _answer(result: Outcome | BaseException) -> Outcome:
    if isinstance(result, BaseException):
        raise result
    return result


# --- front ends: threads and coroutines ---------------------------------------------------------------


@dataclass
class _Slot:
    item: Item
    done: bool = False
    result: Outcome | BaseException | None = None


class Batcher:
    """Threads hand over a report and wait; the first to find nobody writing leads: it takes every report
    queued so far (up to MAX_BATCH), writes them in one transaction and wakes their callers. Reports that
    arrive meanwhile form the next batch. Alone, a report is a batch of one."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self.cond = threading.Condition()
        self.queue: list[_Slot] = []
        self.writing = False

    def submit(self, item: Item) -> Outcome:
        slot = _Slot(item)
        with self.cond:
            self.queue.append(slot)
            while self.writing and not slot.done:
                self.cond.wait()
            if slot.done:
                return _answer(slot.result)  # type: ignore[arg-type]
            self.writing = True
            batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
        results: list[Outcome | BaseException] = []
        try:
            results = run(self.db, [s.item for s in batch])
        except BaseException as exc:  # not a report's failure (an interrupt): nobody of the batch is stored
            results = [exc] * len(batch)
        finally:
            with self.cond:
                for s, r in zip(batch, results, strict=False):
                    s.done, s.result = True, r
                for s in batch[len(results) :]:
                    s.done, s.result = True, RuntimeError("report not written")
                self.writing = False
                self.cond.notify_all()
        return _answer(slot.result)  # type: ignore[arg-type]


class LoopBatcher:
    """The same for coroutines: each awaits its report's commit. A batch runs in a worker thread; the
    requests read meanwhile wait in `pending` and form the next one. `lanes` batches may be in flight at
    once; one by default (two on PostgreSQL measured no faster and cost more CPU per report, as the
    batches get smaller; and batches in flight together that hold reports of one class nearby wait for
    each other's commit, cityops.dedupe)."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH, lanes: int | None = None) -> None:
        self.db = db
        self.max_batch = max_batch
        self.lanes = lanes if lanes is not None else 1
        self.pending: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self.running = 0

    async def submit(self, item: Item) -> Outcome:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outcome] = loop.create_future()
        self.pending.append((item, done))
        if self.running < self.lanes:
            self.running += 1
            loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0)  # let the requests already read this turn join the first batch
            while self.pending:
                batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
                try:
                    results = await loop.run_in_executor(None, run, self.db, [it for it, _ in batch])
                except BaseException as exc:
                    results = [exc] * len(batch)
                for (_, done), r in zip(batch, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(r, BaseException):
                        done.set_exception(r)
                    else:
                        done.set_result(r)
        finally:
            self.running -= 1


_batchers: weakref.WeakKeyDictionary[Database, Batcher] = weakref.WeakKeyDictionary()
_loop_batchers: weakref.WeakKeyDictionary[Any, dict[Database, LoopBatcher]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def batcher(db: Database) -> Batcher:
    found = _batchers.get(db)
    if found is None:
        with _lock:
            found = _batchers.setdefault(db, Batcher(db))
    return found


def submit(db: Database, item: Item) -> Outcome:
    """Report from a thread; returns once committed (grouped with concurrent reports of this process)."""
    return batcher(db).submit(item)


async def submit_async(db: Database, item: Item) -> Outcome:
    """Report from a coroutine; returns once committed."""
    loop = asyncio.get_running_loop()
    groups = _loop_batchers.setdefault(loop, {})
    found = groups.get(db)
    if found is None:
        found = groups[db] = LoopBatcher(db)
    return await found.submit(item)

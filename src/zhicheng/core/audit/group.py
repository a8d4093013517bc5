"""Group commit for records that stand alone: the audit record of a read (an exchange call changes
nothing else, yet must not answer before its record is committed).

Each caller hands over its record and waits (core.batching). The first caller to find nobody writing
becomes the leader: it takes every record queued so far, writes them in one INSERT, commits once, and wakes
their callers; records that arrive meanwhile form the next batch, led by one of them. So under load one
commit carries many records (SQLite's single writer stops being the queue) and alone a record costs one
commit as before. No thread of its own: the leader is always a caller, so nothing runs after the app stops.
A failed commit fails every call of its batch: no answer leaves without its record.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from zhicheng.core.batching import PerDatabase
from zhicheng.core.db import Actor, Database

MAX_BATCH = 500


def _write(db: Database, entries: list[dict[str, Any]]) -> list[None]:
    from zhicheng.core.audit.services import insert_entries

    with db.transaction() as conn:
        insert_entries(conn, entries)
    return [None] * len(entries)


# the threads' group commit (core.batching): a failed commit is every waiter's answer
_groups: PerDatabase[dict[str, Any], None] = PerDatabase(_write, MAX_BATCH)


def append_read(db: Database, actor: Actor, tag: str, subject: str, change: dict[str, Any]) -> None:
    """Append the record of a read and return once it is committed (grouped with concurrent ones)."""
    from zhicheng.core.audit.services import entry

    append_entry(db, entry(actor, tag, subject, change))


class LoopGroup:
    """The same grouping for callers on an event loop: each awaits its record's commit; the flush is
    scheduled behind the callbacks already ready, so requests that are in flight together share one
    commit. The flush runs on the loop itself (one short INSERT and COMMIT)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.scheduled = False

    async def append(self, entry: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.pending.append((entry, done))
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self._flush)
        await done

    def _flush(self) -> None:
        self.scheduled = False
        batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        if self.pending:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            _write(self.db, [e for e, _ in batch])
        except Exception as exc:  # every waiter of the batch learns the record was not kept
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)


_loop_groups: weakref.WeakKeyDictionary[Any, dict[Database, LoopGroup]] = weakref.WeakKeyDictionary()


async def append_read_async(db: Database, record: dict[str, Any]) -> None:
    """Append a prepared record (services.entry) from a coroutine; returns once it is committed."""
    loop = asyncio.get_running_loop()
    groups = _loop_groups.setdefault(loop, {})
    group = groups.get(db)
    if group is None:
        group = groups[db] = LoopGroup(db)
    await group.append(record)


def append_entry(db: Database, record: dict[str, Any]) -> None:
    """Append a prepared record from a thread; returns once it is committed."""
    _groups(db).submit(record)

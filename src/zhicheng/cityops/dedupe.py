"""The duplicate decision made race-free across processes: the locks both intake paths (intake.report and
the batch write path, cityops.batch_write) take before they look for a case to merge into.

Looking for a nearby open case and opening one when there is none is a check-then-insert. On SQLite it
cannot race: a unit of work or a batch begins holding the database's write lock (BEGIN IMMEDIATE,
core.db), so writers run one at a time and each sees every case committed before it. On PostgreSQL (READ
COMMITTED) two transactions, in two API workers, could both find no candidate for two reports 10 m apart
and both open a case. There each transaction first takes transaction-scoped advisory locks, held until
its commit, on keys of (category, coarse H3 cell): whoever comes second waits for the first to commit, and
its candidate query sees the case the first opened. The locks are a statement of their own because a
statement under READ COMMITTED sees what was committed when it began: a query that took the locks itself
would still miss the case committed while it waited.

Why two reports within the radius always share a key: the k-ring of a report's cell holds the cell of
every point within the radius of the report (intake.ring_size), so the first report's ring holds the
second's cell; and each report locks the parents of all the cells of its ring, its own cell among them.
Both therefore lock the parent of the second report's cell. This holds whatever radius each process is
configured with (a process with the duplicate rule off searches nothing and locks nothing), as long as
LOCK_RES is the same everywhere. Reports of other categories, or far apart, take other keys and do not
wait for each other.

LOCK_RES trades waiting against the number of locks: at resolution 8 (cells of about 0.74 km²) the 19
cells of a 50 m ring have 1 to 3 parents (2.3 on average), so a batch of 200 reports takes at most 600
locks, well within PostgreSQL's shared lock table (max_locks_per_transaction × max_connections).
Two transactions wait for each other only when they hold reports of the same category within a few
hundred metres, and then only until the first commits. All of a transaction's keys are taken in one
statement in ascending order, so two transactions never wait for each other in a cycle.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from hashlib import blake2b

import h3.api.basic_int as h3
from sqlalchemy.engine import Connection

LOCK_RES = 8
# ascending order: the Python sort, and PostgreSQL evaluates a volatile call in the select list after ORDER BY
_LOCK = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k"


def key(category_id: int, parent: int) -> int:
    """The lock key of a category in a LOCK_RES cell: a signed 64-bit digest, the same in every process
    (Python's hash() is salted per process). Two pairs sharing a key, or a key shared with another advisory
    lock (audit sealing's), would only make transactions wait needlessly, and are as likely as any 64-bit
    collision."""
    raw = blake2b(struct.pack(">qQ", category_id, parent), digest_size=8, person=b"zc.cityops.dup").digest()
    return int.from_bytes(raw, "big", signed=True)


def keys(category_id: int, ring: Iterable[int]) -> set[int]:
    """The keys a report of the category with this k-ring (cells at vocab.H3_RES) locks."""
    return {key(category_id, p) for p in {h3.cell_to_parent(c, LOCK_RES) for c in ring}}


def locking(conn: Connection) -> bool:
    """Whether the duplicate decision takes the locks: on PostgreSQL. SQLite's writers hold the database's
    write lock, and its intake spends nothing on keys."""
    return conn.dialect.name == "postgresql"


def lock(conn: Connection, wanted: set[int]) -> None:
    """Take the keys in this transaction (PostgreSQL), until its commit or rollback. A key the transaction
    holds already is granted again at once."""
    if wanted:
        conn.exec_driver_sql(_LOCK, (sorted(wanted),))

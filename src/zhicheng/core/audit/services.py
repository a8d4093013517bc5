"""Append, seal and verify the audit chain."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from zhicheng.core.audit.chain import GENESIS, canonical_json, record_hash, sm3_hex
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, utcnow
from zhicheng.core.errors import Invalid

TAG = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_.-]*:[a-z][a-z0-9_-]*$")
SEAL_LOCK = 0x5A43_4155  # pg advisory lock key: one sealer at a time


def entry(
    actor: Actor, tag: str, subject: str, change: dict[str, Any], at: dt.datetime | None = None
) -> dict[str, Any]:
    """The row of one audit record, checked and digested, ready to insert; `at` now unless given (a group
    commit's records bear the time of their commit)."""
    if not TAG.match(tag):
        raise Invalid(
            f"审计标签格式应为 模块:对象:动作，收到 {tag!r}",
            f"audit tag must be module:subject:action, got {tag!r}",
        )
    body = canonical_json(change)
    return {
        "at": at or utcnow(),
        "actor": actor.label[:160],
        "user_id": actor.user_id,
        "org_id": actor.org_id,
        "tag": tag,
        "subject": subject[:200],
        "change": body,
        "change_digest": sm3_hex(body.encode()),
    }


_INSERT = insert(AuditRecord.__table__)


def write_entries(session: Session, entries: list[dict[str, Any]]) -> None:
    # a Core insert: an appended record needs none of the ORM's bookkeeping, and this is every write's path
    insert_entries(session.connection(), entries)


def insert_entries(conn: Any, entries: list[dict[str, Any]]) -> None:
    conn.execute(_INSERT, entries)


def append(session: Session, actor: Actor, tag: str, subject: str, change: dict[str, Any]) -> None:
    """Append one record in `session`'s transaction (for the few writers outside a unit of work)."""
    write_entries(session, [entry(actor, tag, subject, change)])


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditRecord.seq, AuditRecord.hash)
        .where(AuditRecord.seq.is_not(None))
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def _chain_hash(rec: Any, seq: int, prev: str) -> str:
    """A record's link in the chain: sealing computes it, verifying recomputes it."""
    return record_hash(
        seq=seq,
        id=rec.id,
        at=rec.at,
        actor=rec.actor,
        org_id=rec.org_id,
        tag=rec.tag,
        subject=rec.subject,
        change_digest=rec.change_digest,
        prev_hash=prev,
    )


def seal(db: Database, batch: int = 5000) -> int:
    """Chain committed, unsealed records; returns how many were sealed.

    The batch is read and its hashes computed outside any write lock; then one short transaction takes the
    lock, checks that the chain's head has not moved meanwhile (another sealer: then nothing is written and
    the next tick retries) and writes the seals. Writers of new records (every audited transaction) thus
    wait at most for that UPDATE, never for the hashing of a whole batch."""
    with db.read() as session:
        head = _head(session)
        rows = session.execute(
            select(
                AuditRecord.id,
                AuditRecord.at,
                AuditRecord.actor,
                AuditRecord.org_id,
                AuditRecord.tag,
                AuditRecord.subject,
                AuditRecord.change_digest,
            )
            .where(AuditRecord.seq.is_(None))
            .order_by(AuditRecord.id)
            .limit(batch)
        ).all()
    if not rows:
        return 0
    seq, prev = head
    values = []
    for rec in rows:
        seq += 1
        digest = _chain_hash(rec, seq, prev)
        values.append({"id": rec.id, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    # on SQLite the transaction holds the write lock from its start (writer_sessions), so that the head read
    # next cannot change before the update
    with db.writer_sessions() as session, session.begin():
        if db.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})
        if _head(session) != head:
            return 0  # another sealer went first; these records are read again on the next tick
        session.execute(update(AuditRecord), values)
    return len(values)


def seal_all(db: Database, batch: int = 5000) -> int:
    total = 0
    while n := seal(db, batch):
        total += n
    return total


@dataclass
class Finding:
    seq: int | None
    id: int | None
    problem: str  # changed | removed | inserted | anchor
    detail: str


@dataclass
class Verdict:
    checked: int
    pending: int
    head_seq: int
    head_hash: str
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


def _iter_sealed(session: Session, chunk: int) -> Iterator[Any]:
    last = 0
    cols = (
        AuditRecord.seq,
        AuditRecord.id,
        AuditRecord.at,
        AuditRecord.actor,
        AuditRecord.org_id,
        AuditRecord.tag,
        AuditRecord.subject,
        AuditRecord.change,
        AuditRecord.change_digest,
        AuditRecord.prev_hash,
        AuditRecord.hash,
    )
    while True:
        rows = session.execute(
            select(*cols).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(
    db: Database,
    anchor: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 20000,
) -> Verdict:
    """Walk the chain from the genesis; name the first record changed, removed or inserted.

    `anchor` is a (seq, hash) pair written down earlier (`audit head`): it proves the tail was not cut off.
    """
    with db.read() as session:
        pending = (
            session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.seq.is_(None)))
            or 0
        )
        expect_seq, prev = 1, GENESIS
        checked = 0
        anchor_seen = anchor is None
        for r in _iter_sealed(session, chunk):
            finding = None
            if r.seq != expect_seq:
                finding = Finding(
                    expect_seq, None, "removed", f"records {expect_seq}..{r.seq - 1} are missing"
                )
            elif sm3_hex(r.change.encode()) != r.change_digest:
                finding = Finding(r.seq, r.id, "changed", "the change body no longer matches its digest")
            else:
                digest = _chain_hash(r, r.seq, r.prev_hash or "")
                if digest != r.hash:
                    finding = Finding(r.seq, r.id, "changed", "the record no longer matches its hash")
                elif r.prev_hash != prev:
                    finding = Finding(r.seq, r.id, "inserted", "the record does not follow its predecessor")
            if finding:
                return Verdict(checked, pending, expect_seq - 1, prev, finding)
            if anchor and r.seq == anchor[0]:
                if r.hash != anchor[1]:
                    return Verdict(
                        checked,
                        pending,
                        r.seq,
                        r.hash,
                        Finding(r.seq, r.id, "anchor", "hash differs from the anchor"),
                    )
                anchor_seen = True
            prev = r.hash
            expect_seq += 1
            checked += 1
            if progress and checked % chunk == 0:
                progress(chunk)
        if not anchor_seen:
            assert anchor is not None
            return Verdict(
                checked,
                pending,
                expect_seq - 1,
                prev,
                Finding(
                    anchor[0],
                    None,
                    "removed",
                    f"the chain ends at {expect_seq - 1}, before the anchor {anchor[0]}",
                ),
            )
        return Verdict(checked, pending, expect_seq - 1, prev, None)

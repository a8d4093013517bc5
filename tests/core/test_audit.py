"""The audit chain: every write appends in its own transaction; verify names the first tampered record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text, update

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.db import Actor, UnauditedWrite, unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.models import Division
from zhicheng.core.orgs.schemas import DivisionIn
from zhicheng.core.orgs.services import create_division

ME = Actor(kind="cli", name="tester")


def _write(db, n: int) -> None:  # noqa: ANN001
    for i in range(n):
        with unit_of_work(db, ME) as uow:
            uow.record("test:thing:touch", f"thing:{i}", {"i": i, "名": "测试"})


def _sealed(db, seq: int) -> AuditRecord:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(AuditRecord).where(AuditRecord.seq == seq))


def test_a_sealed_chain_verifies(db) -> None:  # noqa: ANN001
    _write(db, 20)
    assert seal_all(db) >= 20
    v = verify(db)
    assert v.ok and v.pending == 0 and v.checked >= 20


def test_change_body_edit_is_named(db) -> None:  # noqa: ANN001
    _write(db, 10)
    seal_all(db)
    head = verify(db).head_seq
    target = head - 4
    with db.sessions() as s, s.begin():
        s.execute(update(AuditRecord).where(AuditRecord.seq == target).values(change='{"i":999}'))
    v = verify(db)
    assert not v.ok and v.finding.seq == target and v.finding.problem == "changed"


def test_field_edit_with_recomputed_digest_is_named(db) -> None:  # noqa: ANN001
    _write(db, 6)
    seal_all(db)
    target = verify(db).head_seq - 2
    with db.sessions() as s, s.begin():
        s.execute(update(AuditRecord).where(AuditRecord.seq == target).values(actor="cli:someone-else"))
    v = verify(db)
    assert v.finding.seq == target and v.finding.problem == "changed"


def test_removed_record_is_named(db) -> None:  # noqa: ANN001
    _write(db, 6)
    seal_all(db)
    target = verify(db).head_seq - 3
    with db.sessions() as s, s.begin():
        s.execute(text("DELETE FROM audit_record WHERE seq = :s"), {"s": target})
    v = verify(db)
    assert v.finding.problem == "removed" and v.finding.seq == target


def test_inserted_record_is_named(db) -> None:  # noqa: ANN001
    """A forger shifts the tail up by one and slips in a record with a correct-looking hash of its own."""
    from zhicheng.core.audit.chain import record_hash

    _write(db, 5)
    seal_all(db)
    head = verify(db).head_seq
    at = head - 1
    with db.sessions() as s, s.begin():
        for seq in range(head, at - 1, -1):
            s.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(seq=seq + 1))
        victim = s.scalar(select(AuditRecord).where(AuditRecord.seq == at + 1))
        forged = AuditRecord(
            at=victim.at,
            actor="cli:forger",
            tag="test:thing:forge",
            subject="x",
            change="{}",
            change_digest=victim.change_digest,
            seq=at,
            prev_hash=victim.prev_hash,
        )
        s.add(forged)
        s.flush()
        forged.hash = record_hash(
            seq=at,
            id=forged.id,
            at=forged.at,
            actor=forged.actor,
            org_id=None,
            tag=forged.tag,
            subject="x",
            change_digest=victim.change_digest,
            prev_hash=victim.prev_hash,
        )
    v = verify(db)
    assert not v.ok
    assert v.finding.seq in (at, at + 1)
    assert v.finding.problem in ("changed", "inserted")


def test_cut_tail_is_caught_by_the_anchor(db) -> None:  # noqa: ANN001
    _write(db, 5)
    seal_all(db)
    v = verify(db)
    anchor = (v.head_seq, v.head_hash)
    with db.sessions() as s, s.begin():
        s.execute(text("DELETE FROM audit_record WHERE seq = :s"), {"s": v.head_seq})
    assert verify(db).ok  # without an anchor a cut tail cannot be seen...
    cut = verify(db, anchor)
    assert not cut.ok and cut.finding.problem == "removed"  # ...with one it can


def test_record_rides_in_the_writers_transaction(db) -> None:  # noqa: ANN001
    with db.read() as s:
        before = s.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1))
    with pytest.raises(RuntimeError):
        with unit_of_work(db, ME) as uow:
            create_division(uow, DivisionIn(code="320105", name="建邺区", parent_code="320100"))
            raise RuntimeError("boom after the write")
    with db.read() as s:
        assert s.get(Division, "320105") is None
        assert s.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)) == before


def test_unaudited_write_is_refused(db) -> None:  # noqa: ANN001
    with pytest.raises(UnauditedWrite):
        with unit_of_work(db, ME) as uow:
            uow.session.add(Division(code="320106", name="鼓楼区", level="county", parent_code="320100"))
    with db.read() as s:
        assert s.get(Division, "320106") is None


def test_notes_ride_in_the_next_record_and_none_is_lost(db) -> None:  # noqa: ANN001
    """A clock started inside a use case is a note: part of the use case's next record (under `with`); a
    note no record follows becomes a record of its own; notes count as audit for a write."""
    with db.read() as s:
        before = s.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)) or 0
    with unit_of_work(db, ME) as uow:
        uow.note("calendar:clock:start", "clock:1", {"due_on": "2026-12-01"})
        uow.note("calendar:clock:stop", "clock:0", {"on": "2026-11-23"})
        uow.record("test:thing:do", "thing:1", {"n": 1})
        uow.note("calendar:clock:stop", "clock:1", {"on": "2026-11-24"})
    with unit_of_work(db, ME) as uow:  # a write whose only audit is a note is audited
        uow.session.add(Division(code="320106", name="鼓楼区", level="county", parent_code="320100"))
        uow.note("calendar:clock:start", "clock:2", {})
    with db.read() as s:
        rows = s.execute(
            select(AuditRecord.tag, AuditRecord.subject, AuditRecord.change)
            .where(AuditRecord.id > before)
            .order_by(AuditRecord.id)
        ).all()
    assert [(r.tag, r.subject) for r in rows] == [
        ("test:thing:do", "thing:1"),
        ("calendar:clock:stop", "clock:1"),
        ("calendar:clock:start", "clock:2"),
    ]
    assert json.loads(rows[0].change) == {
        "n": 1,
        "with": [
            {"tag": "calendar:clock:start", "subject": "clock:1", "change": {"due_on": "2026-12-01"}},
            {"tag": "calendar:clock:stop", "subject": "clock:0", "change": {"on": "2026-11-23"}},
        ],
    }
    assert json.loads(rows[1].change) == {"on": "2026-11-24"}


def test_bad_tag_is_refused(db) -> None:  # noqa: ANN001
    with pytest.raises(Invalid):
        with unit_of_work(db, ME) as uow:
            uow.record("NotATag", "x", {})


def test_audit_api_pages_and_filters(db, as_user) -> None:  # noqa: ANN001
    _write(db, 7)
    c = as_user("auditor")
    first = c.get("/api/v1/audit", params={"tag": "test:thing:touch", "limit": 5}).json()
    assert len(first["items"]) == 5 and first["next_cursor"]
    rest = c.get(
        "/api/v1/audit", params={"tag": "test:thing:touch", "limit": 5, "cursor": first["next_cursor"]}
    ).json()
    ids = [r["id"] for r in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) >= 7 and ids == sorted(ids, reverse=True)
    assert c.get("/api/v1/audit", params={"cursor": "!!bad"}).status_code == 422
    assert as_user("clerk").get("/api/v1/audit").status_code == 403


def test_sm3_fallback_agrees_with_openssl() -> None:
    """The pure-Python SM3 used where OpenSSL lacks it gives the digests OpenSSL gives (GB/T 32905 'abc')."""
    import hashlib

    from gmssl import sm3

    for data in (b"abc", "智城审计".encode(), b"x" * 1000):
        assert sm3.sm3_hash(list(data)) == hashlib.new("sm3", data).hexdigest()
    assert (
        hashlib.new("sm3", b"abc").hexdigest()
        == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_sm3_hex_gives_the_standard_digest_each_time() -> None:
    """sm3_hex reuses one prepared hash (copied per call): no state leaks from one digest into the next."""
    from zhicheng.core.audit.chain import sm3_hex

    abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert [sm3_hex(b"abc"), sm3_hex("智城".encode()), sm3_hex(b"abc")][::2] == [abc, abc]


def test_canonical_json_writes_what_json_dumps_writes() -> None:
    """The audit body's canonical form (orjson) is byte for byte json.dumps' sorted, compact, UTF-8 form with
    str() for anything else, for what audit records carry; exponent floats are the documented difference."""
    import dataclasses
    import datetime as dt
    import decimal
    import enum
    import json
    import uuid

    from zhicheng.core.audit.chain import canonical_json

    class Kind(enum.StrEnum):
        A = "a"

    @dataclasses.dataclass
    class Point:
        x: int

    values = [
        {"b": 1, "a": [1, 2.5, None, True, False], "中文": "换行\n\t\"\\\x01\x1f\x7f\u2028"},
        {"on": dt.date(2026, 1, 2), "at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)},
        {"naive": dt.datetime(2026, 1, 2), "time": dt.time(1, 2)},
        {"u": uuid.UUID(int=5), "fee": decimal.Decimal("1.50"), "kind": Kind.A, "p": Point(1), "s": {1}},
        {"lng": 118.7969, "lat": 32.0603, "tenth": 0.1, "neg": -5, "zero": 0},
        {"big": 2**70},  # beyond orjson's 64 bits: json.dumps writes it
        [],
        {},
        "",
    ]
    for value in values:
        expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        assert canonical_json(value) == expected
    assert canonical_json({"f": 1e-7}) == '{"f":1e-7}'  # json.dumps: 1e-07

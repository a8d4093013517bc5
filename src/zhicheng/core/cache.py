"""Generations for per-process caches of things that are read on every request and rarely change
(token → caller, resource × consumer → grant terms).

A cache names the tables it depends on with `watch("auth", "api_token", "role", …)`. Any session that writes
one of them — through the ORM's flush or an ORM-enabled UPDATE/DELETE — sets that name's generation to a
new random value in the same transaction. A reader compares the generation it sees with the one its cache
entry was built under: one indexed read instead of the queries behind the entry, and never an answer from
before a committed change. Random, not counted, so a rolled-back write can never make an old value current
again. Plain Core statements on watched tables bypass this; services do not issue them.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import BigInteger, Connection, String, event, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhicheng.core.db import Base


class CacheGeneration(Base):
    __tablename__ = "cache_generation"
    __audit_exempt__ = True  # bookkeeping of caches, changed only alongside audited writes

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


_watched: dict[str, set[str]] = {}  # table name → generation names


def watch(name: str, *tables: str) -> None:
    """Make writes to these tables (by table name) change the generation `name`."""
    for table in tables:
        _watched.setdefault(table, set()).add(name)


def watched(table: str) -> bool:
    """Whether a cache depends on this table (then it is written through a Session, which moves the
    generation: core.bulk refuses it)."""
    return table in _watched


def _mark(session: Session, tables: set[str]) -> None:
    names = set().union(*(_watched.get(t, ()) for t in tables)) if tables else set()
    if names:
        session.info.setdefault("zc_generations", set()).update(names)


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    _mark(session, {type(o).__tablename__ for o in (*session.new, *session.dirty, *session.deleted)})


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: Any) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        _mark(state.session, {state.bind_mapper.local_table.name})


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    session.flush()
    names = session.info.pop("zc_generations", None)
    if not names:
        return
    conn = session.connection()
    for name in sorted(names):  # a fixed order: two writers never wait on each other's rows crosswise
        value = random.getrandbits(62)
        done = conn.execute(update(CacheGeneration).where(CacheGeneration.name == name).values(value=value))
        if done.rowcount == 0:
            insert = text("INSERT INTO cache_generation (name, value) VALUES (:n, :v)")
            conn.execute(insert, {"n": name, "v": value})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("zc_generations", None)


_READ = select(CacheGeneration.name, CacheGeneration.value)


def generations(s: Session | Connection) -> dict[str, int]:
    """Every generation as the session (or connection) sees it (a handful of rows)."""
    return dict(s.execute(_READ).all())

"""Base, column types, the engine, and the unit of work: one transaction per use case.

Every write goes through `unit_of_work`; on commit it refuses a change that touched audited tables
without writing an audit record, so "change + audit in one transaction" holds by construction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, String, Table, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import NullType, TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Infrastructure tables (sessions, jobs, the audit trail itself) set this to True.
    __audit_exempt__ = False


_PG = postgresql.dialect()
BigId = BigInteger().with_variant(Integer, "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC. SQLite keeps no zone, so it is stripped on the way in and put back out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        value = _to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else _read_utc(value)

    # On SQLite, one step each way instead of SQLAlchemy's two (the decorator's, then DATETIME's format and
    # regular expression), to the same text: 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC. Every timestamp written
    # or read pays it (tests/core/test_bulk.py holds them to the two steps above and SQLAlchemy's own).
    def bind_processor(self, dialect: Any) -> Any:
        return _sqlite_utc_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return _sqlite_utc_time if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


def remembers_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, answering the same object again (by identity) with its last answer: a group commit's
    rows share one time and one day, converted once. The last pair is one tuple swapped whole, so threads
    never see half of it; it keeps its value alive, so no other object can take its identity."""
    last: tuple[Any, Any] = (object(), None)

    def remembered(value: Any) -> Any:
        nonlocal last
        seen = last
        if value is seen[0]:
            return seen[1]
        out = convert(value)
        last = (value, out)
        return out

    return remembered


@remembers_last
def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = _to_utc(value)
    text = value.isoformat(" ")  # '… HH:MM:SS[.ffffff]+00:00': cut, the quickest way to the stored form
    return text[:26] if value.microsecond else text[:19] + ".000000"


def _sqlite_utc_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value + "+00:00")  # far quicker than parsing, then .replace(tzinfo)
    except ValueError:  # a text with an offset of its own, or a date alone
        return _read_utc(dt.datetime.fromisoformat(value))


def _to_utc(value: dt.datetime) -> dt.datetime:
    """A time to store: aware, in UTC. A naive one is refused: which zone it meant is unknown."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given; use aware datetimes (core.db.utcnow)")
    return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)


def _read_utc(value: dt.datetime) -> dt.datetime:
    """A time read back: naive ones were stored in UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@cache
def json_rows_insert(table: Table, cols: tuple[str, ...], tail: str = "") -> str:
    """PostgreSQL: `INSERT INTO table (cols) … tail` taking its rows as one parameter, a JSON array of
    arrays (orjson.dumps of the rows: aware datetimes, dates and dicts as they are, no bind processing).
    One statement and one text whatever the number of rows: psycopg's executemany sends a Bind/Execute per
    row and the backend runs its executor for each, which cost a group commit's inserts more than the rows
    themselves. Each value is cast to its column's type (_json_values)."""
    q = _PG.identifier_preparer.quote
    return (
        f"INSERT INTO {q(table.name)} ({', '.join(map(q, cols))}) "
        f"SELECT {', '.join(_json_values(table, cols))} FROM jsonb_array_elements(%s::jsonb) r {tail}"
    )


@cache
def json_rows_update(table: Table, cols: tuple[str, ...], key: str = "id") -> str:
    """PostgreSQL: `UPDATE table SET cols …` of many rows by `key` in one statement, the rows as one JSON
    array of arrays as for json_rows_insert, each row's key after its columns."""
    q = _PG.identifier_preparer.quote
    values = _json_values(table, (*cols, key))
    sets = ", ".join(f"{q(c)} = {v}" for c, v in zip(cols, values, strict=False))
    return (
        f"UPDATE {q(table.name)} SET {sets} FROM jsonb_array_elements(%s::jsonb) r "
        f"WHERE {q(table.name)}.{q(key)} = {values[-1]}"
    )


def _json_values(table: Table, cols: tuple[str, ...]) -> list[str]:
    """Element i of a JSON row `r` cast to column i's type. Text columns take it as text, so that a value
    too long is refused by the column, as a plain INSERT's would be (a cast to varchar(n) would cut it);
    JSON columns take the element."""
    values = []
    for i, c in enumerate(cols):
        column = table.c[c]
        kind = column.type
        if isinstance(kind, NullType) and column.foreign_keys:  # a foreign key declared without a type
            kind = next(iter(column.foreign_keys)).column.type
        name = kind.compile(dialect=_PG)
        if name in ("JSON", "JSONB"):
            values.append(f"r->{i}")
        elif isinstance(kind, String):
            values.append(f"r->>{i}")
        else:
            values.append(f"(r->>{i})::{name}")
    return values


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_pausing = threading.Lock()
_paused = 0  # batches running with the collector paused
_resume = False  # whether the last of them turns it back on (it was on before the first)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a group commit's transaction runs (write_transaction),
    back on when the last one running ends (unless it was off before). A batch makes thousands of rows that
    live until its commit; a full collection set off in the middle walks every one of them, and did often
    enough to cost 12% of the approvals group commit (bench/approvals_flow.py). Process-wide on purpose:
    another thread's collection would walk them just the same. What a batch leaves as cyclic garbage is
    collected afterwards."""
    global _paused, _resume
    with _pausing:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _pausing:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()


IMMEDIATE = "zc_begin_immediate"  # execution option: on SQLite, begin the transaction holding the write lock


def json_text(value: Any) -> str:
    """The text of a JSON column on SQLite, by orjson: a few times json.dumps' speed, which every message,
    timeline event and form pays. Compact, UTF-8 rather than \\u escapes; what orjson refuses (an integer
    past 64 bits) json.dumps writes. NaN, which JSON has not, is written null."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def make_engine(url: str, **kw: Any) -> Engine:
    if url.startswith("sqlite"):
        if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
            # a file database: keep as many connections as the server has threads (anyio's 40), or
            # every burst opens and closes overflow connections, each paying for its pragmas
            kw.setdefault("pool_size", 40)
            kw.setdefault("max_overflow", 10)
        kw.setdefault("json_serializer", json_text)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # let SQLAlchemy, not the sqlite3 module, decide when transactions begin (savepoints need it)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # a unit of work takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
            # reads and then writes fails at once with "database is locked" when another writer got there
            # first, because waiting (busy_timeout) could deadlock; an immediate one waits its turn instead
            immediate = conn.get_execution_options().get(IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kw)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a console user, an API system, the CLI or the worker."""

    kind: str  # user | system | cli | worker | public
    name: str
    user_id: int | None = None
    org_id: int | None = None
    token_id: int | None = None
    ip: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor(kind="worker", name="worker")


class Database:
    """The engine and session factory one app, CLI run or worker uses."""

    def __init__(
        self,
        url: str,
        engine: Engine | None = None,
        bind: Any = None,
        secret: str | None = None,
        **session_kw: Any,
    ) -> None:
        from zhicheng.settings import DEMO_SECRET

        self.url = url
        # the key of the keyed digests under which session ids and token secrets are stored
        self.secret = (secret or DEMO_SECRET).encode()
        self.engine = engine or make_engine(url)
        # tests bind sessions to one connection whose outer transaction they roll back
        self.sessions = sessionmaker(bind=bind or self.engine, expire_on_commit=False, **session_kw)
        # units of work on a SQLite file begin holding the write lock (make_engine says why); the option
        # applies when a session first needs its connection: a unit of work that never queries locks nothing
        writer = self.engine.execution_options(**{IMMEDIATE: True}) if bind is None else bind
        self.writer_sessions = sessionmaker(bind=writer, expire_on_commit=False, **session_kw)
        self._turn = threading.Lock()
        self._turn_file: Any = None

    @classmethod
    def from_settings(cls, settings: Any) -> Database:
        """The database the settings name, keyed with their secret: how the app, CLI and workers open it."""
        return cls(settings.database_url, secret=settings.secret_key)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries. Closing it ends the transaction without committing; the objects read stay
        usable (detached, not expired) after the block."""
        with self.sessions() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection for the hottest reads (every API call), without an ORM session's bookkeeping.
        Its transaction ends without committing. Tests bound to one connection get that connection."""
        bound = self.sessions.kw.get("bind")
        if isinstance(bound, Connection):
            yield bound
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in a transaction committed at the end (rolled back on error): for writes that
        need no unit of work, such as grouped audit records of reads."""
        bound = self.sessions.kw.get("bind")
        if isinstance(bound, Connection):
            with bound.begin_nested():
                yield bound
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A Core connection in a write transaction committed at the end (rolled back on error), for the group
        commits: on a SQLite file it waits for this process's turn (write_turn) and begins holding the write
        lock, as a unit of work does; the collector is paused while it runs (collector_paused). Tests bound
        to one connection get a savepoint of it."""
        bound = self.writer_sessions.kw["bind"]
        if isinstance(bound, Connection):
            with collector_paused(), bound.begin_nested():
                yield bound
            return
        with self.write_turn(), collector_paused(), bound.begin() as conn:
            yield conn

    @contextmanager
    def write_turn(self) -> Iterator[None]:
        """On a SQLite file, wait here for the write lock instead of in SQLite: a writer that finds the lock
        taken polls it in SQLite's busy handler, sleeping 1, 2, 5, 10… ms between tries, so two busy
        processes lose much of their time asleep; a file lock (flock) wakes the next writer the moment the
        last one lets go. Hold it around a write transaction, commit included. Other databases: no-op."""
        path = self.engine.url.database if self.dialect == "sqlite" else None
        if not path or path == ":memory:" or isinstance(self.sessions.kw.get("bind"), Connection):
            yield
            return
        with self._turn:
            if self._turn_file is None:
                self._turn_file = open(f"{path}-writer.lock", "a+b")  # noqa: SIM115 - held for the process
            fcntl.flock(self._turn_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._turn_file, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._turn_file is not None:
            self._turn_file.close()
            self._turn_file = None


@dataclass
class UnitOfWork:
    session: Session
    actor: Actor
    secret: bytes = b""
    audited: int = 0
    after_commit: list[Any] = field(default_factory=list)

    entries: list[dict[str, Any]] = field(default_factory=list)
    notes: Notes = field(default_factory=lambda: Notes())

    def record(self, tag: str, subject: str, change: dict[str, Any] | None = None) -> None:
        """Append an audit record ("module:subject:action") in this transaction, with the notes made since
        the last one (`note`). The records are written together, in one statement, just before the commit."""
        from zhicheng.core.audit.services import entry

        self.entries.append(entry(self.actor, tag, subject, self.notes.into(change or {})))
        self.audited += 1

    def note(self, tag: str, subject: str, change: dict[str, Any]) -> None:
        """A detail of this use case made by a module it calls (core.calendar: a clock started or stopped):
        not a record of its own but part of the next record made here, under `with`. Notes no record follows
        become records of their own before the commit (`settle`), so nothing noted goes unrecorded."""
        self.notes.add(tag, subject, change)
        self.audited += 1

    def settle(self) -> None:
        self.entries.extend(self.notes.records(self.actor))


class Notes(list[dict[str, Any]]):
    """The audit notes of one use case not yet part of a record (UnitOfWork.note; approvals' group commit
    keeps them per step the same way)."""

    def add(self, tag: str, subject: str, change: dict[str, Any]) -> None:
        self.append({"tag": tag, "subject": subject, "change": change})

    def into(self, change: dict[str, Any]) -> dict[str, Any]:
        """`change` with the notes under `with`, which leave the list: one use case, one audit record."""
        return change | {"with": self.drain()} if self else change

    def drain(self) -> list[dict[str, Any]]:
        out = self[:]
        self.clear()
        return out

    def records(self, actor: Actor, at: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The notes no record took, as audit records of their own (they leave the list)."""
        from zhicheng.core.audit.services import entry

        return [entry(actor, **n, at=at) for n in self.drain()]


# session.info keys whose values belong to the transaction that set them (memos of what it read or locked):
# key → whether a savepoint's end drops it too (a rolled-back savepoint may have undone what it notes).
_PER_TRANSACTION: dict[str, bool] = {}


def per_transaction(key: str, savepoints: bool = True) -> str:
    """Register a session.info key as the current transaction's: dropped when the transaction ends, and, with
    `savepoints`, when a savepoint ends. Returns the key."""
    _PER_TRANSACTION[key] = savepoints
    return key


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        for key in _PER_TRANSACTION:
            session.info.pop(key, None)
    elif transaction.nested:  # a savepoint; a flush's inner transaction is neither
        for key, savepoints in _PER_TRANSACTION.items():
            if savepoints:
                session.info.pop(key, None)


class UnauditedWrite(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _track_audited_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    """Note which audited tables a session writes, so that unit_of_work can demand a record for them."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not getattr(obj, "__audit_exempt__", False):
            session.info.setdefault("zc_touched", set()).add(type(obj).__name__)


@contextmanager
def unit_of_work(db: Database, actor: Actor) -> Iterator[UnitOfWork]:
    """One transaction per use case. Commits when the block ends, rolls back on any exception."""
    with db.writer_sessions() as session:
        uow = UnitOfWork(session=session, actor=actor, secret=db.secret)
        try:
            yield uow
            session.flush()
            touched = session.info.pop("zc_touched", set())
            if touched and not uow.audited:
                raise UnauditedWrite(f"write to {sorted(touched)} without an audit record")
            uow.settle()
            if uow.entries:
                from zhicheng.core.audit.services import write_entries

                write_entries(session, uow.entries)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        for hook in uow.after_commit:
            hook()

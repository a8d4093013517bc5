"""Many rows of a table read or written in one statement through the driver, for the group commits
(approvals.batch_state, cityops.batch_write): at hundreds of rows a statement, SQLAlchemy's per-row parameter
and result processing costs more than the database's work (bench/approvals_flow.py --profile).

Each statement text is built once per database kind, table and columns. Values still go through the columns'
own bind and result processors (core.db.UTCDateTime: how a time is stored stays defined in one place), except
on PostgreSQL's writes, which send the rows as one JSON parameter cast column by column
(core.db.json_rows_insert says why). Rows are dicts keyed by column name.

An insert's rows carry every column they set: a column with a Python-side default missing from them would
silently lose that default here, so it is refused. So is a write to a table a per-process cache depends on
(core.cache.watch): only a Session's writes move its generation."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Date, Table, bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType, TypeDecorator

from zhicheng.core import cache
from zhicheng.core.db import json_rows_insert, json_rows_update, remembers_last

Procs = list[tuple[int, Callable[[Any], Any]]]
_built: dict[tuple[Any, ...], Any] = {}


def insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT these rows (dicts with the same keys)."""
    if not rows:
        return
    cols = tuple(rows[0])
    _unwatched(table)
    _no_defaults_left(table, cols)
    if conn.dialect.name == "postgresql":
        _json_write(conn, json_rows_insert(table, cols), cols, rows)
        return

    def sql(q: Callable[[str], str], mark: str) -> str:
        marks = ", ".join([mark] * len(cols))
        return f"INSERT INTO {q(table.name)} ({', '.join(map(q, cols))}) VALUES ({marks})"

    text, procs = _statement(conn, ("insert", table.name, cols), sql, table, cols)
    conn.exec_driver_sql(text, _bound(rows, cols, procs))


def update(conn: Connection, table: Table, cols: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> None:
    """UPDATE each row's `cols` by its id, in the order given."""
    rows = list(rows)
    if not rows or not cols:
        return
    _unwatched(table)
    keyed = (*cols, "id")
    if conn.dialect.name == "postgresql":
        _json_write(conn, json_rows_update(table, cols), keyed, rows)
        return

    def sql(q: Callable[[str], str], mark: str) -> str:
        sets = ", ".join(f"{q(c)} = {mark}" for c in cols)
        return f"UPDATE {q(table.name)} SET {sets} WHERE id = {mark}"

    text, procs = _statement(conn, ("update", table.name, cols), sql, table, keyed)
    conn.exec_driver_sql(text, _bound(rows, keyed, procs))


def select(
    conn: Connection,
    table: Table,
    key: str,
    values: Iterable[Any],
    *,
    lock: bool = False,
    into: Callable[[Iterable[tuple[str, Any]]], Any] = dict,
) -> list[Any]:
    """Every column of the rows whose `key` is one of `values`, in id order, as dicts; `lock`: FOR UPDATE on
    PostgreSQL (SQLite's writer already holds the database's write lock). The values go as one parameter
    (a JSON array on SQLite, an array on PostgreSQL), so no IN (…) list meets SQLite's limit on variables.
    `into` makes each row of its (column, value) pairs."""
    values = sorted(set(values))
    if not values:
        return []
    dialect = conn.dialect
    found = _built.get(("select", dialect.name, table.name, key, lock))
    if found is None:
        cols = tuple(c.name for c in table.c)
        q = dialect.identifier_preparer.quote
        listed = ", ".join(q(c) for c in cols)
        if dialect.name == "postgresql":
            kind = "bigint[]" if table.c[key].type.python_type is int else "text[]"
            where = f"{q(key)} = ANY(%s::{kind})"
        else:
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            where = f"{q(key)} IN (SELECT value FROM json_each({mark}))"
        sql = f"SELECT {listed} FROM {q(table.name)} WHERE {where} ORDER BY id"
        if lock and dialect.name == "postgresql":
            sql += " FOR UPDATE"
        procs = [(i, _result_processor(table.c[c].type, dialect)) for i, c in enumerate(cols)]
        found = _built[("select", dialect.name, table.name, key, lock)] = (
            sql,
            cols,
            [(i, p) for i, p in procs if p is not None],
        )
    sql, cols, procs = found
    param = _keys_param(dialect.name, values)
    # the driver's own cursor: SQLAlchemy's rows, made and then taken apart here, cost as much as the fetch
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, (param,))
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    return [into(zip(cols, row, strict=True)) for row in processed(fetched, procs)]


class _Keys(TypeDecorator[Any]):
    """`among`'s parameter (_keys_param)."""

    impl = NullType  # no cast of its own: psycopg sends the list as the array it makes of it
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return _keys_param(dialect.name, list(value))


def _keys_param(dialect: str, values: list[Any]) -> Any:
    """Many keys as one parameter: a JSON array on SQLite (read by json_each), the list on PostgreSQL."""
    return values if dialect == "postgresql" else orjson.dumps(values).decode()


class among(ColumnElement[bool]):
    """`column` is one of the values of the parameter `name` (a list given at execution): as `column.in_()`
    with an expanding parameter, but the statement text stays the same whatever the number of values, so
    it is compiled once and cached, and no IN (…) list meets SQLite's limit on variables."""

    type = Boolean()
    _is_implicitly_boolean = True  # a condition already: no "= 1" after it
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("keys", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, name: str = "ids") -> None:
        self.column = column
        self.keys = bindparam(name, type_=_Keys())


@compiles(among, "sqlite")
def _among_sqlite(element: among, compiler: Any, **kw: Any) -> str:
    column, keys = compiler.process(element.column, **kw), compiler.process(element.keys, **kw)
    return f"{column} IN (SELECT value FROM json_each({keys}))"


@compiles(among)
def _among(element: among, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.keys, **kw)})"


def processed(rows: Iterable[Sequence[Any]], procs: Procs) -> list[tuple[Any, ...]]:
    """The rows with each processor applied to its column's value, where not null (column by column, as
    `_bound`)."""
    rows = list(rows)
    if not procs or not rows:
        return [tuple(r) for r in rows]
    columns: list[Any] = list(zip(*rows, strict=True))
    for i, p in procs:
        columns[i] = [None if v is None else p(v) for v in columns[i]]
    return list(zip(*columns, strict=True))


def _json_write(conn: Connection, sql: str, cols: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    get = itemgetter(*cols)
    rows_json = orjson.dumps([get(r) for r in rows], option=orjson.OPT_NON_STR_KEYS).decode()
    conn.exec_driver_sql(sql, (rows_json,))


def _unwatched(table: Table) -> None:
    if cache.watched(table.name):
        raise ValueError(f"{table.name} is watched by a cache (core.cache): write it through a Session")


@functools.cache
def _no_defaults_left(table: Table, cols: tuple[str, ...]) -> None:
    missing = [c.name for c in table.c if c.default is not None and c.name not in cols]
    if missing:
        raise ValueError(f"insert into {table.name} without {missing}, which have Python-side defaults")


def _statement(
    conn: Connection, key: tuple[Any, ...], sql: Callable[[Callable[[str], str], str], str], table: Table,
    cols: tuple[str, ...],
) -> tuple[str, Procs]:  # fmt: skip
    """The statement text and the bind processors of its parameters, built once per database kind."""
    dialect = conn.dialect
    found = _built.get((dialect.name, *key))
    if found is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        procs = [(i, _bind_processor(table.c[c].type, dialect)) for i, c in enumerate(cols)]
        found = _built[(dialect.name, *key)] = (
            sql(dialect.identifier_preparer.quote, mark),
            [(i, p) for i, p in procs if p is not None],
        )
    return found  # type: ignore[no-any-return]


def _bind_processor(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and type(kind) is Date:  # SQLAlchemy's text for SQLite, by date's own C code
        return _date_text
    return kind._cached_bind_processor(dialect)  # type: ignore[no-any-return]


def _result_processor(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    if dialect.name == "sqlite" and isinstance(kind, JSON):
        return _json_value  # orjson instead of json.loads (PostgreSQL's driver parses JSON itself)
    return kind._cached_result_processor(dialect, None)  # type: ignore[no-any-return]


def _json_value(text: str | None) -> Any:
    try:
        return None if text is None else orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses and json.loads takes (NaN, integers past 64 bits)
        return json.loads(text)  # type: ignore[arg-type]


@remembers_last  # the same object again: a batch's day
def _date_text(value: dt.date | None) -> str | None:
    return None if value is None else dt.date.isoformat(value)  # a datetime given: its date, as SQLAlchemy


def _bound(rows: list[dict[str, Any]], cols: tuple[str, ...], procs: Procs) -> list[tuple[Any, ...]]:
    """The rows as parameter tuples, processed column by column (a fifth faster than row by row)."""
    get = itemgetter(*cols) if len(cols) > 1 else lambda r: (r[cols[0]],)
    values = list(map(get, rows))
    if not procs:
        return values
    columns: list[Any] = list(zip(*values, strict=True))
    for i, p in procs:
        columns[i] = list(map(p, columns[i]))
    return list(zip(*columns, strict=True))

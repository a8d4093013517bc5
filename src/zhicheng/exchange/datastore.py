"""Hosted rows: one physical table per dataset, built from the resource's items.

Item names are Chinese and may be anything a department typed, so they never become SQL identifiers:
columns are c1…cn (`Dataset.columns` keeps the mapping) and `_id` is the row's key, which keyset paging
orders by. Every item column is indexed, because consumers filter on any of them (a person by ID number,
a company by credit code). Tables are named xd_<dataset>_<generation>: a full load fills a fresh
generation and swaps it in within one transaction, so a reader sees the old rows or the new, never half.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    insert,
)

from zhicheng.sharing import masking

PREFIX = "xd_"
TYPES: dict[str, Any] = {
    "string": Text,
    "integer": BigInteger,
    "decimal": Double,
    "date": Date,
    "datetime": DateTime,
    "boolean": Boolean,
}
CHUNK = 5000
_tables: dict[tuple[str, str], Table] = {}  # (table name, shape) → Table, per process


def include_name(name: str | None, type_: str, _parents: Any = None) -> bool:
    """Alembic's include_name hook: hosted tables are made at run time, not by migrations."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX))


def plan_columns(items: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The physical columns for (item name, data type, sensitivity) triples, in catalog order. A sensitive
    item also gets a text column per precomputed masking rule: {"masked": {rule: column}}."""
    out: list[dict[str, Any]] = []
    for i, (name, dtype, sensitivity) in enumerate(items, start=1):
        col: dict[str, Any] = {"item": name, "column": f"c{i}", "type": dtype if dtype in TYPES else "string"}
        rules = masking.PRECOMPUTED.get(sensitivity or "none", ())
        if rules:
            col["masked"] = {rule: f"c{i}_m_{rule}" for rule in rules}
            col["rules_version"] = masking.RULES_VERSION
        out.append(col)
    return out


def table(name: str, columns: list[dict[str, Any]]) -> Table:
    shape = ",".join(f"{c['column']}:{c['type']}:{sorted(c.get('masked', {}))}" for c in columns)
    key = (name, shape)
    found = _tables.get(key)
    if found is None:
        cols = [Column("_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True)]
        for c in columns:
            cols.append(Column(c["column"], TYPES[c["type"]]))
            cols += [Column(m, Text) for m in c.get("masked", {}).values()]
        found = Table(name, MetaData(), *cols)
        for c in columns:
            Index(f"ix_{name}_{c['column']}", found.c[c["column"]])
        _tables[key] = found
    return found


def table_name(dataset_id: int, generation: int) -> str:
    return f"{PREFIX}{dataset_id}_{generation}"


def create(conn: Connection, name: str, columns: list[dict[str, str]]) -> Table:
    t = table(name, columns)
    t.create(conn)
    return t


def drop(conn: Connection, name: str | None, columns: list[dict[str, str]]) -> None:
    if name:
        table(name, columns).drop(conn, checkfirst=True)


def insert_rows(conn: Connection, t: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows keyed by column (c1…); returns how many."""
    n, chunk = 0, []
    stmt = insert(t)
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            conn.execute(stmt, chunk)
            n, chunk = n + len(chunk), []
    if chunk:
        conn.execute(stmt, chunk)
        n += len(chunk)
    return n


class BadValue(ValueError):
    """A value that does not fit its item's declared type (the message is bilingual)."""


_TRUE = {"1", "true", "t", "yes", "y", "是", "真"}
_FALSE = {"0", "false", "f", "no", "n", "否", "假"}


def coerce(value: Any, dtype: str) -> Any:
    """A loaded or filtered value as its item's type: None and "" are NULL; anything else that does not
    fit raises BadValue. Spreadsheets give numbers as floats and dates as datetimes; text gives text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if dtype == "string":
            return value.strip() if isinstance(value, str) else _plain_text(value)
        if dtype == "integer":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(str(value).strip())
        if dtype == "decimal":
            if isinstance(value, bool):
                raise ValueError
            number = float(Decimal(str(value).strip()))
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
        if dtype == "date":
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            return dt.date.fromisoformat(str(value).strip()[:10].replace("/", "-"))
        if dtype == "datetime":
            if isinstance(value, dt.datetime):
                return value.replace(tzinfo=None) if value.tzinfo else value
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("/", "-"))
            return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed
        if dtype == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        pass
    raise BadValue(f"“{_short(value)}”不是{_ZH[dtype]}", f"'{_short(value)}' is not {_EN[dtype]}")


_ZH = {
    "string": "文本",
    "integer": "整数",
    "decimal": "数值",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "布尔值",
}
_EN = {
    "string": "text",
    "integer": "an integer",
    "decimal": "a number",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601)",
    "boolean": "true or false",
}


def _plain_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns 13812345678 into 13812345678.0
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def jsonable(value: Any) -> Any:
    """A read value as JSON: dates as ISO text."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def analyze(conn: Connection, t: Table) -> None:
    """Fresh planner statistics after a load (sampled: SQLite reads at most a few thousand rows per index)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=2000")
    conn.exec_driver_sql(f'ANALYZE "{t.name}"')  # the name is ours (xd_<id>_<n>), never a caller's


def count(t: Table) -> Any:
    return func.count(t.c._id)

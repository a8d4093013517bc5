"""Keeps the roll-up tables (rollup_models: cityops_daily, cityops_live) in step with the cases.

Every flush that inserts, changes or deletes a case (intake, every step of the loop, the overdue sweep, any
later code) goes through one `before_flush` hook: it computes what the case contributed to the roll-ups
before (its state at the last flush) and after, and writes the difference, one UPSERT per roll-up row that
changed (`counter = counter + delta`), in the same transaction. So the figures are live and a rollback
takes them back with the case. A report touches one daily row and one live row; a step that moves a case
from one status to another touches one or two of each.

`recount` computes the same rows from the cases (GROUP BY), `rebuild` replaces the tables with it (after a
bulk load, or to repair); tests compare the two after a series of loop steps."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Date,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.base import NO_VALUE

from zhicheng.cityops import vocab
from zhicheng.cityops.models import Case
from zhicheng.cityops.rollup_models import COHORT, COUNTERS, Daily, Live
from zhicheng.core.db import json_rows_insert

CLOSED = ("closed", "evaluated")
SATISFIED = 4  # satisfaction 4 (满意) or 5 (非常满意)
FIELDS = (
    "reported_on",
    "grid_id",
    "division_code",
    "category_id",
    "department_id",
    "routed_department_id",
    "channel",
    "status",
    "registered_on",
    "handled_on",
    "on_time",
    "rework_count",
    "satisfaction",
    "closed_on",
    "escalated_at",
)
DAILY_KEY = ("day", "street_code", "category_id", "department_id")
LIVE_KEY = ("grid_id", "category_id", "department_id", "status")
Key = tuple[str, tuple[Any, ...]]


def department_of(v: dict[str, Any]) -> int:
    return v.get("department_id") or v.get("routed_department_id") or 0


def cohort(v: dict[str, Any]) -> dict[str, int]:
    """The counters one case adds to the row of the day it was reported (the SQL twin is `conditions`)."""
    status = v["status"]
    closed = status in CLOSED
    handled = v.get("handled_on") is not None
    satisfaction = v.get("satisfaction")
    return {
        "reported": 1,
        "decided": int(status != "reported"),
        "registered": int(v.get("registered_on") is not None),
        "cancelled": int(status == "cancelled"),
        "handled": int(handled),
        "handled_on_time": int(handled and v.get("on_time") is True),
        "closed": int(closed),
        "closed_on_time": int(closed and v.get("on_time") is True),
        "reworked": int((v.get("rework_count") or 0) > 0),
        "called_back": int(satisfaction is not None),
        "satisfied": int(satisfaction is not None and satisfaction >= SATISFIED),
        "satisfaction_sum": satisfaction or 0,
    }


def contributions(v: dict[str, Any]) -> dict[Key, dict[str, int]]:
    """Everything one case (as a dict of FIELDS) adds to the roll-ups, by table and row key."""
    dept = department_of(v)
    out: dict[Key, dict[str, int]] = {
        ("daily", (v["reported_on"], v["division_code"][:9], v["category_id"], dept)): cohort(v)
    }
    if v.get("closed_on") is not None:
        key = ("daily", (v["closed_on"], v["division_code"][:9], v["category_id"], dept))
        out.setdefault(key, {})["closures"] = 1
    if v["status"] in vocab.OPEN:
        key = ("live", (v["grid_id"], v["category_id"], dept, v["status"]))
        out[key] = {"cases": 1, "overdue": int(v.get("escalated_at") is not None)}
    return out


def _now(obj: Case) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in FIELDS}


def _before(obj: Case) -> dict[str, Any]:
    """The case as the database holds it now (the committed state of the attributes changed since)."""
    state = attributes.instance_state(obj)
    out = {}
    for f in FIELDS:
        old = state.committed_state.get(f, NO_VALUE)
        out[f] = getattr(obj, f) if old is NO_VALUE else old
    return out


def _add(deltas: dict[Key, dict[str, int]], v: dict[str, Any], sign: int) -> None:
    for key, counts in contributions(v).items():
        row = deltas[key]
        for name, n in counts.items():
            row[name] = row.get(name, 0) + sign * n


@event.listens_for(Session, "before_flush")
def _track(session: Session, _ctx: Any, _instances: Any) -> None:
    deltas: dict[Key, dict[str, int]] = defaultdict(dict)
    for obj in session.new:
        if isinstance(obj, Case):
            _add(deltas, _now(obj), 1)
    for obj in session.dirty:
        if isinstance(obj, Case) and attributes.instance_state(obj).committed_state:
            _add(deltas, _before(obj), -1)
            _add(deltas, _now(obj), 1)
    for obj in session.deleted:
        if isinstance(obj, Case):
            _add(deltas, _before(obj), -1)
    if deltas:
        apply(session.connection(), deltas)


def opened(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """The roll-up delta of new cases inserted with Core statements (cityops.batch, the intake's group
    commit), which the flush hook above never sees: written here instead, in the caller's transaction.
    The same deltas as the hook's (`contributions`), sent as the same UPSERTs through the driver with
    positional parameters (one statement text per table and database, built once): this runs for every
    batch of reports."""
    deltas: dict[Key, dict[str, int]] = defaultdict(dict)
    for row in rows:
        _add(deltas, {f: row.get(f) for f in FIELDS}, 1)
    postgresql = conn.dialect.name == "postgresql"
    daily, live = [], []
    # PostgreSQL's rows go as JSON (dates as they are); the driver's executemany wants the bound form
    day = None if postgresql else Daily.__table__.c.day.type._cached_bind_processor(conn.dialect)
    for (kind, key), counts in sorted(deltas.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if not any(counts.values()):
            continue
        if kind == "daily":
            first = day(key[0]) if day else key[0]
            daily.append((first, *key[1:], *(counts.get(c, 0) for c in COUNTERS)))
        else:
            live.append((*key, *(counts.get(c, 0) for c in LIVE_COUNTERS)))
    for name, params in (("daily", daily), ("live", live)):
        if params and postgresql:  # one statement, the rows as JSON (core.db.json_rows_insert says why)
            conn.exec_driver_sql(_json_upsert(name), (orjson.dumps(params).decode(),))
        elif params:
            conn.exec_driver_sql(
                _driver_upsert("?" if conn.dialect.paramstyle == "qmark" else "%s", name), params
            )
    return len(daily) + len(live)


def _conflict(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> str:
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(
        f"{c} = {table}.{c} + excluded.{c}" for c in counters
    )


@cache
def _json_upsert(name: str) -> str:
    table, keys, counters = _UPSERTS[name]
    return json_rows_insert(
        table.__table__, (*keys, *counters), _conflict(table.__tablename__, keys, counters)
    )


@cache
def _driver_upsert(mark: str, name: str) -> str:
    table, keys, counters = _UPSERTS[name]
    cols = (*keys, *counters)
    return (
        f"INSERT INTO {table.__tablename__} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))}) "
        + _conflict(table.__tablename__, keys, counters)
    )


def _upsert_sql(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> Any:
    """One UPSERT statement per table, the same text on PostgreSQL and SQLite (3.24+), built once: every
    counter is written (0 where unchanged), so that the statement never changes shape."""
    cols = (*keys, *counters)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)}) " + _conflict(
        table, keys, counters
    )
    return text(sql).bindparams(bindparam("day", type_=Date)) if "day" in keys else text(sql)


LIVE_COUNTERS = ("cases", "overdue")
_UPSERTS = {"daily": (Daily, DAILY_KEY, COUNTERS), "live": (Live, LIVE_KEY, LIVE_COUNTERS)}
_DAILY_UPSERT = _upsert_sql("cityops_daily", DAILY_KEY, COUNTERS)
_LIVE_UPSERT = _upsert_sql("cityops_live", LIVE_KEY, LIVE_COUNTERS)


def apply(conn: Connection, deltas: dict[Key, dict[str, int]]) -> int:
    """Write the non-zero deltas, one statement per table, rows in key order (so that concurrent
    transactions lock rows in one order). Returns the number of rows written."""
    daily, live = [], []
    for (kind, key), counts in sorted(deltas.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if not any(counts.values()):
            continue
        if kind == "daily":
            daily.append(
                {**dict(zip(DAILY_KEY, key, strict=True)), **{c: counts.get(c, 0) for c in COUNTERS}}
            )
        else:
            live.append(
                {**dict(zip(LIVE_KEY, key, strict=True)), **{c: counts.get(c, 0) for c in LIVE_COUNTERS}}
            )
    for stmt, rows in ((_DAILY_UPSERT, daily), (_LIVE_UPSERT, live)):
        if rows:
            conn.execute(stmt, rows if len(rows) > 1 else rows[0])
    return len(daily) + len(live)


# --- recount from the cases ---------------------------------------------------------------------------------


def _flag(cond: Any) -> Any:
    return case((cond, 1), else_=0)


def conditions() -> dict[str, Any]:
    """Each cohort counter as a condition on a case: what `cohort` counts, in SQL (drill-down uses these)."""
    closed = Case.status.in_(CLOSED)
    handled = Case.handled_on.is_not(None)
    return {
        "reported": literal(True),
        "decided": Case.status != "reported",
        "registered": Case.registered_on.is_not(None),
        "cancelled": Case.status == "cancelled",
        "handled": handled,
        "handled_on_time": and_(handled, Case.on_time.is_(True)),
        "closed": closed,
        "closed_on_time": and_(closed, Case.on_time.is_(True)),
        "reworked": Case.rework_count > 0,
        "called_back": Case.satisfaction.is_not(None),
        "satisfied": Case.satisfaction >= SATISFIED,
    }


def department_expr() -> Any:
    return func.coalesce(Case.department_id, Case.routed_department_id, literal_column("0"))


def case_rows(*where: Any, closures: bool = True) -> Any:
    """What each case adds to the daily roll-up, as rows (one for its report day, one more for its closing
    day): day, street_code, division_code, grid_id, category_id, department_id and the counters. `where`
    narrows the cases (indicators for a community or a grid read this instead of the roll-up)."""
    conds = conditions()
    keys = (
        func.substr(Case.division_code, 1, 9).label("street_code"),
        Case.division_code.label("division_code"),
        Case.grid_id.label("grid_id"),
        Case.category_id.label("category_id"),
        department_expr().label("department_id"),
    )
    cohort_cols = [
        (_flag(conds[c]) if c in conds else func.coalesce(Case.satisfaction, 0)).label(c) for c in COHORT
    ]
    by_report = select(Case.reported_on.label("day"), *keys, *cohort_cols, literal(0).label("closures"))
    by_close = select(
        Case.closed_on.label("day"),
        *keys,
        *[literal(0).label(c) for c in COHORT],
        literal(1).label("closures"),
    ).where(Case.closed_on.is_not(None))
    if not closures:
        return by_report.where(*where)
    return union_all(by_report.where(*where), by_close.where(*where))


def _daily_select() -> Any:
    u = case_rows().subquery()
    return select(
        *(u.c[k] for k in DAILY_KEY), *(func.sum(u.c[c]).cast(Integer).label(c) for c in COUNTERS)
    ).group_by(*(u.c[k] for k in DAILY_KEY))


def _live_select() -> Any:
    return (
        select(
            Case.grid_id,
            Case.category_id,
            department_expr().label("department_id"),
            Case.status,
            func.count().label("cases"),
            func.sum(_flag(Case.escalated_at.is_not(None))).cast(Integer).label("overdue"),
        )
        .where(Case.status.in_(vocab.OPEN))
        .group_by(Case.grid_id, Case.category_id, department_expr(), Case.status)
    )


def recount(conn: Connection) -> tuple[dict[tuple, dict[str, int]], dict[tuple, dict[str, int]]]:
    """The roll-ups computed from the cases: ({daily key: counters}, {live key: counters})."""
    daily = {
        tuple(r[k] for k in DAILY_KEY): {c: r[c] for c in COUNTERS}
        for r in conn.execute(_daily_select()).mappings()
    }
    live = {
        tuple(r[k] for k in LIVE_KEY): {"cases": r["cases"], "overdue": r["overdue"]}
        for r in conn.execute(_live_select()).mappings()
    }
    return daily, live


def stored(conn: Connection) -> tuple[dict[tuple, dict[str, int]], dict[tuple, dict[str, int]]]:
    """The roll-up tables as stored, without rows whose counters are all zero."""
    daily = {}
    for r in conn.execute(select(Daily.__table__)).mappings():
        counts = {c: r[c] for c in COUNTERS}
        if any(counts.values()):
            daily[tuple(r[k] for k in DAILY_KEY)] = counts
    live = {}
    for r in conn.execute(select(Live.__table__)).mappings():
        if r["cases"] or r["overdue"]:
            live[tuple(r[k] for k in LIVE_KEY)] = {"cases": r["cases"], "overdue": r["overdue"]}
    return daily, live


def rebuild(conn: Connection) -> dict[str, int]:
    """Replace both roll-ups by a recount from the cases, in SQL (INSERT … SELECT), in the caller's
    transaction. Returns the number of rows written to each."""
    conn.execute(delete(Daily.__table__))
    conn.execute(delete(Live.__table__))
    # SQLAlchemy keeps an INSERT's rowcount only when asked (without it psycopg's closed cursor answers -1,
    # sqlite3's the count); the driver's own count costs no second scan of the tables
    keep = {"preserve_rowcount": True}
    d = conn.execute(
        insert(Daily.__table__).from_select([*DAILY_KEY, *COUNTERS], _daily_select()), execution_options=keep
    )
    live = conn.execute(
        insert(Live.__table__).from_select([*LIVE_KEY, "cases", "overdue"], _live_select()),
        execution_options=keep,
    )
    return {"daily": d.rowcount, "live": live.rowcount}

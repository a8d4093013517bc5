"""The stored state of each sensor × metric (cityops_sensor_state), read and written once per batch of
readings (cityops.sensors.evaluate) as plain tuples through the driver: at tens of thousands of readings a
second, building SQL per batch and processing each value through the ORM cost more than the database does.

Each statement text is built once per database kind, with a fixed number of parameters whatever the batch's
size (the sensor ids go as one JSON array on SQLite, one array on PostgreSQL, where psycopg prepares it),
so no IN (…) list is ever split for SQLite's limit on variables. Values still go through the columns' own
bind and result processing (core.db.UTCDateTime: how a time is stored stays defined in one place)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import Connection

from zhicheng.cityops.sensor_models import SensorState
from zhicheng.core.bulk import Procs, processed
from zhicheng.core.db import json_rows_insert

TABLE = SensorState.__table__
KEY = ("sensor_id", "metric")
COLUMNS = (*KEY, "value", "at", "alarm", "breaches", "rule_id", "alarm_at", "case_id")
# one state, in COLUMNS' order
Row = tuple[int, str, float, dt.datetime, bool, int, int | None, dt.datetime | None, int | None]

_built: dict[tuple[str, str], tuple[str, str, Procs, Procs]] = {}


def _statements(conn: Connection) -> tuple[str, str, Procs, Procs]:
    """(the read, the upsert, the bind processors, the result processors) of the connection's database."""
    dialect = conn.dialect
    found = _built.get((dialect.name, dialect.driver))
    if found is not None:
        return found
    cols = ", ".join(COLUMNS)
    update = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEY)
    upsert = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {update}"
    if dialect.name == "postgresql":
        # locked in a fixed order: two batches of the same sensors never wait on each other crosswise
        read = (
            f"SELECT {cols} FROM {TABLE.name} WHERE sensor_id = ANY(%s::integer[]) "
            "ORDER BY sensor_id, metric FOR UPDATE"
        )
        # the rows as one JSON array of arrays: json.dumps and jsonb's parser cost both sides less than
        # psycopg's Python-level dumping of one array per column (measured: about half)
        write = json_rows_insert(TABLE, COLUMNS, upsert)
    else:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        read = f"SELECT {cols} FROM {TABLE.name} WHERE sensor_id IN (SELECT value FROM json_each({mark}))"
        write = f"INSERT INTO {TABLE.name} ({cols}) VALUES ({', '.join([mark] * len(COLUMNS))}) {upsert}"
    # the other columns are ints, floats and text, which both drivers take and give as they are
    processed = [(i, TABLE.c[c].type) for i, c in enumerate(COLUMNS) if c in ("at", "alarm", "alarm_at")]
    binds = [(i, t._cached_bind_processor(dialect)) for i, t in processed]
    results = [(i, t._cached_result_processor(dialect, None)) for i, t in processed]
    found = _built[(dialect.name, dialect.driver)] = (
        read,
        write,
        [(i, p) for i, p in binds if p is not None],
        [(i, p) for i, p in results if p is not None],
    )
    return found


def load(conn: Connection, sensor_ids: Iterable[int]) -> dict[tuple[int, str], Row]:
    """The states of every metric of these sensors, by (sensor id, metric); locked FOR UPDATE until the
    transaction ends on PostgreSQL (SQLite: the unit of work already holds the database's write lock)."""
    read, _write, _binds, procs = _statements(conn)
    ids = sorted(set(sensor_ids))
    if conn.dialect.name == "postgresql":  # an array literal (ints only): nothing for psycopg to dump
        param = "{" + ",".join(map(str, ids)) + "}"
    else:
        param = json.dumps(ids)
    rows = processed(conn.exec_driver_sql(read, (param,)).all(), procs)
    return {(r[0], r[1]): r for r in rows}  # type: ignore[misc]


def write(conn: Connection, rows: list[Row]) -> None:
    """Insert or replace these states (one row per key), in the given order: one executemany on SQLite,
    one INSERT … SELECT FROM jsonb_array_elements on PostgreSQL."""
    if not rows:
        return
    _read, sql, procs, _results = _statements(conn)
    params = processed(rows, procs)
    if conn.dialect.name == "postgresql":
        # times as ISO 8601 with their offset (UTC, from the bind processor); NaN has no JSON form
        conn.exec_driver_sql(sql, (json.dumps(params, default=dt.datetime.isoformat, allow_nan=False),))
    else:
        conn.exec_driver_sql(sql, params)

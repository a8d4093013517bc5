"""core.bulk: rows written and read through the driver come back as the ORM's own processing would write and
read them, on SQLite and PostgreSQL; and the faster SQLite processing of UTCDateTime (core.db) writes the text
SQLAlchemy's own processing writes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from zhicheng.core import bulk
from zhicheng.core.db import BigId, JSONType, UTCDateTime, json_text

SHANGHAI = dt.timezone(dt.timedelta(hours=8))

meta = MetaData()
THINGS = Table(
    "zc_test_bulk_thing",
    meta,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(10), nullable=False),
    Column("at", UTCDateTime, nullable=True),
    Column("on", Date, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("data", JSONType, nullable=True),
    Column("n", Integer, nullable=False, default=0),
)


@pytest.fixture
def conn(db):  # noqa: ANN001, ANN201
    """The test's connection, in a savepoint holding a table made for this test (rolled back after)."""
    bind = db.writer_sessions.kw["bind"]
    with bind.begin_nested() as savepoint:
        THINGS.create(bind)
        yield bind
        savepoint.rollback()


def _rows() -> list[dict]:
    return [
        {
            "id": 1,
            "name": "甲",
            "at": dt.datetime(2026, 11, 21, 9, 30, 0, 0, tzinfo=SHANGHAI),
            "on": dt.date(2026, 11, 21),
            "flag": True,
            "data": {"orgs": [3, 4], "名": "联审"},
            "n": 2,
        },
        {"id": 2, "name": "乙", "at": None, "on": None, "flag": False, "data": None, "n": 0},
    ]


def test_rows_written_by_bulk_read_back_as_the_orm_reads_them(conn) -> None:  # noqa: ANN001
    bulk.insert(conn, THINGS, _rows())
    via_core = [dict(r._mapping) for r in conn.execute(select(THINGS).order_by(THINGS.c.id))]
    assert via_core[0]["at"] == dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.UTC)
    assert via_core[0]["at"].tzinfo == dt.UTC
    assert via_core[0]["data"] == {"orgs": [3, 4], "名": "联审"}
    assert (via_core[1]["at"], via_core[1]["on"], via_core[1]["flag"]) == (None, None, False)
    assert bulk.select(conn, THINGS, "id", [2, 1, 2]) == via_core
    assert bulk.select(conn, THINGS, "name", ["乙"]) == [via_core[1]]
    assert bulk.select(conn, THINGS, "id", []) == []


def test_rows_written_by_the_orm_read_back_the_same_through_bulk(conn) -> None:  # noqa: ANN001
    conn.execute(insert(THINGS), _rows())
    assert bulk.select(conn, THINGS, "id", [1, 2], lock=True) == [
        dict(r._mapping) for r in conn.execute(select(THINGS).order_by(THINGS.c.id))
    ]


def test_update_writes_the_named_columns_by_id(conn) -> None:  # noqa: ANN001
    bulk.insert(conn, THINGS, _rows())
    later = dt.datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
    bulk.update(
        conn,
        THINGS,
        ("at", "flag", "data"),
        [
            {"id": 2, "at": later, "flag": True, "data": {"k": 1}},
            {"id": 1, "at": None, "flag": False, "data": []},
        ],
    )
    one, two = bulk.select(conn, THINGS, "id", [1, 2])
    assert (one["at"], one["flag"], one["data"], one["name"]) == (None, False, [], "甲")
    assert (two["at"], two["flag"], two["data"], two["on"]) == (later, True, {"k": 1}, None)


def test_an_insert_missing_a_defaulted_column_is_refused(conn) -> None:  # noqa: ANN001
    row = {k: v for k, v in _rows()[0].items() if k != "n"}
    with pytest.raises(ValueError, match=r"\['n'\]"):
        bulk.insert(conn, THINGS, [row])


def test_a_value_too_long_is_refused_on_postgresql_by_insert_and_update(db, conn) -> None:  # noqa: ANN001
    """Never cut to fit: PostgreSQL refuses, as a plain statement would; SQLite keeps it whole."""
    bulk.insert(conn, THINGS, _rows())
    if db.dialect != "postgresql":
        bulk.update(conn, THINGS, ("name",), [{"id": 1, "name": "长" * 11}])
        assert bulk.select(conn, THINGS, "id", [1])[0]["name"] == "长" * 11
        return
    for write in (
        lambda: bulk.insert(conn, THINGS, [dict(_rows()[0], id=3, name="长" * 11)]),
        lambda: bulk.update(conn, THINGS, ("name",), [{"id": 1, "name": "长" * 11}]),
    ):
        with pytest.raises(DBAPIError, match="too long"), conn.begin_nested():
            write()


def test_sqlite_timestamps_keep_sqlalchemys_own_text() -> None:
    """UTCDateTime's one-step SQLite processing writes and reads what the decorator plus SQLAlchemy's DATETIME
    write and read."""
    d = sqlite.dialect()
    kind = UTCDateTime()
    ours_in, ours_out = kind._cached_bind_processor(d), kind._cached_result_processor(d, None)
    theirs_in = TypeDecorator.bind_processor(kind.dialect_impl(d), d)
    theirs_out = TypeDecorator.result_processor(kind.dialect_impl(d), d, None)
    times = [
        dt.datetime(2026, 11, 21, 9, 30, 1, 5, tzinfo=SHANGHAI),
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        None,
    ]
    for t in times:
        assert ours_in(t) == theirs_in(t)
        assert ours_out(ours_in(t)) == theirs_out(theirs_in(t)) == (t and t.astimezone(dt.UTC))
    for text in ("2026-11-21 01:30:00", "2026-11-21 01:30:00.000100"):
        assert ours_out(text) == theirs_out(text)
    with pytest.raises(ValueError, match="naive"):
        ours_in(dt.datetime(2026, 11, 21))


def test_sqlite_dates_keep_sqlalchemys_own_text() -> None:
    d = sqlite.dialect()
    theirs = Date()._cached_bind_processor(d)
    for day in (dt.date(2026, 11, 21), dt.date(999, 1, 2), dt.datetime(2026, 11, 21, 23, 59), None):
        assert bulk._bind_processor(Date(), d)(day) == theirs(day)


def test_a_table_a_cache_watches_is_refused(conn) -> None:  # noqa: ANN001
    """Only a Session's writes move a cache's generation (core.cache): bulk must not write such a table."""
    from zhicheng.core.auth.models import Role

    with pytest.raises(ValueError, match="watched"):
        bulk.insert(conn, Role.__table__, [{"code": "x", "name_zh": "x", "name_en": "x", "permissions": []}])
    with pytest.raises(ValueError, match="watched"):
        bulk.update(conn, Role.__table__, ("name_zh",), [{"id": 1, "name_zh": "y"}])


def test_sqlite_json_reads_what_sqlalchemy_reads() -> None:
    d = sqlite.dialect()
    theirs = JSONType._cached_result_processor(d, None)
    ours = bulk._result_processor(JSONType, d)
    for text in ('{"名": [1, 2.5, null, true]}', "null", "[]", None, str(2**70)):
        assert ours(text) == theirs(text)
    assert ours("NaN") != ours("NaN")  # json.loads' NaN, which orjson refuses


def test_sqlite_times_with_an_offset_of_their_own_still_read_as_utc() -> None:
    """What this platform writes has no offset; a text that has one (written by hand) is read correctly."""
    read = UTCDateTime()._cached_result_processor(sqlite.dialect(), None)
    assert read("2026-11-21 09:30:00+08:00") == dt.datetime(2026, 11, 21, 1, 30, tzinfo=dt.UTC)
    assert read("2026-11-21 01:30:00").tzinfo is dt.UTC


def test_among_matches_a_list_given_as_one_parameter(conn) -> None:  # noqa: ANN001
    """`among`: ids or texts, none, and more values than SQLite allows variables in one statement."""
    bulk.insert(conn, THINGS, [{**_rows()[1], "id": i, "name": f"n{i}"} for i in range(1, 41)])
    by_id = select(THINGS.c.id).where(bulk.among(THINGS.c.id)).order_by(THINGS.c.id)
    by_name = select(THINGS.c.id).where(bulk.among(THINGS.c.name, "names"), THINGS.c.n == 0)
    assert conn.execute(by_id, {"ids": [3, 1, 2, 99]}).scalars().all() == [1, 2, 3]
    assert conn.execute(by_id, {"ids": []}).scalars().all() == []
    assert conn.execute(by_id, {"ids": range(0, 40_000, 2)}).scalars().all() == list(range(2, 41, 2))
    assert sorted(conn.execute(by_name, {"names": ["n5", "n7", "甲"]}).scalars()) == [5, 7]
    text = str(by_id.compile(dialect=conn.dialect))
    assert "json_each" in text if conn.dialect.name == "sqlite" else "= ANY" in text
    assert "= 1" not in text.split("WHERE")[1]


def test_json_columns_on_sqlite_are_written_by_orjson_and_read_back_alike() -> None:
    """core.db.json_text: compact UTF-8 text; what orjson refuses, json.dumps writes; both read back as the
    values written."""
    value = {"名": "联审", "orgs": [3, 4], "n": 1.5, "none": None, 7: True}
    assert json_text(value) == '{"名":"联审","orgs":[3,4],"n":1.5,"none":null,"7":true}'
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    assert json.loads(json_text({"big": 2**70})) == {"big": 2**70}


def test_sqlite_time_and_date_texts_of_one_object_again_and_of_others() -> None:
    """The SQLite bind processors remember the last object's text (a group commit's rows share one time
    and one day): the same object again, another one, and None each get their own text."""
    times = UTCDateTime().bind_processor(sqlite.dialect())
    a = dt.datetime(2026, 11, 21, 1, 2, 3, 4, tzinfo=dt.UTC)
    b = dt.datetime(2026, 11, 21, 9, 2, 3, tzinfo=SHANGHAI)
    got = [times(a), times(a), times(b), times(a.replace()), times(None), times(a)]
    ta, tb = "2026-11-21 01:02:03.000004", "2026-11-21 01:02:03.000000"
    assert got == [ta, ta, tb, ta, None, ta]
    dates = bulk._bind_processor(Date(), sqlite.dialect())
    d, e = dt.date(2026, 11, 21), dt.date(2026, 11, 23)
    assert [dates(d), dates(d), dates(e), dates(None), dates(d)] == [
        "2026-11-21",
        "2026-11-21",
        "2026-11-23",
        None,
        "2026-11-21",
    ]

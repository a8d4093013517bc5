"""Reading a pull's source: the provider's HTTP API (JSON rows, paged) or database (one SELECT, read-only).

    http      GET the URL; the answer is JSON rows: an array, {"records": [...]} or CKAN's
              {"result": {"records": [...]}}. Paging is followed when the answer offers it (a `next` link,
              `links.next` / `_links.next` as CKAN gives, a Link: rel="next" header, or a `next_cursor` sent
              back as ?cursor=), up to MAX_PAGES. Incremental pulls add ?since=<cursor value>.
    database  a SQLAlchemy URL and ONE SELECT statement whose columns are named as the items
              (`SELECT xm AS "姓名", ...`), run in a read-only transaction. Incremental pulls wrap it as
              SELECT * FROM (<query>) WHERE <cursor item> > :since, the value bound, never pasted.

Nothing here writes to the platform's database: pulls.py loads what these read, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from zhicheng.core.errors import Invalid
from zhicheng.exchange import datastore, loading
from zhicheng.exchange.proxy import ProviderError

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_PAGES = 1000
MAX_PAGE_BYTES = 50 * 1024 * 1024
SINCE_PARAM = "since"
CURSOR_PARAM = "cursor"
DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")
DB_TIMEOUT_SECONDS = 300  # statement timeout at the source, where the driver allows it
SECRET_PARAMS = re.compile(r"token|key|secret|password|passwd|sign", re.I)
FORBIDDEN = {
    "insert", "update", "delete", "merge", "upsert", "drop", "alter", "create", "truncate", "grant",
    "revoke", "attach", "detach", "pragma", "vacuum", "copy", "call", "exec", "execute", "lock", "into",
    "outfile", "dumpfile", "load_file",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class PullFailed(ProviderError):
    """The provider's side of a pull went wrong (502); the previous rows are untouched."""


# ---------------------------------------------------------------- configuration


def check_select(sql: str) -> str:
    """The query without comments, if it is one SELECT (or WITH … SELECT) that writes nothing; else Invalid.
    The read-only transaction it runs in is the second lock on the door."""
    code, skeleton = _strip(sql)
    code, skeleton = code.strip().rstrip(";").strip(), skeleton.strip().rstrip(";").strip()
    words = [w.lower() for w in WORD.findall(skeleton)]
    if not words or words[0] not in ("select", "with"):
        raise Invalid("查询应为一条 SELECT 语句", "the query must be one SELECT statement", field="query")
    if ";" in skeleton:
        raise Invalid(
            "只能是一条 SELECT 语句（不能有分号）", "only one statement is allowed (no ;)", field="query"
        )
    bad = sorted(set(words) & FORBIDDEN)
    if bad:
        raise Invalid(
            f"查询只能读取数据，不能含有 {bad[0].upper()}",
            f"the query may only read: {bad[0].upper()} is not allowed",
            field="query",
        )
    return code


def _strip(sql: str) -> tuple[str, str]:
    """(sql without comments, sql without comments and without quoted text). Strings end at their first
    unpaired quote, which is where the strictest dialect ends them: anything a database might read as code
    is checked as code."""
    code, skeleton, i, n = [], [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise Invalid("查询中的注释没有结束", "an unterminated comment in the query", field="query")
            code.append(" ")
            skeleton.append(" ")
            i = end + 2
        elif ch in "'\"`":
            j = i + 1
            while True:
                j = sql.find(ch, j)
                if j < 0:
                    raise Invalid("查询中的引号没有配对", "an unterminated quote in the query", field="query")
                if sql.startswith(ch * 2, j):
                    j += 2
                    continue
                break
            code.append(sql[i : j + 1])
            skeleton.append(" x ")
            i = j + 1
        else:
            code.append(ch)
            skeleton.append(ch)
            i += 1
    return "".join(code), "".join(skeleton)


def source_url(url: str, platform: URL) -> URL:
    """A database URL the platform may read from: a known dialect, not the platform's own database."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise Invalid("数据库地址格式无效", "not a valid database URL", field="url") from None
    if parsed.get_backend_name() not in DIALECTS:
        raise Invalid(
            f"不支持的数据库类型：{parsed.get_backend_name()}（支持 {'、'.join(DIALECTS)}）",
            f"unsupported database: {parsed.get_backend_name()} (supported: {', '.join(DIALECTS)})",
            field="url",
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise Invalid("SQLite 数据源应为文件", "a SQLite source must be a file", field="url")
    if _same_database(parsed, platform):
        raise Invalid(
            "不能从本平台自己的数据库抽取", "the platform's own database is not a source", field="url"
        )
    return parsed


def _same_database(a: URL, b: URL) -> bool:
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        pa, pb = (os.path.realpath((u.database or "").removeprefix("file:")) for u in (a, b))
        return pa == pb
    return (a.host or "localhost", a.port, a.database) == (b.host or "localhost", b.port, b.database)


def redact(kind: str, url: str) -> str:
    """The source's address without its secrets: for audit records, reports and the API."""
    if kind == "database":
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(invalid)"
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    query = urlencode(
        [(k, "***" if SECRET_PARAMS.search(k) else v) for k, v in parse_qsl(parts.query)], safe="*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Source:
    """What one run reads, taken before it starts, so that a change in between is noticed."""

    id: int
    dataset_id: int
    code: str
    kind: str
    url: str
    query: str
    mode: str
    cursor_item: str | None
    cursor_value: str | None
    every_minutes: int
    token: str | None
    last_run_at: dt.datetime | None


class Since:
    """The incremental cursor: which rows are new, and the largest cursor value seen."""

    def __init__(self, item: str | None, dtype: str, value: str | None) -> None:
        self.item, self.dtype = item, dtype
        self.floor = datastore.coerce(value, dtype) if item and value else None
        self.max = self.floor

    def keep(self, row: dict[str, Any]) -> bool:
        if self.item is None:
            return True
        try:
            value = datastore.coerce(row.get(self.item), self.dtype)
        except datastore.BadValue:
            return True  # the load reports it
        if value is None:
            return self.floor is None  # without a cursor value a row is new only on the first pull
        if self.floor is not None and not value > self.floor:
            return False
        if self.max is None or value > self.max:
            self.max = value
        return True


def cursor_text(value: Any) -> str | None:
    return None if value is None else str(datastore.jsonable(value))


def http_records(src: Source, digest: loading.Digest) -> Iterator[Any]:
    base = {SINCE_PARAM: src.cursor_value} if src.mode == "incremental" and src.cursor_value else {}
    headers = {"Accept": "application/json"}
    if src.token:
        headers["Authorization"] = f"Bearer {src.token}"
    url, params, seen, got = src.url, dict(base), set(), 0
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True, trust_env=False, headers=headers) as c:
        for _ in range(MAX_PAGES):
            body, links = _get(c, url, params, digest)
            records = loading.records_of(body)
            if records is None:
                raise PullFailed(
                    '提供方应答中没有记录（应为数组、{"records": [...]} 或 CKAN 格式）',
                    'the answer holds no records (expected an array, {"records": [...]} or CKAN\'s shape)',
                )
            yield from records
            got += len(records)
            nxt = _next(body, links)
            total = _total(body)
            if not records or nxt is None or (total is not None and got >= total):
                return
            kind, value = nxt
            if kind == "url":
                url, params = urljoin(str(url), value), {}
                key = url
            else:
                params = {**base, CURSOR_PARAM: value}
                key = f"cursor:{value}"
            if key in seen:
                return  # a provider pointing back at a page it gave: stop rather than loop
            seen.add(key)
    raise PullFailed(
        f"提供方应答超过 {MAX_PAGES} 页，未导入；请改用增量抽取",
        f"more than {MAX_PAGES} pages; use incremental pulls",
    )


def _get(c: httpx.Client, url: str, params: dict[str, Any], digest: loading.Digest) -> tuple[Any, dict]:
    with c.stream("GET", url, params=params or None) as r:
        if r.status_code >= 400:
            raise PullFailed(
                f"数据提供方接口返回错误（HTTP {r.status_code}）",
                f"the provider's API answered HTTP {r.status_code}",
            )
        data = bytearray()
        for chunk in r.iter_bytes():
            data += chunk
            if len(data) > MAX_PAGE_BYTES:
                raise PullFailed("提供方应答的一页超过 50 MB", "a page of the answer is larger than 50 MB")
        links = r.links
    digest.update(bytes(data))
    try:
        body = orjson.loads(bytes(data))
    except orjson.JSONDecodeError:
        raise PullFailed("提供方应答不是有效的 JSON", "the provider's answer is not valid JSON") from None
    if isinstance(body, dict) and body.get("success") is False:
        raise PullFailed("数据提供方接口报告失败", "the provider's API reported a failure")
    return body, links


def _next(body: Any, links: dict) -> tuple[str, str] | None:
    """Where the next page is: ("url", link) or ("cursor", value); None on the last page."""
    if isinstance(body, dict):
        for where in (body, body.get("result")):
            if not isinstance(where, dict):
                continue
            if isinstance(where.get("next"), str) and where["next"]:
                return "url", where["next"]
            for name in ("links", "_links"):
                link = where.get(name, {}).get("next") if isinstance(where.get(name), dict) else None
                if isinstance(link, dict):
                    link = link.get("href")
                if isinstance(link, str) and link:
                    return "url", link
            cursor = where.get("next_cursor")
            if isinstance(cursor, str | int) and not isinstance(cursor, bool) and cursor != "":
                return "cursor", str(cursor)
    nxt = links.get("next", {}).get("url")
    return ("url", nxt) if nxt else None


def _total(body: Any) -> int | None:
    if isinstance(body, dict):
        for where in (body, body.get("result")):
            if isinstance(where, dict):
                total = where.get("total")
                if isinstance(total, int) and not isinstance(total, bool):
                    return total
    return None


@contextmanager
def database(
    src: Source, since: Since, types: dict[str, str], platform: URL
) -> Iterator[tuple[list[str], Iterator[tuple[Any, ...]]]]:
    """The source query's column names and rows, streamed from a read-only transaction."""
    url = source_url(src.url, platform)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        path = (url.database or "").removeprefix("file:")
        url = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        connect_args = {"timeout": 30}
    elif backend == "postgresql":
        connect_args = {"connect_timeout": 10, "options": f"-c statement_timeout={DB_TIMEOUT_SECONDS * 1000}"}
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ArgumentError, ImportError) as exc:
        raise PullFailed(f"无法使用该数据库：{exc}", f"cannot use this database: {exc}") from None
    try:
        try:
            conn = engine.connect()
            if backend == "postgresql":
                conn = conn.execution_options(postgresql_readonly=True)
            elif backend in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                _statement(src, since, engine.dialect)
            )
            names = list(result.keys())
        except SQLAlchemyError as exc:
            raise PullFailed(
                f"源数据库出错：{_one_line(exc)}", f"the source database failed: {_one_line(exc)}"
            ) from None
        try:
            yield names, _guarded(result)
        finally:
            conn.rollback()
            conn.close()
    finally:
        engine.dispose()


def _statement(src: Source, since: Since, dialect: Any) -> Any:
    sql = src.query.replace(":", "\\:")  # the provider's colons are text, not parameters
    if since.floor is None:
        return text(sql)
    column = dialect.identifier_preparer.quote_identifier(src.cursor_item)
    return text(f"SELECT * FROM ({sql}) zc_src WHERE zc_src.{column} > :zc_since").bindparams(
        bindparam("zc_since", since.floor, type_=datastore.TYPES[since.dtype]())
    )


def _guarded(result: Any) -> Iterator[tuple[Any, ...]]:
    try:
        yield from result
    except SQLAlchemyError as exc:
        raise PullFailed(
            f"读取源数据库出错：{_one_line(exc)}", f"reading the source failed: {_one_line(exc)}"
        ) from None


def _one_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split())[:300]

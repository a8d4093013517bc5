"""Scheduled pulls: a hosted dataset refreshed from the provider's HTTP API or database (sources.py reads
them; this module configures pulls, runs them and keeps their state).

full replaces all rows (load_rows mode "full"); incremental adds the rows whose cursor item is past the
cursor value (checked here too, whatever the provider did with `since`) and then moves the cursor to the
largest value seen. A pull that fails (provider down, timeout, not JSON, an unreadable answer) changes no
row: its transaction is rolled back and the failure is kept in last_status / last_error. A full pull that
would replace rows with none is a failure too. Either way the next run is every_minutes later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.engine import URL

from zhicheng.catalog import queries as catalog
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work, utcnow
from zhicheng.core.errors import Conflict, DomainError, Invalid, NotFound
from zhicheng.exchange import datastore, loading, services
from zhicheng.exchange.models import DataLoad, Dataset, PullSource
from zhicheng.exchange.proxy import ProviderTimeout
from zhicheng.exchange.sources import (
    PullFailed,
    Since,
    Source,
    check_select,
    cursor_text,
    database,
    http_records,
    redact,
    source_url,
)

__all__ = ["PullFailed", "ProviderTimeout", "check_select", "configure", "redact", "remove", "run", "run_due"]
log = logging.getLogger("zhicheng.exchange")
KINDS = ("http", "database")
MODES = ("full", "incremental")
MAX_EVERY_MINUTES = 31 * 24 * 60


def configure(
    uow: UnitOfWork,
    dataset_id: int,
    *,
    kind: str,
    url: str,
    query: str = "",
    mode: str = "full",
    cursor_item: str | None = None,
    cursor_value: str | None = None,
    every_minutes: int = 60,
    enabled: bool = True,
    token: str | None = None,
) -> PullSource:
    """Set where and how often the dataset is pulled. The first run is due at once. A changed source or
    cursor item starts the cursor afresh (or at `cursor_value`). `token` (sent as a bearer token to an
    HTTP source) is kept when None and removed when ""."""
    ds = services.hosted(uow, dataset_id)
    if kind not in KINDS:
        raise Invalid("抽取方式应为 http 或 database", "kind must be http or database", field="kind")
    if mode not in MODES:
        raise Invalid("抽取模式应为 full 或 incremental", "mode must be full or incremental", field="mode")
    if not 1 <= every_minutes <= MAX_EVERY_MINUTES:
        raise Invalid(
            f"抽取间隔应为 1–{MAX_EVERY_MINUTES} 分钟",
            f"every_minutes must be 1–{MAX_EVERY_MINUTES}",
            field="every_minutes",
        )
    url = url.strip()
    if kind == "http":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid("接口地址应为 http(s) 网址", "the source URL must be an http(s) URL", field="url")
        query = ""
    else:
        source_url(url, uow.session.get_bind().engine.url)
        query = check_select(query)
    types = {c["item"]: c["type"] for c in ds.columns}
    if mode == "incremental":
        if cursor_item not in types:
            raise Invalid(
                "增量抽取需要指定游标信息项（如更新时间）",
                "an incremental pull needs a cursor item (such as an update time)",
                field="cursor_item",
            )
        if types[cursor_item] == "boolean":
            raise Invalid(
                "游标信息项不能是布尔值", "the cursor item cannot be a boolean", field="cursor_item"
            )
        if cursor_value:
            try:
                cursor_value = cursor_text(datastore.coerce(cursor_value, types[cursor_item]))
            except datastore.BadValue as exc:
                raise Invalid(exc.args[0], exc.args[1], field="cursor_value") from None
    else:
        cursor_item, cursor_value = None, None
    src = uow.session.scalar(select(PullSource).where(PullSource.dataset_id == ds.id))
    now = utcnow()
    if src is None:
        src = PullSource(dataset_id=ds.id, kind=kind, url=url, mode=mode)
        uow.session.add(src)
    moved = (src.kind, src.url, src.query, src.mode, src.cursor_item) != (kind, url, query, mode, cursor_item)
    if cursor_value or moved:
        src.cursor_value = cursor_value or None
    src.kind, src.url, src.query, src.mode, src.cursor_item = kind, url, query, mode, cursor_item
    src.every_minutes, src.enabled, src.next_run_at = every_minutes, enabled, now
    if token is not None:
        ds.proxy_token = token or None
    if kind == "http" and ds.proxy_token and urlsplit(url).password is not None:
        raise Invalid(
            "请只用一种凭据：网址中的用户名密码，或令牌",
            "give either credentials in the URL (HTTP Basic) or a bearer token, not both",
            field="token",
        )
    uow.session.flush()
    uow.record(
        "exchange:pull:configure",
        f"resource:{_code(uow, ds)}",
        {
            "kind": kind,
            "url": redact(kind, url),
            "query": query,
            "mode": mode,
            "cursor_item": cursor_item,
            "cursor_value": src.cursor_value,
            "every_minutes": every_minutes,
            "enabled": enabled,
            "token": "unchanged" if token is None else ("set" if token else "removed"),
        },
    )
    return src


def remove(uow: UnitOfWork, dataset_id: int) -> None:
    ds = uow.session.get(Dataset, dataset_id)
    src = uow.session.scalar(select(PullSource).where(PullSource.dataset_id == dataset_id))
    if ds is None or src is None:
        raise NotFound("该资源没有配置数据抽取", "no pull is configured for this resource")
    uow.session.delete(src)
    if ds.mode == "hosted":
        ds.proxy_token = None
    uow.record("exchange:pull:remove", f"resource:{_code(uow, ds)}", {"url": redact(src.kind, src.url)})


def _code(uow: UnitOfWork, ds: Dataset) -> str:
    return catalog.resource(uow.session, ds.resource_id).code


def view(src: PullSource, ds: Dataset) -> dict[str, Any]:
    """A pull's settings and state, secrets left out."""
    return {
        "kind": src.kind,
        "url": redact(src.kind, src.url),
        "query": src.query,
        "mode": src.mode,
        "cursor_item": src.cursor_item,
        "cursor_value": src.cursor_value,
        "every_minutes": src.every_minutes,
        "enabled": src.enabled,
        "has_token": bool(ds.proxy_token),
        "next_run_at": src.next_run_at,
        "last_run_at": src.last_run_at,
        "last_status": src.last_status,
        "last_error": src.last_error,
    }


# ---------------------------------------------------------------- running


STATE = ("kind", "url", "query", "mode", "cursor_item", "cursor_value", "last_run_at")


def _state(pull: Source | PullSource) -> tuple[Any, ...]:
    """What must not have changed between reading a pull's settings and saving its result."""
    return tuple(getattr(pull, name) for name in STATE)


def run(db: Database, dataset_id: int, actor: Actor) -> DataLoad:
    """Pull now. Returns the load; on failure records it on the pull (previous rows untouched) and raises
    a DomainError saying what went wrong (PullFailed 502 / ProviderTimeout 504 for the provider's side)."""
    with db.read() as s:
        row = s.scalar(select(PullSource).where(PullSource.dataset_id == dataset_id))
        ds = s.get(Dataset, dataset_id)
        if row is None or ds is None:
            raise NotFound("该资源没有配置数据抽取", "no pull is configured for this resource")
        src = Source(
            row.id, ds.id, catalog.resource(s, ds.resource_id).code, row.kind, row.url, row.query, row.mode,
            row.cursor_item, row.cursor_value, row.every_minutes, ds.proxy_token, row.last_run_at,
        )  # fmt: skip
    started = utcnow()
    try:
        with unit_of_work(db, actor) as uow:
            load, cursor = _pull(uow, src, db.engine.url)
            p = uow.session.get(PullSource, src.id, with_for_update=True)
            if p is None or _state(p) != _state(src):
                raise _Raced(
                    "抽取配置已变更或另一次抽取刚刚完成，本次结果未保存",
                    "the pull was changed or run meanwhile; this result was not saved",
                )
            status = "partial" if load.rows_rejected else "ok"
            p.last_run_at, p.last_status, p.last_error = started, status, None
            p.next_run_at = started + dt.timedelta(minutes=src.every_minutes)
            p.cursor_value = cursor if cursor is not None else p.cursor_value
            uow.record(
                "exchange:pull:run",
                f"resource:{src.code}",
                {"load": load.id, "status": status, "cursor": p.cursor_value, "digest": load.digest},
            )
        return load
    except _Raced:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is kept on the pull; the caller gets a DomainError
        error = _as_domain(exc)
        if not isinstance(exc, DomainError):
            log.warning("pull of %s failed: %s", src.code, exc, exc_info=True)
        _failed(db, actor, src, started, error)
        raise error from exc


class _Raced(Conflict):
    pass


def _as_domain(exc: Exception) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout("数据提供方接口超时", "the provider's API timed out")
    if isinstance(exc, httpx.HTTPError):
        return PullFailed(
            f"无法连接数据提供方接口（{type(exc).__name__}）",
            f"cannot reach the provider's API ({type(exc).__name__})",
        )
    return PullFailed(f"抽取失败：{type(exc).__name__}", f"the pull failed: {type(exc).__name__}")


def _failed(db: Database, actor: Actor, src: Source, started: dt.datetime, error: DomainError) -> None:
    message = f"{error.detail_zh} / {error.detail_en}"[:2000]
    with unit_of_work(db, actor) as uow:
        p = uow.session.get(PullSource, src.id)
        if p is None:
            return
        p.last_run_at, p.last_status, p.last_error = started, "failed", message
        p.next_run_at = started + dt.timedelta(minutes=p.every_minutes)
        uow.record("exchange:pull:fail", f"resource:{src.code}", {"error": message})


def _pull(uow: UnitOfWork, src: Source, platform: URL) -> tuple[DataLoad, str | None]:
    ds = services.hosted(uow, src.dataset_id)
    before = ds.row_count
    items = [c["item"] for c in ds.columns]
    types = {c["item"]: c["type"] for c in ds.columns}
    if src.mode == "incremental" and src.cursor_item not in types:
        raise Invalid("游标信息项已不在资源中", "the cursor item is no longer an item of the resource")
    since = Since(src.cursor_item, types.get(src.cursor_item or "", "string"), src.cursor_value)
    common = {"mode": src.mode, "source": "pull", "filename": redact(src.kind, src.url)}
    if src.kind == "http":
        digest = loading.Digest()
        keys = loading.Keys(items)
        rows = _http_rows(src, keys, since, digest)
        load = services.load_rows(uow, ds.id, rows, fmt="http", report=keys.notes, **common)
        load.digest = digest.hexdigest()
    else:
        with database(src, since, types, platform) as (names, records):
            columns, notes = loading.match_header(names, items, row=None)
            rows = (
                row
                for row in ({item: rec[i] for i, item in columns.items()} for rec in records)
                if since.keep(row)
            )
            load = services.load_rows(uow, ds.id, rows, fmt="database", report=notes, **common)
    loading.refuse_emptying(load, before, "提供方应答", "answer")
    return load, cursor_text(since.max) if src.mode == "incremental" else None


def _http_rows(
    src: Source, keys: loading.Keys, since: Since, digest: loading.Digest
) -> Iterator[dict[str, Any]]:
    n = 0
    for record in http_records(src, digest):
        n += 1
        row = keys.row(n, record)
        if since.keep(row):
            yield row
    keys.finish(n)


def run_due(db: Database, actor: Actor, now: dt.datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Run the pulls that are due (the worker's periodic task); one failing pull does not stop the rest."""
    now = now or utcnow()
    with db.read() as s:
        due = list(
            s.scalars(
                select(PullSource.dataset_id)
                .where(PullSource.enabled.is_(True), PullSource.next_run_at <= now)
                .order_by(PullSource.next_run_at)
                .limit(limit)
            )
        )
    counts = {"ok": 0, "partial": 0, "failed": 0}
    for dataset_id in due:
        try:
            load = run(db, dataset_id, actor)
            counts["partial" if load.rows_rejected else "ok"] += 1
        except DomainError:
            counts["failed"] += 1
        except Exception:  # noqa: BLE001 - e.g. the platform's database went away; the next pass retries
            log.exception("pull of dataset %s could not run", dataset_id)
            counts["failed"] += 1
    return counts

"""Writes of the exchange: hosting a resource's data, loading rows (with a row-by-row report), proxying.

Loads validate every row against the resource's items: a row with a bad value is left out and reported
(row number, item, what was wrong), the good rows are loaded, and the load, the report and the swap of
the new rows happen in one transaction with their audit record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from zhicheng.catalog import queries as catalog
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.exchange import datastore
from zhicheng.exchange.models import DataLoad, Dataset
from zhicheng.sharing import masking

MAX_REPORTED = 1000  # rejected rows listed in a load's report (all are counted)


def dataset_for(uow: UnitOfWork, resource_id: int) -> Dataset | None:
    return uow.session.scalar(select(Dataset).where(Dataset.resource_id == resource_id))


def _columns(uow: UnitOfWork, resource_id: int) -> list[dict[str, str]]:
    items = catalog.items(uow.session, resource_id)
    if not items:
        raise Invalid("该资源没有信息项，无法挂接数据", "the resource has no items to hold data")
    return datastore.plan_columns((i.name, i.data_type, i.sensitivity) for i in items)


def host(uow: UnitOfWork, resource_id: int, key_item: str | None = None) -> Dataset:
    """Make the platform hold the resource's rows (an empty table until the first load)."""
    res = catalog.resource(uow.session, resource_id)
    if res.status != "published":
        raise Conflict("资源已撤销，不能挂接数据", "the resource is retired")
    ds = dataset_for(uow, resource_id)
    columns = _columns(uow, resource_id)
    if key_item is not None and key_item not in {c["item"] for c in columns}:
        raise Invalid(
            f"主键信息项“{key_item}”不存在", f"key item '{key_item}' is not an item", field="key_item"
        )
    now = utcnow()
    if ds is None:
        ds = Dataset(
            resource_id=resource_id,
            mode="hosted",
            columns=columns,
            key_item=key_item,
            row_count=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(ds)
        uow.session.flush()
    elif ds.mode == "hosted":
        raise Conflict("该资源的数据已挂接", "the resource's data is already hosted")
    else:
        ds.mode, ds.proxy_url, ds.proxy_token = "hosted", None, None
        ds.columns, ds.key_item, ds.version, ds.updated_at = columns, key_item, ds.version + 1, now
    ds.table_name = datastore.table_name(ds.id, ds.version)
    datastore.create(uow.session.connection(), ds.table_name, columns)
    uow.record(
        "exchange:dataset:host", f"resource:{res.code}", {"table": ds.table_name, "key_item": key_item}
    )
    return ds


def proxy(uow: UnitOfWork, resource_id: int, url: str, token: str | None = None) -> Dataset:
    """Serve the resource by forwarding each call to the provider's API at `url` (http or https)."""
    res = catalog.resource(uow.session, resource_id)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("代理地址应为 http(s) 网址", "the proxy URL must be an http(s) URL", field="url")
    ds = dataset_for(uow, resource_id)
    now = utcnow()
    columns = _columns(uow, resource_id)
    if ds is None:
        ds = Dataset(
            resource_id=resource_id,
            mode="proxied",
            columns=columns,
            row_count=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(ds)
    else:
        if ds.mode == "hosted":
            datastore.drop(uow.session.connection(), ds.table_name, ds.columns)
        ds.mode, ds.table_name, ds.row_count, ds.columns = "proxied", None, 0, columns
        ds.version, ds.updated_at = ds.version + 1, now
    ds.proxy_url, ds.proxy_token = url.strip(), token or None
    uow.session.flush()
    uow.record("exchange:dataset:proxy", f"resource:{res.code}", {"url": ds.proxy_url})
    return ds


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def hosted(uow: UnitOfWork, dataset_id: int) -> Dataset:
    ds = uow.session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound(f"数据集 {dataset_id} 不存在", f"dataset {dataset_id} not found")
    if ds.mode != "hosted":
        raise Conflict("该资源的数据由提供方接口代理，不能导入", "the resource is proxied; it takes no loads")
    return ds


class Validation:
    """Rows checked against the items as they stream through (a million-row load never sits in memory
    whole): `good(rows)` yields each valid row keyed by column, with its precomputed masks; the counts and the
    report fill in as it goes. Rows are keyed by item name; a row is rejected whole when any value does not
    fit its item (a half-right row is a wrong row)."""

    def __init__(self, columns: list[dict[str, Any]], first_row: int = 1) -> None:
        self.columns, self.first_row = columns, first_row
        self.read = self.rejected = 0
        self.report: list[dict[str, Any]] = []

    def good(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        masks = [
            (c["column"], m, masking.RULES[rule])
            for c in self.columns
            for rule, m in c.get("masked", {}).items()
        ]
        for n, row in enumerate(rows, start=self.first_row):
            self.read += 1
            out, problems = {}, []
            for c in self.columns:
                try:
                    out[c["column"]] = datastore.coerce(row.get(c["item"]), c["type"])
                except datastore.BadValue as exc:
                    problems.append({"row": n, "item": c["item"], "zh": exc.args[0], "en": exc.args[1]})
            if problems:
                self.rejected += 1
                if len(self.report) < MAX_REPORTED:
                    self.report.extend(problems[: MAX_REPORTED - len(self.report)])
                continue
            for col, target, rule in masks:
                out[target] = rule(out[col])
            yield out


def load_rows(
    uow: UnitOfWork,
    dataset_id: int,
    rows: Iterable[Mapping[str, Any]],
    *,
    mode: str,
    source: str,
    fmt: str,
    filename: str = "",
    digest: str = "",
    report: list[dict[str, Any]] | None = None,
    first_row: int = 1,
) -> DataLoad:
    """Load rows (keyed by item name) into a hosted dataset, streaming.

    full: the rows replace the dataset's (a new table generation swapped in); incremental: rows are added,
    and when the dataset has a key item, rows with the same key are replaced (the last one wins). `report`
    carries problems the caller found before rows existed (a file's header, its encoding), kept at the head
    of the report."""
    if mode not in ("full", "incremental"):
        raise Invalid("导入方式应为 full 或 incremental", "mode must be full or incremental", field="mode")
    ds = hosted(uow, dataset_id)
    check = Validation(ds.columns, first_row)
    conn = uow.session.connection()
    if mode == "full":
        old = ds.table_name
        ds.version += 1
        ds.table_name = datastore.table_name(ds.id, ds.version)
        table = datastore.create(conn, ds.table_name, ds.columns)
        datastore.drop(conn, old, ds.columns)
        loaded = ds.row_count = datastore.insert_rows(conn, table, check.good(rows))
    else:
        table = datastore.table(ds.table_name or "", ds.columns)
        key = next((c["column"] for c in ds.columns if c["item"] == ds.key_item), None)
        loaded = 0
        for chunk in _chunks(check.good(rows), datastore.CHUNK):
            if key is not None:
                # the last row wins when a key repeats within the chunk; a later chunk replaces earlier ones
                chunk = list({(r[key] if r[key] is not None else id(r)): r for r in chunk}.values())
                keys = list({r[key] for r in chunk if r[key] is not None})
                for i in range(0, len(keys), 500):
                    conn.execute(delete(table).where(table.c[key].in_(keys[i : i + 500])))
            loaded += datastore.insert_rows(conn, table, chunk)
        ds.row_count = conn.scalar(select(datastore.count(table)))
    datastore.analyze(conn, table)  # fresh statistics, or the planner guesses on a table it never saw
    now = utcnow()
    ds.loaded_at = ds.updated_at = now
    full_report = (report or []) + check.report
    load = DataLoad(
        dataset_id=ds.id,
        source=source,
        filename=filename[:255],
        format=fmt,
        mode=mode,
        rows_read=check.read,
        rows_loaded=loaded,
        rows_rejected=check.rejected,
        report=full_report[:MAX_REPORTED],
        digest=digest,
        actor=uow.actor.label[:160],
        at=now,
    )
    uow.session.add(load)
    uow.session.flush()
    res = catalog.resource(uow.session, ds.resource_id)
    uow.record(
        "exchange:dataset:load",
        f"resource:{res.code}",
        {
            "load": load.id,
            "source": source,
            "mode": mode,
            "file": filename,
            "digest": digest,
            "read": check.read,
            "loaded": loaded,
            "rejected": check.rejected,
        },
    )
    return load

"""Console pages of the exchange: the provider's datasets (how each resource's data is held, its loads with
their row reports, the upload form, the scheduled pull, a masked sample), and usage statistics with a chart:
everything the caller oversees, or "my calls" for a consumer department. Reads go through exchange.queries;
writes only through exchange.services and exchange.loading, with the API's per-object checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from zhicheng.catalog import queries as catalog
from zhicheng.catalog import views as catalog_views
from zhicheng.catalog import vocab
from zhicheng.catalog.permissions import CATALOG_READ
from zhicheng.core.auth.permissions import ALL, Scope
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.core.orgs import queries as org_queries
from zhicheng.exchange import loading, pulls, queries, services
from zhicheng.exchange.permissions import EXCHANGE_MANAGE, EXCHANGE_READ
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("共享交换", "数据挂接", "/exchange/resources", EXCHANGE_MANAGE, order=65)
nav.add("共享交换", "使用统计", "/exchange/usage", CATALOG_READ, order=66)
nav.add("共享交换", "我的调用", "/exchange/calls", EXCHANGE_READ, order=67)
# the catalog's resource page shows how its data is held and a masked sample (catalog/detail.html)
catalog_views.DETAIL_PANELS["exchange"] = queries.catalog_panel

MODE_ZH = {"hosted": "平台托管", "proxied": "接口代理", "none": "未挂接"}
LOAD_MODE_ZH = {"full": "全量", "incremental": "增量"}
SOURCE_ZH = {"upload": "上传", "pull": "抽取"}
PULL_STATUS = {"ok": ("ok", "成功"), "partial": ("warn", "部分行被拒绝"), "failed": ("bad", "失败")}
PERIODS = (7, 30, 90)


def _words() -> dict[str, Any]:
    return {
        "mode_zh": MODE_ZH,
        "load_mode_zh": LOAD_MODE_ZH,
        "source_zh": SOURCE_ZH,
        "pull_status": PULL_STATUS,
        "sensitivity": vocab.SENSITIVITY,
        "data_types": vocab.DATA_TYPES,
        "share_types": vocab.SHARE_TYPES,
    }


# --- the provider's datasets -----------------------------------------------------------------------------


@router.get("/exchange/resources")
@access(EXCHANGE_MANAGE)
def dataset_list(request: Request, s: Reader, me: Me, data: str = "") -> Any:
    rows = queries.provided(s, me.paths(EXCHANGE_MANAGE), with_data=data == "1")
    return page(request, "exchange/datasets.html", {"rows": rows, "only_data": data == "1", **_words()})


def _managed(s: Session, me: Principal, resource_id: int) -> Any:
    """The resource, once the caller is known to manage its provider's data (else 403)."""
    res = catalog.resource(s, resource_id)
    require(me, EXCHANGE_MANAGE, queries.org_path(s, res.provider_org_id))
    return res


def _dataset_page(
    request: Request,
    s: Session,
    me: Principal,
    resource_id: int,
    error: str | None = None,
    status: int = 200,
    report: list[dict[str, Any]] | None = None,
) -> Any:
    res = _managed(s, me, resource_id)
    ds = queries.dataset(s, res.id)
    pull = queries.pull_source(s, ds.id) if ds is not None else None
    return page(
        request,
        "exchange/dataset.html",
        {
            "res": res,
            "provider": org_queries.org(s, res.provider_org_id),
            "ds": ds,
            "items": catalog.items(s, res.id),
            "loads": queries.loads(s, ds.id) if ds is not None else [],
            "pull": pulls.view(pull, ds) if pull is not None and ds is not None else None,
            "sample": queries.sample(s, res.id),
            "error": error,
            "report": report,
            "max_mb": loading.MAX_BYTES // (1024 * 1024),
            "max_json_mb": loading.MAX_JSON_BYTES // (1024 * 1024),
            **_words(),
        },
        status,
    )


@router.get("/exchange/resources/{resource_id}")
@access(EXCHANGE_MANAGE)
def dataset_page(request: Request, resource_id: int, s: Reader, me: Me) -> Any:
    return _dataset_page(request, s, me, resource_id)


def _failed(request: Request, db: Any, me: Principal, resource_id: int, exc: DomainError) -> Any:
    """The dataset page again, with what went wrong (and the first problems of a refused load)."""
    if exc.status == 404 or isinstance(exc, Forbidden):
        raise exc
    message, status = failure(request, exc)
    report = exc.extra.get("report") if isinstance(exc.extra.get("report"), list) else None
    with db.read() as s:
        return _dataset_page(request, s, me, resource_id, message, status, report)


@router.post("/exchange/resources/{resource_id}/host")
@access(EXCHANGE_MANAGE)
def dataset_host(
    request: Request, resource_id: int, db: DB, me: Me, key_item: Annotated[str, Form()] = ""
) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            _managed(uow.session, me, resource_id)
            services.host(uow, resource_id, key_item.strip() or None)
    except DomainError as exc:
        return _failed(request, db, me, resource_id, exc)
    ok = ("已挂接：数据由平台托管，请导入数据", "Hosted: the platform keeps the rows; load some data")
    return done(f"/exchange/resources/{resource_id}", say(request, *ok))


@router.post("/exchange/resources/{resource_id}/uploads")
@access(EXCHANGE_MANAGE)
def dataset_upload(
    request: Request,
    resource_id: int,
    db: DB,
    me: Me,
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form()] = "full",
) -> Any:
    try:
        if file is None or not file.filename:
            raise Invalid("请选择要导入的文件", "choose a file to load")
        with unit_of_work(db, me.actor) as uow:
            _managed(uow.session, me, resource_id)
            ds = queries.dataset(uow.session, resource_id)
            if ds is None:
                raise Invalid("请先挂接数据，再导入", "host the data first, then load it")
            load = loading.load_file(uow, ds.id, file.file, file.filename, mode)
            load_id, (zh, en) = load.id, loading.summary(load)
    except DomainError as exc:
        return _failed(request, db, me, resource_id, exc)
    return done(
        f"/exchange/resources/{resource_id}/loads/{load_id}",
        say(request, f"已导入 #{load_id}：{zh}", f"Load #{load_id}: {en}"),
    )


@router.get("/exchange/resources/{resource_id}/loads/{load_id}")
@access(EXCHANGE_MANAGE)
def load_page(request: Request, resource_id: int, load_id: int, s: Reader, me: Me) -> Any:
    res = _managed(s, me, resource_id)
    ds = queries.dataset(s, res.id)
    if ds is None:
        raise Invalid("该资源尚未挂接数据", "no data is attached to this resource")
    load = queries.load(s, ds.id, load_id)
    return page(request, "exchange/load.html", {"res": res, "ds": ds, "load": load, **_words()})


# --- usage statistics --------------------------------------------------------------------------------------


def _usage(request: Request, s: Session, me: Principal, days: int, resource: str, mine: bool) -> Any:
    if days not in PERIODS:
        days = 30
    today = shanghai_today()
    rows = queries.usage(s, me, None, days, today)
    resources = sorted({(r["resource_code"], r["resource_name"]) for r in rows})
    if resource:
        rows = [r for r in rows if r["resource_code"] == resource]
    first = today - dt.timedelta(days=days - 1)
    span = [first + dt.timedelta(days=n) for n in range(days)]
    per_day = {d: [0, 0] for d in span}
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        per_day[r["day"]][0] += r["calls"]
        per_day[r["day"]][1] += r["rows"]
        key = (r["resource_code"], r["resource_name"], r["consumer"])
        entry = table.setdefault(key, {"calls": 0, "rows": 0, "days": set(), "last": r["day"]})
        entry["calls"] += r["calls"]
        entry["rows"] += r["rows"]
        entry["days"].add(r["day"])
        entry["last"] = max(entry["last"], r["day"])
    chart = {
        "days": [d.isoformat()[5:] for d in span],
        "calls": [per_day[d][0] for d in span],
        "rows": [per_day[d][1] for d in span],
        "names": [say(request, "调用次数", "Calls"), say(request, "返回行数", "Rows returned")],
    }
    return page(
        request,
        "exchange/usage.html",
        {
            "mine": mine,
            "days": days,
            "periods": PERIODS,
            "resource": resource,
            "resources": resources,
            "chart": chart,
            "table": sorted(table.items(), key=lambda kv: (-kv[1]["calls"], kv[0])),
            "total_calls": sum(v[0] for v in per_day.values()),
            "total_rows": sum(v[1] for v in per_day.values()),
            "first": first,
            "today": today,
        },
    )


@router.get("/exchange/usage")
@access(CATALOG_READ)
def usage_page(request: Request, s: Reader, me: Me, days: int = 30, resource: str = "") -> Any:
    """Calls of what the caller oversees: its department's calls, its resources' use, or both sides for
    the data authority (exchange.queries.usage scopes the rows)."""
    return _usage(request, s, me, days, resource.strip(), mine=False)


@router.get("/exchange/calls")
@access(EXCHANGE_READ)
def my_calls(request: Request, s: Reader, me: Me, days: int = 30, resource: str = "") -> Any:
    """The same page, only the calls of the caller's own department(s): the query is asked as a caller who
    holds nothing but its exchange.read scopes."""
    own = (Scope(EXCHANGE_READ, sc.path) for sc in me.scopes if sc.permission in (EXCHANGE_READ, ALL))
    consumer = replace(me, scopes=tuple(own))
    return _usage(request, s, consumer, days, resource.strip(), mine=True)

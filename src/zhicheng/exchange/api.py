"""JSON routes of the exchange under /api/v1/exchange: the governed records call (GET with query
parameters, POST with a JSON body: the same language as CKAN's datastore_search), hosting and proxying a
resource's data, and usage statistics."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from zhicheng.catalog import ckan_api
from zhicheng.catalog import queries as catalog_queries
from zhicheng.catalog.permissions import CATALOG_READ
from zhicheng.core.audit import group
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.exchange import calls, queries, services
from zhicheng.exchange.permissions import EXCHANGE_MANAGE, EXCHANGE_READ
from zhicheng.exchange.query import parse
from zhicheng.exchange.schemas import DatasetOut, HostIn, ProxyIn, UsageOut
from zhicheng.settings import Settings
from zhicheng.sharing import masking
from zhicheng.web.deps import DB, Conf, Me, Reader, require
from zhicheng.web.security import access, principal

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])


@lru_cache(maxsize=8)
def _profiles(spec: str) -> dict[str, masking.Profile]:
    try:
        return masking.load_profiles(orjson.loads(spec) if spec.strip() else {})
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise Invalid(f"脱敏配置无效：{exc}", f"ZHICHENG_MASKING_PROFILES is invalid: {exc}") from exc


def answer_records(
    db: Database, settings: Settings, me: Principal, code: str, raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The records call shared by this API and CKAN's datastore_search: (result, its audit record). The
    caller commits the record (group.append_entry / append_read_async) before it answers."""
    search = parse(raw, settings.exchange_max_rows)
    answer = calls.search(
        db,
        me.actor,
        code,
        search,
        profiles=_profiles(settings.masking_profiles),
        default_rate=settings.exchange_rate_per_minute,
        open_rate=settings.exchange_open_rate_per_minute,
    )
    result: dict[str, Any] = {
        "resource_id": code,
        "fields": answer.fields,
        "records": answer.records,
        "records_format": "lists" if search.lists else "objects",
        "limit": answer.limit,
        "offset": answer.offset,
        "next_cursor": answer.next_cursor,
    }
    if answer.total is not None:
        result["total"] = answer.total
        result["total_was_estimated"] = False
    return result, answer.record


def read_records(db: Database, settings: Settings, me: Principal, code: str, raw: dict[str, Any]) -> dict:
    """answer_records with its record committed, for callers in a thread."""
    result, record = answer_records(db, settings, me, code, raw)
    group.append_entry(db, record)
    return result


def _json(body: Any) -> Response:
    # orjson: a page of a thousand rows is most of this route's work, and the stdlib encoder is 5× slower
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/resources/{code:path}/records")
@access(EXCHANGE_READ)
async def get_records(code: str, request: Request) -> Response:
    """Granted rows of a resource: `filters` (JSON), `q`, `fields`, `sort`, `limit`, `offset`, `cursor`,
    `include_total`, `records_format`; see docs/exchange.md.

    The platform's busiest route, so it is lean: no dependencies beyond the guard (the database, the settings
    and the caller come from the app and the request), and it runs on the event loop rather than in a
    thread — every step is a short indexed read or the grouped audit commit, and a thread hop per call cost
    more than the work. Text searches (`q`), which may scan, go to a thread."""
    db, settings, me = request.app.state.db, request.app.state.settings, principal(request)
    raw = dict(request.query_params)
    if raw.get("q"):
        return _json(await run_in_threadpool(read_records, db, settings, me, code, raw))
    result, record = answer_records(db, settings, me, code, raw)
    await group.append_read_async(db, record)
    return _json(result)


@router.post("/resources/{code:path}/records")
@access(EXCHANGE_READ)
def post_records(code: str, db: DB, settings: Conf, me: Me, body: dict[str, Any] = Body(...)) -> Response:
    """The same call with a JSON body, for filters that do not fit a query string."""
    return _json(read_records(db, settings, me, code, body))


@router.get("/resources/{code:path}/dataset", response_model=DatasetOut)
@access(CATALOG_READ)
def get_dataset(code: str, s: Reader) -> dict:
    """How the resource's data is held: mode, rows, last update, recent loads (no rows, no proxy secret)."""
    return queries.dataset_view(s, code)


@router.post("/resources/{code:path}/dataset", response_model=DatasetOut, status_code=201)
@access(EXCHANGE_MANAGE)
def host_dataset(code: str, body: HostIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        res = catalog_queries.resource_by_code(uow.session, code)
        require(me, EXCHANGE_MANAGE, queries.org_path(uow.session, res.provider_org_id))
        services.host(uow, res.id, body.key_item)
    with db.read() as s:
        return queries.dataset_view(s, code)


@router.put("/resources/{code:path}/proxy", response_model=DatasetOut)
@access(EXCHANGE_MANAGE)
def set_proxy(code: str, body: ProxyIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        res = catalog_queries.resource_by_code(uow.session, code)
        require(me, EXCHANGE_MANAGE, queries.org_path(uow.session, res.provider_org_id))
        services.proxy(uow, res.id, body.url, body.token)
    with db.read() as s:
        return queries.dataset_view(s, code)


@router.get("/usage", response_model=list[UsageOut])
@access(CATALOG_READ)
def usage(
    s: Reader,
    me: Me,
    resource: str | None = Query(None, description="a resource code"),
    days: int = Query(30, ge=1, le=366),
) -> list:
    """Calls and rows per day, resource and consumer, for the resources and consumers the caller oversees:
    its own department's calls (exchange.read), its resources' use (exchange.manage), or both sides
    (sharing.review)."""
    return queries.usage(s, me, resource, days)


# --- CKAN's datastore_search, on the same governed call ------------------------------------------------


@ckan_api.action("datastore_search")
def datastore_search(c: ckan_api.Call, data: dict[str, Any]) -> dict[str, Any]:
    """CKAN's datastore_search over the exchange: `resource_id` is the resource code; a key's grants apply,
    and without a key only open data (无条件开放) is served, masked with the strict profile."""
    code = str(data.get("resource_id") or data.get("id") or "").strip()
    if not code:
        raise Invalid("缺少 resource_id", "resource_id is required", field="resource_id")
    raw = {k: v for k, v in data.items() if k not in ("resource_id", "id")}
    me = c.me
    if not me.authenticated:  # anonymous open-data readers are limited per address, not all together
        me = replace(me, actor=replace(me.actor, ip=c.ip))
    result = read_records(c.db, c.settings, me, code, raw)
    links = {"start": f"/api/3/action/datastore_search?resource_id={quote(code)}"}
    if result["next_cursor"]:
        links["next"] = f"{links['start']}&cursor={result['next_cursor']}"
    # CKAN's envelope is written by the stdlib encoder, which knows no dates: make them ISO text here
    return orjson.loads(orjson.dumps({**result, "_links": links}))


ckan_api.datastore_probes.append(queries.with_data)

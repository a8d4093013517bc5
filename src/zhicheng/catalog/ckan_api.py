"""The CKAN action API, read side: `/api/3/action/<action>` (and `/api/action/<action>`, where ckanapi's
RemoteCKAN calls by default), GET with query parameters or POST with a JSON (or form) body, answered in CKAN's
envelope `{"help", "success", "result"}` or `{"help", "success": false, "error": {"__type", "message"}}`.

The routes are public and authenticate themselves as CKAN does: the API key comes raw in `Authorization` or
`X-CKAN-API-Key` (`Bearer` works too, checked by the guard). Our keys are our API tokens, `zc_<key>_<secret>`.
Without a key, or with a key that lacks `catalog.read`, a caller sees the open catalog; with `catalog.read`,
the whole catalog (see `public_queries`). A key that does not verify is an Authorization Error (403).

More actions register with `@action("name")`: this is where the exchange module adds `datastore_search`.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhicheng import __version__
from zhicheng.catalog import ckan, ckan_query, search
from zhicheng.catalog import public_queries as pq
from zhicheng.catalog.ckan import CkanError, boolean, integer, invalid, names, not_found, text
from zhicheng.catalog.public_queries import Viewer
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.principal import Principal
from zhicheng.core.errors import DomainError, Forbidden, Invalid, NotFound, Throttled
from zhicheng.core.orgs.models import Org
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import principal, public

router = APIRouter(tags=["ckan"])
PATHS = ("/api/3/action/{action}", "/api/action/{action}")
MAX_BODY = 1_000_000
log = logging.getLogger("zhicheng.catalog.ckan")


@dataclass
class Call:
    """One action call: the read session, who is calling and what they may see, the site's base URL."""

    s: Session
    me: Principal
    viewer: Viewer
    base: str
    db: Any = None  # the app's Database and Settings, for actions that call other modules' services
    settings: Any = None
    ip: str | None = None  # the caller's address (anonymous callers are rate-limited by it)


Action = Callable[[Call, dict[str, Any]], Any]
ACTIONS: dict[str, Action] = {}
# Which of these resources have rows the exchange serves (CKAN's datastore_active). The exchange module
# appends its probe here; until it does, no resource is datastore-active.
datastore_probes: list[Callable[[Session, Sequence[int]], set[int]]] = []


def action(name: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


# --- who is calling -----------------------------------------------------------------------------------------


def api_key(request: Request) -> str | None:
    """The key a CKAN client sends raw; None when there is none (or when it came as `Bearer`, which the
    guard has verified already)."""
    key = request.headers.get("x-ckan-api-key", "").strip()
    if not key:
        header = request.headers.get("authorization", "").strip()
        key = "" if header.lower().startswith("bearer ") else header
    return key or None


def caller(request: Request) -> Principal | None:
    """The caller: by CKAN API key, else as the guard found them (token, console session or anonymous).
    None when a key was sent that does not verify."""
    key = api_key(request)
    if key is None:
        return principal(request)
    ip = request.client.host if request.client else None
    return auth.principal_for_token(request.app.state.db, key, ip)


# --- the route ----------------------------------------------------------------------------------------------


async def _data(request: Request) -> dict[str, Any]:
    """CKAN's data dict: query parameters (repeated ones as lists), overlaid by a POSTed JSON or form body."""
    data: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key not in data:
            data[key] = value
        elif isinstance(data[key], list):
            data[key].append(value)
        else:
            data[key] = [data[key], value]
    if request.method != "POST":
        return data
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form: dict[str, Any] = {}
        for key, value in (await request.form()).multi_items():
            if isinstance(value, str):
                form.setdefault(key, []).append(value)
        return {**data, **{k: v[0] if len(v) == 1 else v for k, v in form.items()}}
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ckan.bad_request("请求内容过大", f"the request body is over {MAX_BODY} bytes")
    if not body.strip():
        return data
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise ckan.bad_request(f"JSON 格式错误：{exc}", f"JSON Error: {exc}") from None
    if not isinstance(parsed, dict):
        raise ckan.bad_request("请求内容须为 JSON 对象", "Request data JSON decoded to a non-dictionary")
    return {**data, **parsed}


def _run(request: Request, name: str, data: dict[str, Any], base: str) -> Any:
    fn = ACTIONS.get(name)
    if fn is None:
        raise ckan.bad_request(f"未知的操作：{name[:100]}", f"Action name not known: {name[:100]}")
    me = caller(request)
    if me is None:
        raise ckan.denied("API 密钥无效、已过期或已吊销", "the API key is invalid, expired or revoked")
    try:
        with request.app.state.db.read() as s:
            state = request.app.state
            ip = request.client.host if request.client else None
            return fn(Call(s, me, Viewer.of(me), base, state.db, state.settings, ip), data)
    except NotFound as exc:
        raise not_found(exc.detail_zh, exc.detail_en) from None
    except Invalid as exc:
        raise CkanError(409, exc.detail_zh, exc.detail_en) from None
    except Forbidden as exc:
        raise ckan.denied(exc.detail_zh, exc.detail_en) from None
    except Throttled as exc:  # the exchange's per-grant rate limit (datastore_search)
        raise CkanError(429, exc.detail_zh, exc.detail_en) from None
    except DomainError as exc:
        raise ckan.bad_request(exc.detail_zh, exc.detail_en) from None


def _answer(base: str, name: str, body: dict[str, Any], status: int) -> JSONResponse:
    help_url = f"{base}/api/3/action/help_show?name={quote(name[:100])}"
    return JSONResponse({"help": help_url, **body}, status_code=status)


@router.get(PATHS[0])
@router.post(PATHS[0])
@router.get(PATHS[1])
@router.post(PATHS[1])
@public
async def call_action(action: str, request: Request) -> JSONResponse:
    """A CKAN action (package_search, package_show, package_list, organization_list, organization_show,
    tag_list, status_show, help_show, datastore_search), answered in CKAN's envelope."""
    base = str(request.base_url).rstrip("/")
    try:
        data = await _data(request)
        result = await run_in_threadpool(_run, request, action, data, base)
    except CkanError as exc:
        return _answer(
            base, action, {"success": False, "error": exc.error(request_lang(request))}, exc.status
        )
    return _answer(base, action, {"success": True, "result": result}, 200)


# --- actions ------------------------------------------------------------------------------------------------


def org_id_of(s: Session, value: str) -> int | None:
    org_id, credit = ckan.org_id_from_name(value)
    if org_id is None and credit is None:
        return None
    found = pq.org_by(s, org_id=org_id, credit_code=credit)
    return found.id if found else None


def _packages(c: Call, ids: Sequence[int]) -> list[dict[str, Any]]:
    found = pq.resources(c.s, ids)
    orgs = pq.orgs(c.s, {r.provider_org_id for r in found})
    items, classes = pq.items(c.s, ids), pq.classes(c.s)
    active: set[int] = set()
    for probe in datastore_probes:
        active |= probe(c.s, ids)
    return [
        ckan.package_dict(
            r, orgs.get(r.provider_org_id), items.get(r.id, []), classes, c.base, r.id in active
        )
        for r in found
    ]


@action("package_search")
def package_search(c: Call, data: dict[str, Any]) -> dict[str, Any]:
    """Search datasets. q: words (Chinese or not; `*:*` for all); fq: `field:value` filters
    (organization, tags, res_format, share_type, open_type, grade, update_cycle, class, metadata_modified
    ranges, ...); rows (default 10, at most 1000); start; sort (`score desc, metadata_modified desc`);
    facet.field (a JSON list), facet.limit, facet.mincount; include_private (default true for key holders)."""
    words, clauses = ckan_query.split_q(text(data, "q"))
    clauses += ckan_query.parse_fq(text(data, "fq"))
    for extra in names(data, "fq_list"):
        clauses += ckan_query.parse_fq(extra, "fq_list")
    rows = integer(data, "rows", ckan.ROWS_DEFAULT, cap=ckan.ROWS_MAX)
    start = integer(data, "start", 0)
    sort = text(data, "sort", max_length=200).strip() or ckan_query.DEFAULT_SORT
    order = ckan_query.parse_sort(sort)
    wanted = names(data, "facet.field") if boolean(data, "facet", True) else []
    unknown = [f for f in wanted if f not in ckan_query.FACETS]
    if unknown:
        raise invalid(
            "facet.field",
            f"不支持的分面：{unknown}",
            f"unknown facets {unknown}; known: {sorted(ckan_query.FACETS)}",
        )
    limit = integer(data, "facet.limit", ckan.FACET_LIMIT_DEFAULT, low=None)
    mincount = integer(data, "facet.mincount", 1)
    viewer = c.viewer if boolean(data, "include_private", True) else Viewer(whole=False)

    chosen = ckan_query.filters(clauses, lambda value: org_id_of(c.s, value))
    terms = search.query_terms(words)
    found = [r for r in pq.candidates(c.s, viewer, terms, chosen.conditions) if chosen.keep(r)]
    page = ckan_query.sort_rows(found, order)[start : start + rows]
    orgs = pq.orgs(c.s, {r.provider_org_id for r in found}) if "organization" in wanted else {}
    plain, shown = ckan_query.facets(
        found, wanted, orgs, pq.classes(c.s) if "class" in wanted else {}, limit, mincount
    )
    return {
        "count": len(found),
        "sort": sort,
        "results": _packages(c, [r.id for r in page]),
        "facets": plain,
        "search_facets": shown,
    }


@action("package_show")
def package_show(c: Call, data: dict[str, Any]) -> dict[str, Any]:
    """One dataset by id (our resource id) or name (or resource code). A retired one shows as state
    "deleted" to a caller who may read the whole catalog."""
    ref = text(data, "id", max_length=200).strip() or text(data, "name_or_id", max_length=200).strip()
    if not ref:
        raise invalid("id", "缺少取值", "Missing value")
    if ref.isdigit():
        rid = ckan.small_int(ref)
        found = pq.resource_lookup(c.s, c.viewer, rid=rid) if rid is not None else None
    else:
        found = pq.resource_lookup(c.s, c.viewer, code=ref)
        if found is None and "/" not in ref:
            found = pq.resource_lookup(c.s, c.viewer, code=ref.replace("-", "/"))
    if found is None:
        raise not_found(f"数据集 {ref} 不存在", f"dataset {ref} not found")
    return _packages(c, [found.id])[0]


@action("package_list")
def package_list(c: Call, data: dict[str, Any]) -> list[str]:
    """The names of all datasets the caller may see (limit, offset)."""
    limit = integer(data, "limit", 0) or None
    offset = integer(data, "offset", 0)
    listed = sorted(ckan.package_name(r.code) for r in pq.visible_resources(c.s, c.viewer))
    return listed[offset : offset + limit if limit else None]


def _providers(c: Call) -> tuple[dict[int, int], dict[int, Org]]:
    counts = pq.provider_counts(c.s, c.viewer)
    return counts, pq.orgs(c.s, counts)


@action("organization_list")
def organization_list(c: Call, data: dict[str, Any]) -> list[Any]:
    """The provider departments of the datasets the caller may see: names, or whole dicts with all_fields
    (sort `title asc` | name | package_count, limit, offset, organizations, q)."""
    counts, orgs = _providers(c)
    listed = list(orgs.values())
    wanted = set(names(data, "organizations"))
    if wanted:
        listed = [o for o in listed if ckan.org_name(o) in wanted or str(o.id) in wanted]
    q = text(data, "q", max_length=200).strip().lower()
    if q:
        listed = [o for o in listed if q in ckan.org_name(o) or q in o.name.lower()]
    sort = (text(data, "sort", max_length=100).strip() or "title asc").split()
    keys = {"title": lambda o: o.name, "name": ckan.org_name, "package_count": lambda o: counts[o.id]}
    if sort[0] not in keys or len(sort) > 2 or (len(sort) == 2 and sort[1].lower() not in ("asc", "desc")):
        raise invalid("sort", f"无法排序：{' '.join(sort)}", f"cannot sort by {' '.join(sort)!r}")
    listed.sort(key=lambda o: (keys[sort[0]](o), o.id), reverse=len(sort) == 2 and sort[1].lower() == "desc")
    offset, limit = integer(data, "offset", 0), integer(data, "limit", 0) or None
    listed = listed[offset : offset + limit if limit else None]
    if not boolean(data, "all_fields", False):
        return [ckan.org_name(o) for o in listed]
    with_count = boolean(data, "include_dataset_count", True)
    extras = boolean(data, "include_extras", False)
    out = []
    for o in listed:
        entry = ckan.org_dict(o, counts[o.id] if with_count else None)
        if extras:
            entry["extras"] = ckan.org_extras(o)
        out.append(entry)
    return out


@action("organization_show")
def organization_show(c: Call, data: dict[str, Any]) -> dict[str, Any]:
    """One provider department by id or name; include_datasets adds its datasets (newest change first, at
    most 1000)."""
    ref = text(data, "id", max_length=200).strip()
    if not ref:
        raise invalid("id", "缺少取值", "Missing value")
    counts, orgs = _providers(c)
    org_id = org_id_of(c.s, ref)
    if org_id not in counts:
        raise not_found(f"机构 {ref} 不存在", f"organization {ref} not found")
    out = {**ckan.org_dict(orgs[org_id], counts[org_id]), "extras": ckan.org_extras(orgs[org_id])}
    out |= {"users": [], "groups": [], "tags": []}
    if boolean(data, "include_datasets", False):
        shown = pq.visible_resources(c.s, c.viewer, provider_org_id=org_id, limit=ckan.ROWS_MAX)
        out["packages"] = _packages(c, [r.id for r in shown])
    return out


@action("tag_list")
def tag_list(c: Call, data: dict[str, Any]) -> list[Any]:
    """The tags (keywords) of the datasets the caller may see; `query` keeps those containing it."""
    if text(data, "vocabulary_id").strip():
        return []  # no tag vocabularies here: only free tags
    query = (text(data, "query", max_length=200) or text(data, "q", max_length=200)).strip().lower()
    tags = {ckan.tag_name(k) for keywords in pq.keywords(c.s, c.viewer) for k in keywords if k.strip()}
    listed = sorted(t for t in tags if query in t.lower())
    if boolean(data, "all_fields", False):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in listed]
    return listed


@action("status_show")
def status_show(c: Call, data: dict[str, Any]) -> dict[str, Any]:
    """What this site is and which CKAN API level it answers."""
    return {
        "site_title": "智城 zhicheng 数据资源目录",
        "site_description": "政务信息资源目录（CKAN 兼容只读接口）",
        "site_url": c.base,
        "ckan_version": ckan.CKAN_VERSION,
        "zhicheng_version": __version__,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["zhicheng-catalog", "dcat"],
    }


@action("help_show")
def help_show(c: Call, data: dict[str, Any]) -> str:
    """The documentation of an action (name)."""
    name = text(data, "name", max_length=100).strip()
    if name not in ACTIONS:
        raise not_found(f"操作 {name} 不存在", f"action {name} not found")
    return inspect.getdoc(ACTIONS[name]) or ""

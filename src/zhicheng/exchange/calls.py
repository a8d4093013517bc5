"""One governed exchange call: who is asking, what they were granted, the rows, the masking, the record.

    access   the resource by code, its dataset, and the consumer's grant in force; cached per process but
             checked on every call against the "exchange" generation (core.cache), so a revoked or expired
             grant stops the next call; anonymous callers get open data only
    limit    the grant's calls per minute (ratelimit)
    rows     hosted: SQL over the dataset's table; proxied: the provider's API (proxy.fetch)
    mask     granted items only, each masked by its sensitivity under the grant's profile
    record   "exchange:records:read" on the audit chain (consumer, grant, purpose, SM3 of the query, rows),
             committed before the answer leaves: no answer without its record

What does not change per call (the table, item types, the compiled masker, which columns hold values masked
at load) is cached per process, keyed by the versions of the dataset, the resource and the grant's masking,
so any change rebuilds it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from zhicheng.catalog import queries as catalog
from zhicheng.core import cache
from zhicheng.core.audit import group
from zhicheng.core.audit import services as audit
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database
from zhicheng.core.errors import Conflict, Forbidden, NotFound
from zhicheng.exchange import datastore, ratelimit
from zhicheng.exchange.models import Dataset
from zhicheng.exchange.query import Built, Search, Shape, build
from zhicheng.sharing import masking
from zhicheng.sharing import queries as sharing

OPEN_PROFILE = "strict"  # anonymous readers of open data see sensitive items starred
PLANS = 512


@dataclass(frozen=True)
class Access:
    """What one caller may read of one resource right now."""

    resource_id: int
    code: str
    grant_id: int  # 0: open data read anonymously
    consumer_org_id: int  # 0: the public
    purpose: str
    items: tuple[str, ...]
    profile: str
    overrides: tuple[tuple[str, str], ...]
    rate: int
    dataset: Any  # a row of exchange_dataset: id, mode, table_name, columns, proxy_url, proxy_token, …
    plan_key: tuple[Any, ...]


@dataclass(frozen=True)
class Plan:
    shape: Shape
    sensitivity: dict[str, str]
    types: dict[str, str]
    maskers: dict[tuple[str, ...], Callable[[Any], dict[str, Any]]]


_plans: OrderedDict[tuple[Any, ...], Plan] = OrderedDict()
# resource × caller × day → Access, valid while the "exchange" generation stands: any write to resources,
# their items, grants or datasets changes it, so a revoked grant stops the very next call
cache.watch("exchange", "catalog_resource", "catalog_item", "sharing_grant", "exchange_dataset")
_access: dict[tuple[Any, ...], tuple[int, Access]] = {}
MAX_ACCESS = 10_000


def cached_resolve(
    s: Session | Connection, actor: Actor, code: str, default_rate: int, open_rate: int, url: str
) -> Access:
    today = shanghai_today()
    key = (url, actor.kind == "public", actor.org_id, code, today, default_rate, open_rate)
    generation = cache.generations(s).get("exchange", 0)
    hit = _access.get(key)
    if hit is not None and hit[0] == generation:
        return hit[1]
    found = resolve(s, actor, code, default_rate, open_rate, today)
    if len(_access) >= MAX_ACCESS:
        _access.clear()
    _access[key] = (generation, found)
    return found


_DATASET = select(
    Dataset.id,
    Dataset.mode,
    Dataset.table_name,
    Dataset.columns,
    Dataset.proxy_url,
    Dataset.proxy_token,
    Dataset.version,
    Dataset.updated_at,
)


def resolve(
    s: Session | Connection,
    actor: Actor,
    code: str,
    default_rate: int,
    open_rate: int,
    today: dt.date | None = None,
) -> Access:
    """The access of `actor` to the resource `code`, or NotFound / Forbidden / Conflict. Rows, not ORM
    objects: this runs on every call."""
    res = catalog.resource_head(s, code)
    if res.status != "published":
        raise NotFound(f"数据资源 {code} 已撤销", f"resource {code} is retired")
    if actor.kind == "public":
        if res.open_type != "unconditional":
            raise Forbidden(
                "该资源不向社会开放，请使用授权令牌调用", "not open data: call with a granted token"
            )
        grant_id, consumer, purpose, items, profile, overrides, rate = (
            0,
            0,
            "开放数据 open data",
            (),
            OPEN_PROFILE,
            {},
            open_rate,
        )
    else:
        if actor.org_id is None:
            raise Forbidden("调用方不属于任何部门", "the caller belongs to no department")
        grant = sharing.grant_terms(s, actor.org_id, res.id, today or shanghai_today())
        if grant is None:
            raise Forbidden(
                f"本部门没有“{res.name}”的有效共享授权（未授权、已过期或已吊销）",
                f"no grant in force for {code} (never granted, expired or revoked)",
                resource=code,
            )
        grant_id, consumer, purpose = grant.id, actor.org_id, grant.purpose
        items, profile = tuple(grant.items), grant.masking_profile
        overrides, rate = dict(grant.mask_overrides or {}), grant.rate_per_minute or default_rate
    ds = s.execute(_DATASET.where(Dataset.resource_id == res.id)).first()
    if ds is None or (ds.mode == "hosted" and not ds.table_name):
        raise Conflict(f"“{res.name}”尚未挂接数据", f"no data is attached to {code} yet", resource=code)
    over = tuple(sorted(overrides.items()))
    key = (ds.id, ds.version, ds.updated_at, res.id, res.version, res.updated_at, items, profile, over)
    return Access(res.id, code, grant_id, consumer, purpose, items, profile, over, rate, ds, key)


def plan(db: Database, access: Access, profiles: dict[str, masking.Profile]) -> Plan:
    found = _plans.get(access.plan_key)
    if found is not None:
        _plans.move_to_end(access.plan_key)
        return found
    ds = access.dataset
    with db.read() as s:  # only when the plan is not cached: the catalog's items, as objects
        catalog_items = {i.name: i for i in catalog.items(s, access.resource_id)}
    hosted_items = [c for c in ds.columns if c["item"] in catalog_items]
    wanted = set(access.items) if access.grant_id else set(catalog_items)
    table = datastore.table(ds.table_name or f"proxy_{ds.id}", ds.columns)
    granted = [c for c in hosted_items if c["item"] in wanted]
    sensitivity = {c["item"]: catalog_items[c["item"]].sensitivity for c in granted}
    # where the dataset holds a value already masked by the rule this grant applies, return that column
    profile, overrides = _profile(access, profiles), dict(access.overrides)
    output = {}
    for c in granted:
        rule = overrides.get(c["item"]) or profile.rule_for(sensitivity[c["item"]])
        stored = c.get("masked", {}).get(rule)
        if stored and c.get("rules_version") == masking.RULES_VERSION and ds.mode == "hosted":
            output[c["item"]] = table.c[stored]
    shape = Shape(
        columns={c["item"]: table.c[c["column"]] for c in granted},
        types={c["item"]: c["type"] for c in granted},
        known=frozenset(catalog_items),
        id_column=table.c._id,
        output=output,
    )
    found = Plan(shape=shape, sensitivity=sensitivity, types=dict(shape.types), maskers={})
    _plans[access.plan_key] = found
    if len(_plans) > PLANS:
        _plans.popitem(last=False)
    return found


def _profile(access: Access, profiles: dict[str, masking.Profile]) -> masking.Profile:
    # a grant naming a profile the settings no longer define falls back to the strictest built-in
    return profiles.get(access.profile) or masking.STRICT


def masker(p: Plan, access: Access, fields: list[str], profiles: dict[str, masking.Profile]) -> Any:
    """The row masker for rows (_id, *fields), compiled once per plan and field list. Items read from a
    column masked at load pass through as they are."""
    key = tuple(fields)
    fn = p.maskers.get(key)
    if fn is None:
        columns = [(f, p.sensitivity[f]) for f in fields]
        overrides = dict(access.overrides) | dict.fromkeys(p.shape.output, "keep")
        fn = masking.compile_row_masker(columns, _profile(access, profiles), overrides)
        p.maskers[key] = fn
    return fn


@dataclass
class Answer:
    fields: list[dict[str, Any]]
    records: list[Any]
    total: int | None
    next_cursor: str | None
    limit: int
    offset: int
    record: dict[str, Any]  # the call's audit record: the caller commits it before answering


def search(
    db: Database,
    actor: Actor,
    code: str,
    search: Search,
    *,
    profiles: dict[str, masking.Profile],
    default_rate: int,
    open_rate: int,
) -> Answer:
    refused: Forbidden | None = None
    with db.connect() as s:  # one connection for the grant check, the plan and the rows
        try:
            access = cached_resolve(s, actor, code, default_rate, open_rate, db.url)
        except Forbidden as exc:
            refused = exc
        if refused is None:
            p = plan(db, access, profiles)
            built = build(p.shape, search)  # validates the query against the grant before anything runs
            ratelimit.take(f"g{access.grant_id}" if access.grant_id else f"ip:{actor.ip}", access.rate)
            proxied = access.dataset.mode == "proxied"
            if not proxied:
                rows = s.execute(built.page).all()
                total = s.scalar(built.count) if built.count is not None else None
    if refused is not None:
        if actor.kind != "public":
            # a refused call by an authenticated system is on the trail too: probing for data is worth knowing
            group.append_read(
                db,
                actor,
                "exchange:records:refused",
                f"resource:{code}",
                {"consumer": actor.org_id, "query": sm3_hex(search.digest_source().encode())},
            )
        raise refused
    if proxied:  # outside the session: a slow provider must not hold a database connection
        rows, total = _proxied(access, search, built)
    mask = masker(p, access, built.fields, profiles)
    # proxied resources page by offset: the provider's order is its own, so no keyset cursor is offered
    nxt = built.next_cursor(rows[-1]) if len(rows) == search.limit and not proxied else None
    records = [mask(row) for row in rows]  # dates stay dates: the JSON encoder writes them as ISO 8601
    if search.lists:
        records = [list(r.values()) for r in records]
    record = audit.entry(
        actor,
        "exchange:records:read",
        f"resource:{code}",
        {
            "resource_id": access.resource_id,
            "grant": access.grant_id,
            "consumer": access.consumer_org_id,
            "purpose": access.purpose,
            "query": sm3_hex(search.digest_source().encode()),
            "rows": len(records),
        },
    )
    fields = [{"id": "_id", "type": "int"}] + [
        {"id": f, "type": p.types[f], "info": {"sensitivity": p.sensitivity[f]}} for f in built.fields
    ]
    return Answer(fields, records, total, nxt, search.limit, search.offset, record)


def _proxied(access: Access, search: Search, built: Built) -> tuple[list[Any], int | None]:
    from zhicheng.exchange import proxy  # the provider's API, only for proxied resources

    return proxy.fetch(access.dataset, search, built)

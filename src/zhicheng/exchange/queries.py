"""Exchange reads: a dataset's state for its page and the API, and usage statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, aliased

from zhicheng.catalog import queries as catalog
from zhicheng.catalog.models import Resource
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.models import Org
from zhicheng.core.orgs.queries import org_path  # noqa: F401 - the module's callers use queries.org_path
from zhicheng.exchange.models import DataLoad, Dataset, PullSource, Usage
from zhicheng.exchange.permissions import EXCHANGE_MANAGE, EXCHANGE_READ
from zhicheng.sharing.permissions import SHARING_REVIEW

RECENT_LOADS = 10


def dataset(s: Session, resource_id: int) -> Dataset | None:
    return s.scalar(select(Dataset).where(Dataset.resource_id == resource_id))


def with_data(s: Session, resource_ids: Any) -> set[int]:
    """Which of these resources have rows the exchange serves (hosted or proxied)."""
    ids = list(resource_ids)
    if not ids:
        return set()
    return set(s.scalars(select(Dataset.resource_id).where(Dataset.resource_id.in_(ids))))


def loads(s: Session, dataset_id: int, limit: int = RECENT_LOADS) -> list[DataLoad]:
    return list(
        s.scalars(
            select(DataLoad)
            .where(DataLoad.dataset_id == dataset_id)
            .order_by(DataLoad.id.desc())
            .limit(limit)
        )
    )


def dataset_view(s: Session, code: str) -> dict[str, Any]:
    res = catalog.resource_by_code(s, code)
    ds = dataset(s, res.id)
    if ds is None:
        return {"resource_code": res.code, "mode": "none"}
    return {
        "resource_code": res.code,
        "mode": ds.mode,
        "row_count": ds.row_count,
        "loaded_at": ds.loaded_at,
        "key_item": ds.key_item,
        "proxy_url": ds.proxy_url,
        "items": [c["item"] for c in ds.columns],
        "loads": loads(s, ds.id),
    }


def _under(column: Any, paths: list[str]) -> Any:
    return or_(*(column.startswith(p) for p in paths)) if paths else false()


def usage(s: Session, me: Principal, code: str | None, days: int, today: dt.date | None = None) -> list[dict]:
    """Usage rows the caller oversees: as a consumer (exchange.read over the consumer), as a provider
    (exchange.manage over the resource's provider) or as the data authority (sharing.review over both)."""
    since = (today or shanghai_today()) - dt.timedelta(days=days - 1)
    consumer, provider = aliased(Org), aliased(Org)
    q = (
        select(Usage, Resource.code, Resource.name, consumer.name)
        .join(Resource, Resource.id == Usage.resource_id)
        .join(provider, provider.id == Resource.provider_org_id)
        .outerjoin(consumer, consumer.id == Usage.consumer_org_id)
        .where(Usage.day >= since)
        .where(
            or_(
                _under(consumer.path, me.paths(EXCHANGE_READ)),
                _under(provider.path, me.paths(EXCHANGE_MANAGE)),
                _under(provider.path, me.paths(SHARING_REVIEW)),
            )
        )
        .order_by(Usage.day, Resource.code, Usage.grant_id)
    )
    if code:
        q = q.where(Resource.code == code)
    return [
        {
            "day": u.day,
            "resource_code": rc,
            "resource_name": rn,
            "consumer": cn or "社会公众",
            "grant_id": u.grant_id,
            "calls": u.calls,
            "rows": u.rows,
        }
        for u, rc, rn, cn in s.execute(q)
    ]


def last_updates(s: Session) -> dict[int, dt.datetime | None]:
    """When each resource's hosted or proxied data last changed (`Dataset.loaded_at`, None when never loaded),
    by resource id; resources without a dataset are absent. The quality module judges timeliness by it."""
    return {rid: at for rid, at in s.execute(select(Dataset.resource_id, Dataset.loaded_at))}


def hosted_dataset(s: Session, code: str) -> tuple[Resource, Dataset]:
    """The resource `code` and its dataset, for loads and pulls: NotFound without one."""
    res = catalog.resource_by_code(s, code)
    ds = dataset(s, res.id)
    if ds is None:
        raise NotFound(
            f"“{res.name}”尚未挂接数据，请先挂接", f"no data is attached to {code}; host it first"
        )
    return res, ds


def load(s: Session, dataset_id: int, load_id: int) -> DataLoad:
    found = s.get(DataLoad, load_id)
    if found is None or found.dataset_id != dataset_id:
        raise NotFound(f"导入记录 {load_id} 不存在", f"load {load_id} not found")
    return found


def pull_source(s: Session, dataset_id: int) -> PullSource | None:
    return s.scalar(select(PullSource).where(PullSource.dataset_id == dataset_id))


# --- the console: a resource's masked sample, the catalog page's data panel, a provider's datasets --------

SAMPLE_ROWS = 5


def sample(s: Session, resource_id: int, limit: int = SAMPLE_ROWS) -> dict[str, Any] | None:
    """The first rows of a hosted resource as a consumer granted every shared item would see them under the
    standard masking profile: items that are never shared are left out (and named), sensitive ones masked.
    None when the platform holds no rows (not hosted, or proxied: a sample would call the provider)."""
    from zhicheng.exchange import datastore
    from zhicheng.sharing import masking

    ds = dataset(s, resource_id)
    if ds is None or ds.mode != "hosted" or not ds.table_name:
        return None
    items = {i.name: i for i in catalog.items(s, resource_id)}
    shown = [c for c in ds.columns if c["item"] in items and items[c["item"]].share_type != "none"]
    table = datastore.table(ds.table_name, ds.columns)
    mask = masking.compile_row_masker(
        [(c["item"], items[c["item"]].sensitivity) for c in shown], masking.STANDARD, passthrough=()
    )
    rows = s.execute(select(*(table.c[c["column"]] for c in shown)).order_by(table.c._id).limit(limit))
    listed = []
    for c in shown:
        sens = items[c["item"]].sensitivity
        listed.append({"name": c["item"], "sensitivity": sens, "rule": masking.STANDARD.rule_for(sens)})
    return {
        "items": listed,
        "rows": [mask(row) for row in rows],
        "withheld": [name for name, i in items.items() if i.share_type == "none"],
        "profile": masking.STANDARD.name,
    }


def catalog_panel(s: Session, me: Principal, res: Resource) -> dict[str, Any]:
    """The data panel of the catalog's resource page: how the data is held, a link to the dataset page for
    the provider, and the masked sample (none for a resource that is not shared at all)."""
    ds = dataset(s, res.id)
    manage = me.can(EXCHANGE_MANAGE, org_path(s, res.provider_org_id))
    shown = ds is not None and ds.mode == "hosted" and res.share_type != "none"
    return {
        "mode": ds.mode if ds else "none",
        "row_count": ds.row_count if ds else 0,
        "loaded_at": ds.loaded_at if ds else None,
        "can_manage": manage,
        "sample": sample(s, res.id) if shown else None,
    }


def provided(s: Session, paths: list[str], with_data: bool = False) -> list[dict[str, Any]]:
    """The published resources of the departments under `paths` (exchange.manage) and how their data is
    held, for the provider's list of datasets."""
    q = (
        select(Resource.id, Resource.code, Resource.name, Org.name, Dataset.mode, Dataset.row_count,
               Dataset.loaded_at)
        .join(Org, Org.id == Resource.provider_org_id)
        .outerjoin(Dataset, Dataset.resource_id == Resource.id)
        .where(Resource.status == "published", _under(Org.path, paths))
        .order_by(Org.name, Resource.code)
    )  # fmt: skip
    if with_data:
        q = q.where(Dataset.id.is_not(None))
    keys = ("id", "code", "name", "provider", "mode", "row_count", "loaded_at")
    rows = [dict(zip(keys, row, strict=True)) for row in s.execute(q)]
    return [{**r, "mode": r["mode"] or "none", "row_count": r["row_count"] or 0} for r in rows]

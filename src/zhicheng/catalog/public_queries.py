"""Reads behind the catalog's standard interfaces (the CKAN action API and the DCAT-AP export), with the one
visibility rule they share:

- a caller who holds `catalog.read` anywhere reads the whole catalog, as `/api/v1/catalog` lets them;
- anyone else (anonymous, or a key without `catalog.read`) reads the open catalog only: published resources
  whose open type is 无条件开放 or 有条件开放.

Retired resources are never listed; a reader of the whole catalog may still look one up (CKAN state
"deleted"). Text matching is the catalog's own jieba search (`search.query_terms` and its match set), so the
standard interfaces find exactly what the console and /api/v1/catalog/search find.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhicheng.catalog import search
from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem
from zhicheng.catalog.permissions import CATALOG_READ
from zhicheng.core.auth.principal import Principal
from zhicheng.core.orgs.models import Org

OPEN = ("unconditional", "conditional")  # open types the public may see
R = Resource.__table__.c


@dataclass(frozen=True)
class Viewer:
    """What a caller of the standard interfaces may see."""

    whole: bool  # the whole catalog (catalog.read); otherwise the open catalog only

    @classmethod
    def of(cls, me: Principal) -> Viewer:
        return cls(whole=me.authenticated and me.can(CATALOG_READ))

    def conditions(self, retired: bool = False) -> list[Any]:
        """SQL conditions on catalog_resource for what this viewer sees (`retired`: also retired ones)."""
        conds: list[Any] = [] if retired else [R.status == "published"]
        if not self.whole:
            conds += [R.status == "published", R.open_type.in_(OPEN)]
        return conds


@dataclass
class Row:
    """A candidate of a search: the columns that filters, facets and sorting read."""

    id: int
    score: float
    code: str
    name: str
    provider_org_id: int
    class_code: str
    share_type: str
    share_mode: str
    open_type: str
    grade: str
    format: str
    update_cycle: str
    keywords: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


ROW_COLUMNS = [c for c in Row.__dataclass_fields__ if c not in ("id", "score")]


def candidates(s: Session, viewer: Viewer, terms: list[str], conditions: Iterable[Any] = ()) -> list[Row]:
    """Published resources the viewer sees that carry every word of `terms` (all of them when there are no
    words) and pass `conditions` (on catalog_resource), unordered, each with its search score."""
    matched = search._matches(s.get_bind().dialect.name, terms, {}).subquery("m")  # the catalog's search
    stmt = (
        select(matched.c.rid, matched.c.score, *(R[c] for c in ROW_COLUMNS))
        .join_from(matched, Resource.__table__, R.id == matched.c.rid)
        .where(*viewer.conditions(), *conditions)
    )
    return [Row(rid, float(score or 0.0), *rest) for rid, score, *rest in s.execute(stmt)]


def resources(s: Session, ids: Sequence[int]) -> list[Resource]:
    """Resources by id, in the order of `ids`."""
    found = {r.id: r for r in s.scalars(select(Resource).where(Resource.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def visible_resources(
    s: Session, viewer: Viewer, provider_org_id: int | None = None, limit: int | None = None
) -> list[Resource]:
    """Every published resource the viewer sees (one provider's), newest change first."""
    stmt = select(Resource).where(*viewer.conditions()).order_by(Resource.updated_at.desc(), Resource.id)
    if provider_org_id is not None:
        stmt = stmt.where(Resource.provider_org_id == provider_org_id)
    return list(s.scalars(stmt.limit(limit)))


def resource_lookup(
    s: Session, viewer: Viewer, *, rid: int | None = None, code: str | None = None
) -> Resource | None:
    """One resource by id or code, if the viewer may see it (a whole-catalog reader sees retired ones too)."""
    stmt = select(Resource).where(*viewer.conditions(retired=True))
    stmt = stmt.where(Resource.id == rid) if rid is not None else stmt.where(Resource.code == code)
    return s.scalar(stmt)


def items(s: Session, ids: Sequence[int]) -> dict[int, list[ResourceItem]]:
    out: dict[int, list[ResourceItem]] = {}
    if ids:
        stmt = select(ResourceItem).where(ResourceItem.resource_id.in_(ids)).order_by(ResourceItem.position)
        for item in s.scalars(stmt):
            out.setdefault(item.resource_id, []).append(item)
    return out


def orgs(s: Session, ids: Iterable[int]) -> dict[int, Org]:
    wanted = set(ids)
    return {o.id: o for o in s.scalars(select(Org).where(Org.id.in_(wanted)))} if wanted else {}


def org_by(s: Session, *, org_id: int | None = None, credit_code: str | None = None) -> Org | None:
    if org_id is not None:
        return s.get(Org, org_id)
    return s.scalar(select(Org).where(Org.credit_code == credit_code))


def provider_counts(s: Session, viewer: Viewer) -> dict[int, int]:
    """Providers of the resources the viewer sees, with how many each provides."""
    stmt = select(R.provider_org_id, func.count()).where(*viewer.conditions()).group_by(R.provider_org_id)
    return dict(s.execute(stmt).all())


def keywords(s: Session, viewer: Viewer) -> list[list[str]]:
    """The keyword lists of the resources the viewer sees."""
    return [k or [] for k in s.scalars(select(R.keywords).where(*viewer.conditions()))]


def classes(s: Session) -> dict[str, CatalogClass]:
    return {c.code: c for c in s.scalars(select(CatalogClass))}


def codes_to_ids(s: Session, viewer: Viewer, codes: Iterable[str]) -> dict[str, int]:
    """Related resource codes the viewer may see, to their ids."""
    wanted = set(codes)
    if not wanted:
        return {}
    stmt = select(R.code, R.id).where(R.code.in_(wanted), *viewer.conditions())
    return dict(s.execute(stmt).all())

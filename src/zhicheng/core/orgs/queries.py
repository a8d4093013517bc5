"""Reads of divisions, organizations and parties shared by the API and the console."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.codes import division_prefix
from zhicheng.core.orgs.models import Division, Org, Party


def divisions(s: Session, parent: str | None = None, level: str | None = None) -> list[Division]:
    q = select(Division).order_by(Division.code)
    if parent:
        q = q.where(Division.parent_code == parent)
    if level:
        q = q.where(Division.level == level)
    return list(s.scalars(q))


def orgs(
    s: Session,
    within: list[str],
    q: str | None = None,
    division: str | None = None,
    kind: str | None = None,
    limit: int = 200,
    after: int | None = None,
) -> list[Org]:
    """Organizations under any of the subtree roots `within`, filtered."""
    if not within:
        return []
    stmt = select(Org).where(or_(*[Org.path.startswith(p) for p in within])).order_by(Org.id)
    if q:
        stmt = stmt.where(or_(Org.name.contains(q), Org.short_name.contains(q)))
    if division:
        stmt = stmt.where(Org.division_code.startswith(division_prefix(division)))
    if kind:
        stmt = stmt.where(Org.kind == kind)
    if after:
        stmt = stmt.where(Org.id > after)
    return list(s.scalars(stmt.limit(limit)))


def org(s: Session, org_id: int) -> Org:
    found = s.get(Org, org_id)
    if found is None:
        raise NotFound(f"机构 {org_id} 不存在", f"organization {org_id} not found")
    return found


def org_path(s: Session, org_id: int) -> str:
    """The org's 块 path ("" when there is none): what per-object permission checks compare against."""
    return s.scalar(select(Org.path).where(Org.id == org_id)) or ""


def party_by_number(s: Session, kind: str, number: str) -> Party | None:
    return s.scalar(select(Party).where(Party.kind == kind, Party.id_number == number))

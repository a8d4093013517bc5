"""Catalogue reads shared by the API, the console and the importers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem, ResourceVersion
from zhicheng.core.errors import NotFound


@dataclass
class ResourceFilter:
    provider_org_id: int | None = None
    class_code: str | None = None  # a prefix: "1" finds every resource under 类 1
    share_type: str | None = None
    grade: str | None = None
    format: str | None = None
    update_cycle: str | None = None
    status: str | None = "published"


def resources(s: Session, f: ResourceFilter, limit: int = 50, after: int | None = None) -> list[Resource]:
    q = select(Resource).order_by(Resource.id)
    for field in ("provider_org_id", "share_type", "grade", "format", "update_cycle", "status"):
        value = getattr(f, field)
        if value is not None:
            q = q.where(getattr(Resource, field) == value)
    if f.class_code:
        q = q.where(Resource.class_code.startswith(f.class_code))
    if after is not None:
        q = q.where(Resource.id > after)
    return list(s.scalars(q.limit(limit)))


def resource(s: Session, resource_id: int) -> Resource:
    found = s.get(Resource, resource_id)
    if found is None:
        raise NotFound(f"数据资源 {resource_id} 不存在", f"resource {resource_id} not found")
    return found


def resource_by_code(s: Session, code: str) -> Resource:
    found = s.scalar(select(Resource).where(Resource.code == code))
    if found is None:
        raise NotFound(f"数据资源 {code} 不存在", f"resource {code} not found")
    return found


def resource_head(s: Any, code: str) -> Any:
    """The few columns the exchange checks on every call (a row, not an object): id, code, name, status,
    open_type, provider_org_id, version, updated_at."""
    row = s.execute(
        select(
            Resource.id, Resource.code, Resource.name, Resource.status, Resource.open_type,
            Resource.provider_org_id, Resource.version, Resource.updated_at,
        ).where(Resource.code == code)
    ).first()
    if row is None:
        raise NotFound(f"数据资源 {code} 不存在", f"resource {code} not found")
    return row


def items(s: Session, resource_id: int) -> list[ResourceItem]:
    return list(
        s.scalars(
            select(ResourceItem)
            .where(ResourceItem.resource_id == resource_id)
            .order_by(ResourceItem.position)
        )
    )


def versions(s: Session, resource_id: int) -> list[ResourceVersion]:
    return list(
        s.scalars(
            select(ResourceVersion)
            .where(ResourceVersion.resource_id == resource_id)
            .order_by(ResourceVersion.version.desc())
        )
    )


def version(s: Session, resource_id: int, number: int) -> ResourceVersion:
    found = s.scalar(
        select(ResourceVersion).where(
            ResourceVersion.resource_id == resource_id, ResourceVersion.version == number
        )
    )
    if found is None:
        raise NotFound(f"版本 {number} 不存在", f"version {number} not found")
    return found


def classes(s: Session) -> list[CatalogClass]:
    return list(s.scalars(select(CatalogClass).order_by(CatalogClass.code)))

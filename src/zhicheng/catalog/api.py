"""JSON routes of the catalog under /api/v1/catalog. Reading needs catalog.read; cataloguing needs
catalog.manage over the provider department."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from zhicheng.catalog import queries, services
from zhicheng.catalog.permissions import CATALOG_MANAGE, CATALOG_READ
from zhicheng.catalog.schemas import ClassIn, ClassOut, ResourceDetail, ResourceIn, ResourceOut, VersionOut
from zhicheng.core.db import unit_of_work
from zhicheng.core.orgs import queries as org_queries
from zhicheng.core.paging import Page, decode_id, page
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


@router.get("/classes", response_model=list[ClassOut])
@access(CATALOG_READ)
def list_classes(s: Reader) -> list:
    return queries.classes(s)


@router.post("/classes", response_model=ClassOut, status_code=201)
@access("*")
def create_class(body: ClassIn, db: DB, me: Me) -> object:
    """The classification is the data authority's: administrators only."""
    with unit_of_work(db, me.actor) as uow:
        return services.create_class(uow, body)


@router.get("/resources", response_model=Page[ResourceOut])
@access(CATALOG_READ)
def list_resources(
    s: Reader,
    f: Annotated[queries.ResourceFilter, Depends()],
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict:
    rows = queries.resources(s, f, limit + 1, decode_id(cursor))
    items, nxt = page(rows, limit, lambda r: r.id)
    return {"items": items, "next_cursor": nxt}


@router.get("/resources/{resource_id}", response_model=ResourceDetail)
@access(CATALOG_READ)
def get_resource(resource_id: int, s: Reader) -> dict:
    res = queries.resource(s, resource_id)
    return {**ResourceOut.model_validate(res).model_dump(), "items": queries.items(s, res.id)}


@router.get("/resources/{resource_id}/versions", response_model=list[VersionOut])
@access(CATALOG_READ)
def list_versions(resource_id: int, s: Reader) -> list:
    queries.resource(s, resource_id)
    return queries.versions(s, resource_id)


@router.post("/resources", response_model=ResourceOut, status_code=201)
@access(CATALOG_MANAGE)
def create_resource(body: ResourceIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        require(me, CATALOG_MANAGE, org_queries.org(uow.session, body.provider_org_id).path)
        return services.create_resource(uow, body)


@router.put("/resources/{resource_id}", response_model=ResourceOut)
@access(CATALOG_MANAGE)
def update_resource(resource_id: int, body: ResourceIn, db: DB, me: Me, note: str = "") -> object:
    with unit_of_work(db, me.actor) as uow:
        current = queries.resource(uow.session, resource_id)
        require(me, CATALOG_MANAGE, org_queries.org(uow.session, current.provider_org_id).path)
        require(me, CATALOG_MANAGE, org_queries.org(uow.session, body.provider_org_id).path)
        return services.update_resource(uow, resource_id, body, note)


@router.post("/resources/{resource_id}/retire", response_model=ResourceOut)
@access(CATALOG_MANAGE)
def retire_resource(resource_id: int, db: DB, me: Me, reason: Annotated[str, Body(embed=True)]) -> object:
    with unit_of_work(db, me.actor) as uow:
        current = queries.resource(uow.session, resource_id)
        require(me, CATALOG_MANAGE, org_queries.org(uow.session, current.provider_org_id).path)
        return services.retire_resource(uow, resource_id, reason)

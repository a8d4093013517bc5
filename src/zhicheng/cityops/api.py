"""JSON routes of the city grid under /api/v1/cityops/grids. Reading needs cityops.read anywhere (the grid is
the city's shared geography); writing needs cityops.manage over each grid's organization."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from zhicheng.cityops import queries, services
from zhicheng.cityops.permissions import CITYOPS_MANAGE, CITYOPS_READ
from zhicheng.cityops.schemas import (
    DepartmentsIn,
    GridDetail,
    GridOut,
    GridPage,
    ImportOut,
    LocateOut,
    WorkersIn,
)
from zhicheng.core import paging
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.geo import crs as C
from zhicheng.core.geo.point import Point
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])
CRS = Query(None, description="wgs84 (default) | cgcs2000 | gcj02 | bd09, or an EPSG code / URN")
CODE = Path(pattern=r"^\d{15}$", description="the 15-digit grid code")


def _manages(me: Principal) -> services.Allowed:
    return lambda path: me.can(CITYOPS_MANAGE, path)


@router.post("/grids/import", response_model=ImportOut)
@access(CITYOPS_MANAGE)
def import_grids(
    db: DB,
    me: Me,
    body: dict[str, Any] = Body(description="a GeoJSON FeatureCollection; properties carry code and name"),
    crs: str | None = CRS,
    replace: bool = Query(False, description="replace grids whose code exists already"),
    tolerance: float = Query(services.DEFAULT_TOLERANCE_M2, description="overlap allowed, m² (0 to 10,000)"),
) -> dict:
    """All or nothing: any problem (code, division, permission, polygon, duplicate, overlap) answers 422 with
    `problems`, one entry per problem naming the feature, and writes nothing."""
    with unit_of_work(db, me.actor) as uow:
        return services.import_grids(uow, body, crs, replace, tolerance, _manages(me))


@router.get("/grids", response_model=GridPage)
@access(CITYOPS_READ)
def list_grids(
    s: Reader,
    division: str | None = Query(None, description="a division code: the grids under it"),
    q: str | None = Query(None, description="part of the name, or the start of the code"),
    org_id: int | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> dict:
    rows = queries.grids(s, division, q, org_id, paging.check_limit(limit) + 1, paging.decode_id(cursor))
    items, next_cursor = paging.page(rows, limit, lambda g: g.id)
    return {"items": queries.shown(s, items), "next_cursor": next_cursor}


@router.get("/grids/export")
@access(CITYOPS_READ)
def export_grids(s: Reader, crs: str | None = CRS, division: str | None = None) -> JSONResponse:
    """GeoJSON FeatureCollection in the system asked for (outside WGS-84 with a `crs` member)."""
    return JSONResponse(queries.export(s, crs, division), media_type="application/geo+json")


@router.get("/grids/locate", response_model=LocateOut)
@access(CITYOPS_READ)
def locate(db: DB, lng: float, lat: float, crs: str | None = CRS) -> dict:
    """The grid containing a point given in any system; `grid` is null when no grid contains it."""
    system = C.system(crs)
    point = Point.of(lng, lat, system)
    return {
        "point": {"lng": lng, "lat": lat, "crs": system},
        "wgs84": point.as_dict(C.WGS84),
        "grid": queries.locate(db, point),
    }


@router.get("/grids/{code}", response_model=GridDetail)
@access(CITYOPS_READ)
def get_grid(s: Reader, code: str = CODE, crs: str | None = CRS) -> dict:
    return queries.detail(s, queries.grid(s, code), crs)


@router.put("/grids/{code}/departments", response_model=GridOut)
@access(CITYOPS_MANAGE)
def set_departments(body: DepartmentsIn, db: DB, me: Me, code: str = CODE) -> dict:
    with unit_of_work(db, me.actor) as uow:
        services.set_departments(uow, code, body.org_ids, _manages(me))
        uow.session.flush()
        return queries.shown(uow.session, [queries.grid(uow.session, code)])[0]


@router.put("/grids/{code}/workers", response_model=GridOut)
@access(CITYOPS_MANAGE)
def set_workers(body: WorkersIn, db: DB, me: Me, code: str = CODE) -> dict:
    with unit_of_work(db, me.actor) as uow:
        services.set_workers(uow, code, body.user_ids, _manages(me))
        uow.session.flush()
        return queries.shown(uow.session, [queries.grid(uow.session, code)])[0]

"""Reads of the city grid shared by the API (and later the console and intake): lists, one grid with its
responsibilities, the GeoJSON export in any system, and point location through the in-process index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhicheng.cityops import index
from zhicheng.cityops.models import Grid, GridDepartment, GridWorker
from zhicheng.core.auth.models import User
from zhicheng.core.db import Database
from zhicheng.core.errors import NotFound
from zhicheng.core.geo import crs as C
from zhicheng.core.geo import geojson
from zhicheng.core.geo.point import Point
from zhicheng.core.orgs.codes import division_prefix
from zhicheng.core.orgs.models import Org

DIGITS = 8  # decimals of exported coordinates: about a millimetre


def grids(
    s: Session,
    division: str | None = None,
    q: str | None = None,
    org_id: int | None = None,
    limit: int = 100,
    after: int | None = None,
) -> list[Grid]:
    """Grids ordered by id, filtered by division (a prefix of the code), name or code, organization."""
    stmt = select(Grid).order_by(Grid.id)
    if division:
        stmt = stmt.where(Grid.code.startswith(division_prefix(division)))
    if q:
        stmt = stmt.where(or_(Grid.name.contains(q), Grid.code.startswith(q)))
    if org_id:
        stmt = stmt.where(Grid.org_id == org_id)
    if after:
        stmt = stmt.where(Grid.id > after)
    return list(s.scalars(stmt.limit(limit)))


def grid(s: Session, code: str) -> Grid:
    found = s.scalar(select(Grid).where(Grid.code == code))
    if found is None:
        raise NotFound(f"网格 {code} 不存在", f"grid {code} not found")
    return found


def _duty(s: Session, ids: list[int]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    departments: dict[int, list[int]] = {i: [] for i in ids}
    workers: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = s.execute(
            select(GridDepartment.grid_id, GridDepartment.org_id)
            .where(GridDepartment.grid_id.in_(ids))
            .order_by(GridDepartment.org_id)
        )
        for gid, oid in rows:
            departments[gid].append(oid)
        rows = s.execute(
            select(GridWorker.grid_id, GridWorker.user_id)
            .where(GridWorker.grid_id.in_(ids))
            .order_by(GridWorker.user_id)
        )
        for gid, uid in rows:
            workers[gid].append(uid)
    return departments, workers


def _parts(code: str) -> dict[str, str]:
    return {"district_code": code[:6], "street_code": code[:9], "community_code": code[:12]}


def shown(s: Session, items: Iterable[Grid]) -> list[dict[str, Any]]:
    """Grids as the list shows them (no geometry), with their departments' and workers' ids."""
    items = list(items)
    departments, workers = _duty(s, [g.id for g in items])
    return [
        {
            "id": g.id,
            "code": g.code,
            "name": g.name,
            "org_id": g.org_id,
            **_parts(g.code),
            "area_m2": round(g.area_m2, 1),
            "bbox": [g.min_lng, g.min_lat, g.max_lng, g.max_lat],
            "department_ids": departments[g.id],
            "worker_ids": workers[g.id],
            "created_at": g.created_at,
            "updated_at": g.updated_at,
        }
        for g in items
    ]


def detail(s: Session, g: Grid, crs: str | None = None) -> dict[str, Any]:
    """One grid with its organization, departments, workers and polygon in the system asked for."""
    system = C.system(crs)
    geometry = geojson.transform(g.geometry, C.WGS84, system, DIGITS)
    out = shown(s, [g])[0]
    departments = s.execute(
        select(Org.id, Org.name).where(Org.id.in_(out["department_ids"])).order_by(Org.id)
    ).all()
    workers = s.execute(
        select(User.id, User.username, User.display_name)
        .where(User.id.in_(out["worker_ids"]))
        .order_by(User.id)
    ).all()
    return {
        **out,
        "bbox": geojson.bounds(geometry).as_list(),
        "org_name": s.scalar(select(Org.name).where(Org.id == g.org_id)),
        "departments": [{"id": i, "name": n} for i, n in departments],
        "workers": [{"id": i, "username": u, "display_name": d} for i, u, d in workers],
        "crs": system,
        "geometry": geometry,
    }


def export(s: Session, crs: str | None = None, division: str | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the grids (a division's, or all) in the system asked for. Outside
    WGS-84 the collection names its system in a `crs` member, so that importing it back needs no parameter."""
    system = C.system(crs)
    features = []
    after = None
    while True:  # in pages, so a city's whole grid never sits in the session at once
        page = grids(s, division=division, limit=500, after=after)
        if not page:
            break
        for item, g in zip(shown(s, page), page, strict=True):
            props = {
                k: item[k] for k in ("code", "name", "org_id", "area_m2", "department_ids", "worker_ids")
            }
            geometry = geojson.transform(g.geometry, C.WGS84, system, DIGITS)
            features.append({"type": "Feature", "id": g.code, "properties": props, "geometry": geometry})
        after = page[-1].id
        s.expunge_all()
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    member = geojson.crs_member(system)
    if member:
        doc["crs"] = member
    return doc


def locate(db: Database, point: Point) -> dict[str, Any] | None:
    """The grid containing a point, from the in-process index: a dict lookup, at most a few exact tests."""
    with db.connect() as conn:
        idx, duty = index.current(db, conn)
    ref = idx.locate(point.lng, point.lat)
    if ref is None:
        return None
    return {
        "id": ref.id,
        "code": ref.code,
        "name": ref.name,
        "org_id": ref.org_id,
        **_parts(ref.code),
        "department_ids": list(duty.departments.get(ref.id, ())),
        "worker_ids": list(duty.workers.get(ref.id, ())),
    }

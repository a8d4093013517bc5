"""Writes to the city grid: GeoJSON imports (all or nothing), a grid's departments and grid workers. Each
writes its audit records in the same transaction; callers pass `allowed(org_path)`, the permission test
over the organizations concerned (cityops.manage), so that refusals are reported feature by feature."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shapely.geometry import shape
from sqlalchemy import and_, or_, select

from zhicheng.cityops import codes, importer
from zhicheng.cityops.importer import Feature
from zhicheng.cityops.models import Grid, GridDepartment, GridWorker
from zhicheng.core.auth.models import User
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Forbidden, Invalid, NotFound
from zhicheng.core.orgs.models import Division, Org

Allowed = Callable[[str], bool]
MAX_PROBLEMS = 500
DEFAULT_TOLERANCE_M2 = 1.0


def _everyone(_path: str) -> bool:
    return True


def _divisions(uow: UnitOfWork, districts: set[str]) -> dict[str, str | None]:
    """code → parent code of the districts named and every division below them."""
    if not districts:
        return {}
    rows = uow.session.execute(
        select(Division.code, Division.parent_code).where(
            or_(*[Division.code.startswith(d) for d in districts])
        )
    )
    return dict(rows.all())


def _governing_orgs(uow: UnitOfWork, division_codes: set[str]) -> dict[str, Org]:
    """For each division code, the active organization that stands for it: its government if it has one,
    else the first organization registered there."""
    found: dict[str, Org] = {}
    orgs = uow.session.scalars(
        select(Org).where(Org.division_code.in_(division_codes), Org.active.is_(True)).order_by(Org.id)
    )
    for org in orgs:
        best = found.get(org.division_code)
        if best is None or (org.kind == "government" and best.kind != "government"):
            found[org.division_code] = org
    return found


def _owner(f: Feature, orgs: dict[str, Org]) -> Org:
    for code in (f.code.community, f.code.street, f.code.district):
        if code in orgs:
            return orgs[code]
    raise Invalid(
        f"区县 {f.code.district} 及其街道、社区下没有登记机构，网格无所归属",
        f"no organization is registered for district {f.code.district} or its street or community",
    )


def _stored_near(uow: UnitOfWork, features: list[Feature], skip: set[str]) -> list[tuple[str, Any]]:
    """Stored grids whose bbox meets the bbox of any imported feature (except those being replaced)."""
    if not features:
        return []
    west = min(f.bounds.min_lng for f in features)
    south = min(f.bounds.min_lat for f in features)
    east = max(f.bounds.max_lng for f in features)
    north = max(f.bounds.max_lat for f in features)
    rows = uow.session.execute(
        select(Grid.code, Grid.geometry).where(
            and_(Grid.min_lng <= east, Grid.max_lng >= west, Grid.min_lat <= north, Grid.max_lat >= south)
        )
    )
    return [(code, shape(geometry)) for code, geometry in rows if code not in skip]


def import_grids(
    uow: UnitOfWork,
    doc: Any,
    crs: str | None = None,
    replace: bool = False,
    tolerance_m2: float = DEFAULT_TOLERANCE_M2,
    allowed: Allowed = _everyone,
) -> dict[str, Any]:
    """Import a FeatureCollection of grids. Every feature is checked (code and division, organization and
    the caller's permission over it, name, polygon, duplicates, overlaps beyond `tolerance_m2`); if any
    feature fails, nothing is written and Invalid lists the problems feature by feature. A code already
    stored is a problem unless `replace`, which replaces that grid's name and polygon."""
    if not 0 <= tolerance_m2 <= 10_000:
        raise Invalid("重叠容差应在 0 到 10000 平方米之间", "the overlap tolerance must be 0 to 10,000 m²")
    report = importer.read(doc, crs)
    s = uow.session
    known = _divisions(uow, {f.code.district for f in report.features})
    wanted = {c for f in report.features for c in (f.code.district, f.code.street, f.code.community)}
    orgs = _governing_orgs(uow, wanted) if wanted else {}
    stored: dict[str, Grid] = {}
    feature_codes = [f.code.code for f in report.features]
    for start in range(0, len(feature_codes), 1000):
        chunk = feature_codes[start : start + 1000]
        stored.update({g.code: g for g in s.scalars(select(Grid).where(Grid.code.in_(chunk)))})
    stored_paths = dict(
        s.execute(select(Org.id, Org.path).where(Org.id.in_({g.org_id for g in stored.values()}))).all()
    )
    owners: dict[str, Org] = {}
    for f in report.features:
        code = f.code.code
        try:
            codes.fit(f.code, known)
            owner = _owner(f, orgs)
            if not allowed(owner.path) or (code in stored and not allowed(stored_paths[stored[code].org_id])):
                raise Forbidden(
                    f"无权管理 {owner.name} 的网格", f"no permission to manage the grids of {owner.name}"
                )
            if code in stored and not replace:
                raise Conflict(
                    f"网格 {code} 已存在（如需替换，请使用 replace=true）",
                    f"grid {code} exists already (use replace=true to replace it)",
                )
            owners[code] = owner
        except (Invalid, Forbidden, Conflict) as exc:
            report.add(f.index, code, exc)
    importer.overlaps(report, _stored_near(uow, report.features, set(stored)), tolerance_m2)
    if report.problems:
        problems = sorted(report.problems, key=lambda p: p["feature"])
        bad = len({p["feature"] for p in problems})
        raise Invalid(
            f"导入未执行：{bad} 个要素有问题，详见 problems",
            f"nothing imported: {bad} features have problems (see problems)",
            problems=problems[:MAX_PROBLEMS],
            problems_total=len(problems),
        )
    now = utcnow()
    created, replaced = [], []
    for f in report.features:
        code = f.code.code
        g = stored.get(code)
        if g is None:
            g = Grid(code=code, created_at=now)
            s.add(g)
            created.append(code)
        else:
            replaced.append(code)
        b = f.bounds
        g.name, g.org_id, g.geometry, g.area_m2, g.updated_at = (
            f.name,
            owners[code].id,
            f.geometry,
            f.area_m2,
            now,
        )
        g.min_lng, g.min_lat, g.max_lng, g.max_lat = b.min_lng, b.min_lat, b.max_lng, b.max_lat
        uow.record(
            "cityops:grid:" + ("replace" if code in stored else "create"),
            f"grid:{code}",
            {
                "name": f.name,
                "org_id": owners[code].id,
                "area_m2": round(f.area_m2, 1),
                "bbox": b.as_list(),
                "crs": report.system,
            },
        )
    uow.record(
        "cityops:grid:import",
        "grids",
        {
            "crs": report.system,
            "count": len(report.features),
            "created": len(created),
            "replaced": len(replaced),
        },
    )
    return {"crs": report.system, "count": len(report.features), "created": created, "replaced": replaced}


def _grid(uow: UnitOfWork, code: str, allowed: Allowed) -> Grid:
    g = uow.session.scalar(select(Grid).where(Grid.code == code))
    if g is None:
        raise NotFound(f"网格 {code} 不存在", f"grid {code} not found")
    path = uow.session.scalar(select(Org.path).where(Org.id == g.org_id))
    if path is None or not allowed(path):
        raise Forbidden("无权管理该网格", "no permission to manage this grid")
    return g


def set_departments(
    uow: UnitOfWork, code: str, org_ids: list[int], allowed: Allowed = _everyone
) -> list[int]:
    """Replace the departments responsible for a grid (any active organization: line departments of the
    city or district handle a grid's cases as well as the street's own)."""
    g = _grid(uow, code, allowed)
    wanted = sorted(set(org_ids))
    found = set(uow.session.scalars(select(Org.id).where(Org.id.in_(wanted), Org.active.is_(True))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Invalid(f"机构不存在或已停用：{missing}", f"organizations missing or inactive: {missing}")
    rows = {
        d.org_id: d for d in uow.session.scalars(select(GridDepartment).where(GridDepartment.grid_id == g.id))
    }
    before = sorted(rows)
    for oid, row in rows.items():
        if oid not in found:
            uow.session.delete(row)
    for oid in wanted:
        if oid not in rows:
            uow.session.add(GridDepartment(grid_id=g.id, org_id=oid))
    uow.record("cityops:grid:departments", f"grid:{code}", {"before": before, "after": wanted})
    return wanted


def set_workers(uow: UnitOfWork, code: str, user_ids: list[int], allowed: Allowed = _everyone) -> list[int]:
    """Replace a grid's workers: active users of organizations the caller manages grids for."""
    g = _grid(uow, code, allowed)
    wanted = sorted(set(user_ids))
    users = dict(
        uow.session.execute(
            select(User.id, Org.path)
            .join(Org, Org.id == User.org_id)
            .where(User.id.in_(wanted), User.active.is_(True))
        ).all()
    )
    missing = [i for i in wanted if i not in users]
    if missing:
        raise Invalid(
            f"用户不存在、已停用或不属于任何机构：{missing}",
            f"users missing, inactive or without an org: {missing}",
        )
    outside = [i for i in wanted if not allowed(users[i])]
    if outside:
        raise Forbidden(
            f"无权把这些用户设为网格员：{outside}", f"no permission to assign these users: {outside}"
        )
    rows = {w.user_id: w for w in uow.session.scalars(select(GridWorker).where(GridWorker.grid_id == g.id))}
    before = sorted(rows)
    now = utcnow()
    for uid, row in rows.items():
        if uid not in users:
            uow.session.delete(row)
    for uid in wanted:
        if uid not in rows:
            uow.session.add(GridWorker(grid_id=g.id, user_id=uid, assigned_at=now))
    uow.record("cityops:grid:workers", f"grid:{code}", {"before": before, "after": wanted})
    return wanted


__all__ = ["import_grids", "set_departments", "set_workers"]

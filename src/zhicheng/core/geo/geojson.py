"""GeoJSON geometries: the system a document declares, conversion of every position, polygon checks, area.

Positions are always [longitude, latitude(, elevation)] — GeoJSON's order (RFC 7946 §3.1.1), whatever the
axis order the EPSG register gives a system. RFC 7946 dropped the `crs` member and fixed WGS-84; older files
(and exports for Chinese map SDKs) still name one, the 2008 way: {"type": "name", "properties": {"name": …}}.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from zhicheng.core.errors import Invalid
from zhicheng.core.geo import crs as C
from zhicheng.core.geo.point import Bounds

Position = list[float]
# the name written into exports: EPSG's URN where the system has a code, the usual label where it has none
CRS_NAMES = {C.CGCS2000: "urn:ogc:def:crs:EPSG::4490", C.GCJ02: "GCJ-02", C.BD09: "BD-09"}
DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
EARTH_RADIUS = 6378137.0  # the WGS-84 semi-major axis, as in the spherical area formula's usual use


def declared_crs(doc: dict[str, Any]) -> str | None:
    """The system a GeoJSON object names in its `crs` member (canonical), or None when it names none."""
    member = doc.get("crs")
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or member.get("type") != "name":
        raise Invalid(
            'crs 成员应为 {"type": "name", "properties": {"name": …}}',
            'the crs member must be {"type": "name", "properties": {"name": …}}',
        )
    return C.system(name)


def crs_member(system: str) -> dict[str, Any] | None:
    """The `crs` member for an export in `system`; None for WGS-84, which RFC 7946 implies."""
    name = CRS_NAMES.get(C.system(system))
    return {"type": "name", "properties": {"name": name}} if name else None


def _map(coords: Any, depth: int, fn: Callable[[float, float], tuple[float, float]], where: str) -> Any:
    if depth == 0:
        if not isinstance(coords, list) or len(coords) not in (2, 3):
            raise Invalid(f"{where}：坐标应为 [经度, 纬度]", f"{where}: a position must be [lng, lat]")
        x, y = fn(coords[0], coords[1])
        return [x, y, *coords[2:]]
    if not isinstance(coords, list) or not coords:
        raise Invalid(f"{where}：坐标数组为空或格式错误", f"{where}: empty or malformed coordinates")
    return [_map(c, depth - 1, fn, f"{where}[{i}]") for i, c in enumerate(coords)]


def transform(
    geometry: Any, source: str | None, target: str | None = C.WGS84, digits: int | None = None
) -> dict[str, Any]:
    """A copy of `geometry` with every position checked in `source` and converted to `target`
    (rounded to `digits` decimals when given). Invalid names the first bad position."""
    src, dst = C.system(source), C.system(target)

    def fn(x: Any, y: Any) -> tuple[float, float]:
        lng, lat = C.check(x, y, src)
        if src != dst:
            lng, lat = C.from_wgs84(*C.to_wgs84(lng, lat, src), dst)
        return (round(lng, digits), round(lat, digits)) if digits is not None else (lng, lat)

    if not isinstance(geometry, dict):
        raise Invalid("几何对象应为 JSON 对象", "a geometry must be a JSON object")
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list):
            raise Invalid("GeometryCollection 缺少 geometries", "GeometryCollection without geometries")
        return {"type": kind, "geometries": [transform(g, src, dst, digits) for g in parts]}
    if kind not in DEPTH:
        raise Invalid(f"不支持的几何类型：{kind}", f"unsupported geometry type: {kind}")
    return {"type": kind, "coordinates": _map(geometry.get("coordinates"), DEPTH[kind], fn, "coordinates")}


def polygonal(geometry: Any) -> dict[str, Any]:
    """Check the shape of a Polygon or MultiPolygon: closed rings of at least four positions. (Whether the
    rings cross themselves is shapely's `is_valid`, checked by whoever builds the shapely geometry.)"""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise Invalid(
            f"应为 Polygon 或 MultiPolygon，而不是 {kind}", f"expected Polygon or MultiPolygon, not {kind}"
        )
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for p, rings in enumerate(polygons):
        for r, ring in enumerate(rings):
            where = f"polygon {p} ring {r}"
            if len(ring) < 4:
                raise Invalid(f"{where}：环至少需要 4 个坐标", f"{where}: a ring needs at least 4 positions")
            if ring[0][:2] != ring[-1][:2]:
                raise Invalid(f"{where}：环未闭合（首尾坐标不同）", f"{where}: the ring is not closed")
    return geometry


def _ring_area(ring: list[Position]) -> float:
    """The spherical excess of a ring, signed (Chamberlain & Duquette, "Some algorithms for polygons on a
    sphere", JPL 2007): within a few tenths of a percent of the ellipsoidal area at city scale."""
    total, n = 0.0, len(ring)
    for i in range(n):
        lng1, lat1 = ring[i][0], ring[i][1]
        lng2, lat2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        total += math.radians(lng2 - lng1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return total * EARTH_RADIUS * EARTH_RADIUS / 2.0


def area(geometry: dict[str, Any]) -> float:
    """Square metres of a WGS-84 Polygon or MultiPolygon (holes subtracted)."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    total = 0.0
    for rings in polygons:
        total += abs(_ring_area(rings[0])) - sum(abs(_ring_area(hole)) for hole in rings[1:])
    return total


def bounds(geometry: dict[str, Any]) -> Bounds:
    """The WGS-84 rectangle around a geometry's positions."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], int | float):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for sub in c:
                walk(sub)

    if geometry["type"] == "GeometryCollection":
        parts = [bounds(g) for g in geometry["geometries"]]
        return Bounds(
            min(b.min_lng for b in parts),
            min(b.min_lat for b in parts),
            max(b.max_lng for b in parts),
            max(b.max_lat for b in parts),
        )
    walk(geometry["coordinates"])
    return Bounds(min(xs), min(ys), max(xs), max(ys))

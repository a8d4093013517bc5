"""Reading a GeoJSON FeatureCollection of grids: the declared system, each feature's code, name and polygon
(normalised to WGS-84), duplicates within the file and overlaps. Pure checks, no database: services adds
what needs one (divisions, organizations, codes already taken) and writes only when nothing is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

from zhicheng.cityops import codes
from zhicheng.cityops.codes import GridCode
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.geo import crs as C
from zhicheng.core.geo import geojson
from zhicheng.core.geo.point import Bounds

MAX_FEATURES = 20_000
MAX_NAME = 100


@dataclass
class Feature:
    index: int
    code: GridCode
    name: str
    geometry: dict[str, Any]  # WGS-84
    shape: Any
    area_m2: float
    bounds: Bounds


@dataclass
class Report:
    """What a file holds: the features that read cleanly and the problems, feature by feature."""

    system: str
    features: list[Feature] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, index: int | None, code: str | None, error: DomainError) -> None:
        """`error` is the problem's kind: invalid, forbidden (the caller may not manage there), conflict."""
        self.problems.append(
            {
                "feature": index,
                "code": code,
                "error": error.code,
                "zh": error.detail_zh,
                "en": error.detail_en,
                **error.extra,
            }
        )


def document_system(doc: Any, crs: str | None) -> str:
    """The system of a FeatureCollection: the `crs` parameter or the declared one (they must agree when both
    are given), else WGS-84 as RFC 7946 says."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise Invalid("应为 GeoJSON FeatureCollection", "expected a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise Invalid("FeatureCollection 中没有要素", "the FeatureCollection has no features")
    if len(features) > MAX_FEATURES:
        raise Invalid(
            f"一次最多导入 {MAX_FEATURES} 个网格", f"at most {MAX_FEATURES} grids can be imported at once"
        )
    declared = geojson.declared_crs(doc)
    asked = C.system(crs) if crs else None
    if declared and asked and declared != asked:
        raise Invalid(
            f"文件声明的坐标系 {C.LABELS[declared]} 与参数 crs={C.LABELS[asked]} 不一致",
            f"the file declares {C.LABELS[declared]} but the crs parameter says {C.LABELS[asked]}",
        )
    return asked or declared or C.WGS84


def _code(props: dict[str, Any]) -> GridCode:
    return codes.parse(props.get("code"))


def _name(props: dict[str, Any]) -> str:
    name = props.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise Invalid(
            f"网格名称应为 1 到 {MAX_NAME} 个字符", f"a grid name must be 1 to {MAX_NAME} characters"
        )
    return name.strip()


def _polygon(geometry: Any, system: str) -> tuple[dict[str, Any], Any, float]:
    wgs = geojson.polygonal(geojson.transform(geometry, system, C.WGS84))
    poly = shape(wgs)
    if not poly.is_valid:
        raise Invalid(f"多边形无效：{explain_validity(poly)}", f"invalid polygon: {explain_validity(poly)}")
    area = geojson.area(wgs)
    if poly.is_empty or area <= 0:
        raise Invalid("多边形面积为零", "the polygon has no area")
    return wgs, poly, area


def read(doc: Any, crs: str | None = None) -> Report:
    """Every feature read and checked on its own; the problems name the feature (0-based) and its code."""
    report = Report(document_system(doc, crs))
    first: dict[str, int] = {}
    for i, f in enumerate(doc["features"]):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            report.add(i, None, Invalid("要素应为 GeoJSON Feature", "each feature must be a GeoJSON Feature"))
            continue
        props = f.get("properties")
        if not isinstance(props, dict):
            props = {}
        raw = props.get("code")
        shown = str(raw) if raw is not None else None
        parts: dict[str, Any] = {}
        polygon = partial(_polygon, system=report.system)
        for key, check, arg in (
            ("code", _code, props),
            ("name", _name, props),
            ("geometry", polygon, f.get("geometry")),
        ):
            try:
                parts[key] = check(arg)
            except Invalid as exc:
                report.add(i, shown, exc)
        if "code" in parts:
            code = parts["code"].code
            if code in first:
                report.add(
                    i,
                    code,
                    Invalid(
                        f"网格编码与第 {first[code]} 个要素重复",
                        f"duplicate code: feature {first[code]} has it",
                    ),
                )
                continue
            first[code] = i
        if len(parts) == 3:
            wgs, poly, area = parts["geometry"]
            report.features.append(
                Feature(i, parts["code"], parts["name"], wgs, poly, area, geojson.bounds(wgs))
            )
    return report


def overlap_m2(a: Any, b: Any) -> float:
    """Square metres two WGS-84 polygons share (touching edges share none)."""
    common = shapely.intersection(a, b)
    polygons = [p for p in shapely.get_parts(common) if p.geom_type in ("Polygon", "MultiPolygon")]
    return sum(geojson.area(mapping(p)) for p in polygons)


def overlaps(report: Report, existing: Iterable[tuple[str, Any]], tolerance_m2: float) -> None:
    """Add a problem for every feature overlapping an earlier feature of the file, or a grid already stored,
    by more than `tolerance_m2` square metres."""
    stored = list(existing)
    shapes = [f.shape for f in report.features] + [s for _, s in stored]
    if not shapes:
        return
    tree = shapely.STRtree(shapes)
    n = len(report.features)
    for i, f in enumerate(report.features):
        for j in sorted(int(j) for j in tree.query(f.shape, predicate="intersects")):
            if j == i or (j < n and j > i):  # pairs within the file are reported once, on the later feature
                continue
            shared = overlap_m2(f.shape, shapes[j])
            if shared <= tolerance_m2:
                continue
            if j < n:
                other = report.features[j]
                zh_other, en_other = (
                    f"第 {other.index} 个要素（{other.code.code}）",
                    f"feature {other.index} ({other.code.code})",
                )
            else:
                zh_other, en_other = f"已有网格 {stored[j - n][0]}", f"stored grid {stored[j - n][0]}"
            report.add(
                f.index,
                f.code.code,
                Invalid(
                    f"与{zh_other}重叠约 {shared:.1f} 平方米，超过容差 {tolerance_m2:g} 平方米",
                    f"overlaps {en_other} by about {shared:.1f} m², "
                    f"more than the tolerance of {tolerance_m2:g} m²",
                    overlap_m2=round(shared, 1),
                ),
            )

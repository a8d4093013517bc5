"""GeoJSON import: every system, every kind of bad feature reported feature by feature, nothing
half-imported, replacement, permissions per feature, and the audit trail."""

from __future__ import annotations

import copy
import math

import pytest
from sqlalchemy import func, select

from tests import personas
from tests.cityops.conftest import ME, SIZE, XUANWU, collection, feature, grid_set, square, xuanwu_code
from zhicheng.cityops import services
from zhicheng.cityops.models import Grid
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.core.geo import convert


def grids(db) -> dict[str, Grid]:  # noqa: ANN001
    with db.read() as s:
        return {g.code: g for g in s.scalars(select(Grid))}


def problems_of(db, doc, **kw) -> list[dict]:  # noqa: ANN001, ANN003
    with pytest.raises(Invalid) as err, unit_of_work(db, ME) as uow:
        services.import_grids(uow, doc, **kw)
    assert err.value.detail_en.startswith("nothing imported")
    return err.value.extra["problems"]


def test_import_stores_polygons_bboxes_areas_and_owners(db, world) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        out = services.import_grids(uow, collection(grid_set()))
    assert (out["crs"], out["count"], len(out["created"]), out["replaced"]) == ("wgs84", 40, 40, [])
    stored = grids(db)
    g = stored[xuanwu_code(0, 0)]
    assert (g.min_lng, g.min_lat, g.max_lng, g.max_lat) == pytest.approx((118.80, 32.04, 118.81, 32.05))
    assert 1.04e6 < g.area_m2 < 1.06e6
    assert g.geometry == square(*XUANWU)
    # the street office owns 梅园新村街道's grids; 秦淮区 has no street registered: its government owns them
    assert g.org_id == world["street"]
    assert stored["320104001001001"].org_id == personas.WORLD.other_district
    with db.read() as s:
        tags = s.execute(select(AuditRecord.tag, func.count()).group_by(AuditRecord.tag)).all()
    assert {"cityops:grid:create": 40, "cityops:grid:import": 1}.items() <= dict(tags).items()


@pytest.mark.parametrize("system", ["gcj02", "bd09", "cgcs2000"])
def test_import_in_any_system_is_normalised_to_wgs84(db, world, system: str) -> None:  # noqa: ANN001
    doc = collection(grid_set(), system)  # declared in the file's crs member
    del doc["crs"]
    with unit_of_work(db, ME) as uow:  # ... or given as the parameter
        assert services.import_grids(uow, doc, crs=system)["crs"] == system
    stored = grids(db)[xuanwu_code(2, 3)]
    original = grid_set()[2 * 6 + 3]["geometry"]["coordinates"][0]
    for (x, y), (u, v) in zip(stored.geometry["coordinates"][0], original, strict=True):
        assert abs(x - u) < 1e-9 and abs(y - v) < 1e-9  # sub-millimetre after the round trip


def test_declared_crs_is_used_and_a_conflicting_parameter_refused(db, world) -> None:  # noqa: ANN001
    doc = collection(grid_set()[:2], "bd09")
    with pytest.raises(Invalid, match="the file declares BD-09 but the crs parameter says GCJ-02"):
        with unit_of_work(db, ME) as uow:
            services.import_grids(uow, doc, crs="gcj02")
    with unit_of_work(db, ME) as uow:
        assert services.import_grids(uow, doc, crs="BD-09")["crs"] == "bd09"
    assert grids(db)[xuanwu_code(0, 0)].min_lng == pytest.approx(118.80, abs=1e-9)


def test_bad_features_are_reported_one_by_one_and_nothing_is_written(db, world) -> None:  # noqa: ANN001
    fs = grid_set()[:6]
    fs[1]["geometry"]["coordinates"][0][2] = [118.81, 32.06, 0, 1]  # a position of four numbers
    bow = [[118.82, 32.04], [118.83, 32.05], [118.83, 32.04], [118.82, 32.05], [118.82, 32.04]]
    fs[2]["geometry"] = {"type": "Polygon", "coordinates": [bow]}  # a bow tie crosses itself
    fs[3]["geometry"] = {"type": "Point", "coordinates": [118.835, 32.045]}
    fs[4]["geometry"]["coordinates"][0][1][1] = math.nan
    fs[5]["geometry"]["coordinates"][0][0] = [118.85, 95.0]
    fs += [
        feature("3201020020010", "短编码", square(118.80, 32.10)),
        feature("320105001001001", "未登记的区", square(118.81, 32.10)),  # 320105 is not registered
        feature("320102001001001", "未登记的街道", square(118.82, 32.10)),  # 玄武区 lists only street 002
        feature("320102002009001", "未登记的社区", square(118.83, 32.10)),  # the street lists 001 and 002
        feature("320102002001000", "零号网格", square(118.84, 32.10)),
        feature("320100002001001", "地市级代码", square(118.85, 32.10)),
        feature(xuanwu_code(0, 0), "重复编码", square(118.86, 32.10)),
        {"type": "Feature", "properties": {"code": xuanwu_code(5, 5)}, "geometry": square(118.87, 32.10)},
        "not a feature",
        feature(xuanwu_code(5, 4), "无误的网格", square(118.88, 32.10)),
    ]
    found = problems_of(db, collection(fs))
    by_feature = {p["feature"]: p for p in found}
    assert sorted(by_feature) == [1, 2, 3, 4, 5, *range(6, 15)]
    assert "a position must be [lng, lat]" in by_feature[1]["en"]
    assert "invalid polygon: Self-intersection" in by_feature[2]["en"]
    assert "expected Polygon or MultiPolygon, not Point" in by_feature[3]["en"]
    assert "not a finite number" in by_feature[4]["en"]
    assert "latitude out of range" in by_feature[5]["en"]
    assert "15 digits" in by_feature[6]["en"]
    assert "district 320105 is not a registered division" in by_feature[7]["en"]
    assert "street 320102001 is not a registered street of district 320102" in by_feature[8]["en"]
    assert "community 320102002009 is not a registered community" in by_feature[9]["en"]
    assert "grid part of a grid code cannot be 000" in by_feature[10]["en"]
    assert "county-level division code" in by_feature[11]["en"]
    assert "duplicate code: feature 0 has it" in by_feature[12]["en"]
    assert "grid name must be 1 to 100 characters" in by_feature[13]["en"]
    assert "each feature must be a GeoJSON Feature" in by_feature[14]["en"]
    assert by_feature[7]["code"] == "320105001001001" and by_feature[7]["zh"].startswith("区县 320105")
    assert grids(db) == {}  # the good features 0 and 15 were not imported either
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.tag.startswith("cityops:"))) == 0


def test_overlaps_beyond_the_tolerance_are_refused(db, world) -> None:  # noqa: ANN001
    fs = grid_set()[:3]
    # feature 1 pushed 1/4 into feature 0: about 260,000 m² shared
    fs[1]["geometry"] = square(XUANWU[0] + 0.75 * SIZE, XUANWU[1])
    fs[2]["geometry"] = square(XUANWU[0] + 2 * SIZE - 1e-6, XUANWU[1])  # a sliver of about 0.1 m × 1,110 m
    found = problems_of(db, collection(fs))
    assert [(p["feature"], p["error"]) for p in found] == [(1, "invalid")]
    assert "overlaps feature 0 (320102002001001) by about 26" in found[0]["en"]
    assert found[0]["overlap_m2"] > 250_000
    with unit_of_work(db, ME) as uow:  # a wider tolerance lets the half-metre-wide sliver through, not more
        fs[1]["geometry"] = square(XUANWU[0] + SIZE, XUANWU[1])
        services.import_grids(uow, collection(fs), tolerance_m2=500)
    # and against stored grids: a new grid straddling two stored ones
    found = problems_of(
        db, collection([feature(xuanwu_code(1, 0), "跨界", square(XUANWU[0] + 0.5 * SIZE, XUANWU[1]))])
    )
    assert [p["en"].split(" by ")[0] for p in found] == [
        "overlaps stored grid 320102002001001",
        "overlaps stored grid 320102002001002",
    ]


def test_existing_codes_conflict_unless_replaced(db, imported) -> None:  # noqa: ANN001
    fs = grid_set()[:2]
    fs[0]["properties"]["name"] = "梅园第1网格（调整）"
    found = problems_of(db, collection(fs))
    assert [(p["feature"], p["error"]) for p in found] == [(0, "conflict"), (1, "conflict")]
    assert "use replace=true" in found[0]["en"]
    # moving a grid's edge: the replaced grid's old polygon does not count as an overlap
    fs[0]["geometry"] = square(XUANWU[0], XUANWU[1], SIZE * 0.9)
    with unit_of_work(db, ME) as uow:
        out = services.import_grids(uow, collection(fs), replace=True)
    assert out["created"] == [] and out["replaced"] == [xuanwu_code(0, 0), xuanwu_code(0, 1)]
    g = grids(db)[xuanwu_code(0, 0)]
    assert g.name == "梅园第1网格（调整）" and g.max_lng == pytest.approx(118.809)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditRecord.tag == "cityops:grid:replace")) == 2


def test_a_district_manager_is_refused_feature_by_feature_outside_the_district(db, world) -> None:  # noqa: ANN001
    w = personas.WORLD
    xuanwu_only = {w.district}

    def allowed(path: str) -> bool:
        return any(f"/{i}/" in path for i in xuanwu_only)

    found = problems_of(db, collection(grid_set()), allowed=allowed)
    assert {p["feature"] for p in found} == {36, 37, 38, 39}
    assert {p["error"] for p in found} == {"forbidden"}
    assert "no permission to manage the grids of 秦淮区人民政府" in found[0]["en"]
    with unit_of_work(db, ME) as uow:
        assert services.import_grids(uow, collection(grid_set()[:36]), allowed=allowed)["count"] == 36


def test_document_level_errors(db, world) -> None:  # noqa: ANN001
    for doc, words in [
        ({"type": "Feature"}, "expected a GeoJSON FeatureCollection"),
        ([], "expected a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, "has no features"),
        ({"type": "FeatureCollection", "features": {}}, "has no features"),
        (
            {**collection(grid_set()[:1]), "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
            "unknown",
        ),
    ]:
        with pytest.raises(Invalid, match=words), unit_of_work(db, ME) as uow:
            services.import_grids(uow, copy.deepcopy(doc))
    with pytest.raises(Invalid, match="unknown coordinate system: xian80"), unit_of_work(db, ME) as uow:
        services.import_grids(uow, collection(grid_set()[:1]), crs="xian80")
    with pytest.raises(Invalid, match="overlap tolerance"), unit_of_work(db, ME) as uow:
        services.import_grids(uow, collection(grid_set()[:1]), tolerance_m2=-1)


def test_gcj_points_judged_after_normalisation(db, world) -> None:  # noqa: ANN001
    """A polygon drawn over an AMap (GCJ-02) base map lands where it really is, ~500 m off its raw numbers."""
    raw = square(118.80, 32.04)
    with unit_of_work(db, ME) as uow:
        services.import_grids(uow, collection([feature(xuanwu_code(0, 0), "高德底图绘制", raw)]), crs="gcj02")
    g = grids(db)[xuanwu_code(0, 0)]
    corners = [convert(x, y, "gcj02", "wgs84") for x, y in raw["coordinates"][0]]
    assert g.min_lng == pytest.approx(min(x for x, _ in corners), abs=1e-12)
    assert abs(g.min_lng - 118.80) > 0.004

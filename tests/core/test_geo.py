"""Coordinate systems: published reference pairs, round trips, points outside China, bad input, areas."""

from __future__ import annotations

import math
import random

import pytest

from zhicheng.core.errors import Invalid
from zhicheng.core.geo import (
    BD09,
    CGCS2000,
    GCJ02,
    WGS84,
    Bounds,
    Point,
    convert,
    geojson,
    require_within,
    system,
)

# googollee/eviltransform, python/test.py (TESTS): wgsLat, wgsLng, gcjLat, gcjLng
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# wandergis/coordtransform, test/app.js: the published results for (116.404, 39.915)
COORDTRANSFORM_IN = (116.404, 39.915)
COORDTRANSFORM_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
# that project's inverses are the one-step approximations (good to a few metres / centimetres):
COORDTRANSFORM_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)
COORDTRANSFORM_GCJ_TO_WGS = (116.39775550083061, 39.91359571849836)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two nearby lng/lat points (equirectangular: exact enough below a kilometre)."""
    k = math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((a[0] - b[0]) * k, a[1] - b[1]) * 111_195.0


@pytest.mark.parametrize("wlat,wlng,glat,glng", EVILTRANSFORM)
def test_eviltransform_pairs(wlat: float, wlng: float, glat: float, glng: float) -> None:
    lng, lat = convert(wlng, wlat, WGS84, GCJ02)
    assert lng == pytest.approx(glng, abs=1e-9) and lat == pytest.approx(glat, abs=1e-9)
    back = convert(glng, glat, GCJ02, WGS84)
    assert metres(back, (wlng, wlat)) < 0.001  # the iterated inverse: well under a centimetre


def test_coordtransform_pairs() -> None:
    x, y = COORDTRANSFORM_IN
    assert convert(x, y, "wgs84", "gcj02") == pytest.approx(COORDTRANSFORM_WGS_TO_GCJ, abs=1e-9)
    assert convert(x, y, "gcj02", "bd09") == pytest.approx(COORDTRANSFORM_GCJ_TO_BD, abs=1e-9)
    # our inverses are exact, theirs approximate: close to theirs, and exact against the forward formula
    gcj = convert(x, y, "bd09", "gcj02")
    assert metres(gcj, COORDTRANSFORM_BD_TO_GCJ) < 0.1
    assert metres(convert(*gcj, "gcj02", "bd09"), (x, y)) < 0.001
    wgs = convert(x, y, "gcj02", "wgs84")
    assert metres(wgs, COORDTRANSFORM_GCJ_TO_WGS) < 5
    assert metres(convert(*wgs, "wgs84", "gcj02"), (x, y)) < 0.001


def test_round_trips_across_china_are_sub_centimetre() -> None:
    rnd = random.Random(5)
    worst = 0.0
    for _ in range(2000):
        p = (rnd.uniform(73.5, 134.7), rnd.uniform(18.2, 53.5))
        for src in (GCJ02, BD09, CGCS2000):
            there = convert(*p, WGS84, src)
            worst = max(worst, metres(convert(*there, src, WGS84), p))
            # and the other way round: a point given in that system comes back to itself
            worst = max(worst, metres(convert(*convert(*p, src, WGS84), WGS84, src), p))
        worst = max(worst, metres(convert(*convert(*p, GCJ02, BD09), BD09, GCJ02), p))
    assert worst < 0.005


def test_the_offsets_are_hundreds_of_metres_in_nanjing() -> None:
    xinjiekou = (118.7784, 32.0415)  # WGS-84
    gcj, bd = convert(*xinjiekou, WGS84, GCJ02), convert(*xinjiekou, WGS84, BD09)
    assert 300 < metres(gcj, xinjiekou) < 700
    assert 900 < metres(bd, xinjiekou) < 1500
    assert convert(*bd, BD09, GCJ02) == pytest.approx(gcj, abs=1e-9)  # straight across, same answer


@pytest.mark.parametrize(
    "place", [(139.6917, 35.6895), (-0.1276, 51.5072), (151.2093, -33.8688), (-74.006, 40.7128), (0.0, 0.0)]
)
def test_gcj02_leaves_points_outside_china_unchanged(place: tuple[float, float]) -> None:
    assert convert(*place, WGS84, GCJ02) == place
    assert convert(*place, GCJ02, WGS84) == place
    # BD-09 is Baidu's shift of GCJ-02, which Baidu applies everywhere
    assert convert(*convert(*place, WGS84, BD09), BD09, WGS84) == pytest.approx(place, abs=1e-9)


def test_cgcs2000_is_wgs84_at_city_scale() -> None:
    assert convert(118.8, 32.05, CGCS2000, WGS84) == (118.8, 32.05)
    assert convert(118.8, 32.05, "EPSG:4490", "EPSG:4326") == (118.8, 32.05)
    assert convert(118.8, 32.05, CGCS2000, GCJ02) == convert(118.8, 32.05, WGS84, GCJ02)


@pytest.mark.parametrize(
    "name,canonical",
    [
        ("WGS-84", WGS84),
        ("EPSG:4326", WGS84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", WGS84),
        (None, WGS84),
        ("CGCS2000", CGCS2000),
        ("urn:ogc:def:crs:EPSG::4490", CGCS2000),
        ("GCJ-02", GCJ02),
        ("gcj02", GCJ02),
        ("BD-09", BD09),
        ("bd09ll", BD09),
    ],
)
def test_system_names(name: str | None, canonical: str) -> None:
    assert system(name) == canonical


@pytest.mark.parametrize("name", ["EPSG:3857", "UTM50N", "wgs 72", "xian80"])
def test_unknown_systems_are_refused_by_name(name: str) -> None:
    with pytest.raises(Invalid) as err:
        system(name)
    assert name in err.value.detail_en and "known: wgs84, cgcs2000, gcj02, bd09" in err.value.detail_en
    assert "未知的坐标系" in err.value.detail_zh


@pytest.mark.parametrize(
    "lng,lat,words",
    [
        (math.nan, 32.0, "not a finite number"),
        (118.0, math.inf, "not a finite number"),
        (181.0, 32.0, "longitude out of range"),
        (-180.5, 32.0, "longitude out of range"),
        (118.0, 90.1, "latitude out of range"),
        (118.0, -91, "latitude out of range"),
        ("118.0", 32.0, "must be a number"),
        (True, 32.0, "must be a number"),
        (None, 32.0, "must be a number"),
    ],
)
def test_bad_positions_are_refused(lng: object, lat: object, words: str) -> None:
    with pytest.raises(Invalid) as err:
        Point.of(lng, lat, "gcj02")
    assert words in err.value.detail_en
    if "range" in words:
        assert "GCJ-02" in err.value.detail_en  # the message names the system the value was given in


def test_point_normalises_and_answers_in_any_system() -> None:
    wgs = (118.7969, 32.0603)
    gcj = convert(*wgs, WGS84, GCJ02)
    p = Point.of(*gcj, "gcj02")
    assert metres((p.lng, p.lat), wgs) < 0.001
    assert metres(p.to("gcj02"), gcj) < 0.001
    assert Point.of(*wgs) == Point.of(*wgs, "cgcs2000")
    shown = p.as_dict("bd09")
    assert shown["crs"] == "bd09" and metres((shown["lng"], shown["lat"]), convert(*wgs, WGS84, BD09)) < 0.01
    assert Point.of(-180, 90).to() == (-180.0, 90.0)  # the edges of the range are fine


def test_points_outside_an_area() -> None:
    xuanwu = Bounds(118.78, 32.03, 118.90, 32.11)
    inside = Point.of(118.80, 32.05)
    assert require_within(inside, xuanwu, "玄武区", "Xuanwu District") is inside
    with pytest.raises(Invalid) as err:
        require_within(Point.of(118.70, 32.05), xuanwu, "玄武区", "Xuanwu District")
    assert "outside Xuanwu District" in err.value.detail_en and "不在玄武区内" in err.value.detail_zh
    assert err.value.extra["bounds"] == [118.78, 32.03, 118.90, 32.11]
    # a GCJ-02 point is judged where it really is: 500 m east of the area's edge in WGS-84 is outside
    near_edge = convert(118.9045, 32.05, WGS84, GCJ02)
    assert not xuanwu.contains(Point.of(*near_edge, "gcj02"))
    with pytest.raises(ValueError):
        Bounds(118.9, 32.0, 118.8, 32.1)


def square(lng: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_geojson_transform_checks_and_converts_every_position() -> None:
    g = square(118.8, 32.05)
    there = geojson.transform(g, "wgs84", "bd09", digits=8)
    back = geojson.transform(there, "bd09", "wgs84")
    for (x, y), (u, v) in zip(back["coordinates"][0], g["coordinates"][0], strict=True):
        assert metres((x, y), (u, v)) < 0.01
    assert (
        geojson.transform({"type": "Point", "coordinates": [118.8, 32.05, 12.5]}, "gcj02")["coordinates"][2]
        == 12.5
    )
    bad = square(118.8, 32.05)
    bad["coordinates"][0][2] = [118.81, math.nan]
    with pytest.raises(Invalid, match="not a finite number"):
        geojson.transform(bad, "wgs84")
    with pytest.raises(Invalid, match="unsupported geometry type"):
        geojson.transform({"type": "Circle", "coordinates": [1, 2]}, "wgs84")
    with pytest.raises(Invalid, match=r"coordinates\[0\]\[1\]: a position must be"):
        geojson.transform({"type": "Polygon", "coordinates": [[[1, 2], [3]]]}, "wgs84")


def test_geojson_declared_crs() -> None:
    def named(name: str) -> dict:
        return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": name}}}

    assert geojson.declared_crs({"type": "FeatureCollection"}) is None
    assert geojson.declared_crs(named("urn:ogc:def:crs:EPSG::4490")) == CGCS2000
    assert geojson.declared_crs(named("GCJ-02")) == GCJ02
    with pytest.raises(Invalid, match="unknown coordinate system"):
        geojson.declared_crs(named("EPSG:2437"))
    with pytest.raises(Invalid, match="crs member must be"):
        geojson.declared_crs({"crs": {"type": "link", "properties": {"href": "x"}}})
    assert geojson.crs_member(WGS84) is None
    assert geojson.crs_member(BD09) == {"type": "name", "properties": {"name": "BD-09"}}


def test_area_of_a_lat_lng_rectangle_is_exact_on_the_sphere() -> None:
    r = geojson.EARTH_RADIUS
    expected = r * r * math.radians(0.01) * (math.sin(math.radians(32.06)) - math.sin(math.radians(32.05)))
    assert geojson.area(square(118.8, 32.05)) == pytest.approx(expected, rel=1e-9)
    assert 1.04e6 < expected < 1.06e6  # about a square kilometre at Nanjing's latitude
    holed = square(118.8, 32.05)
    holed["coordinates"].append(
        [[118.802, 32.052], [118.802, 32.054], [118.804, 32.054], [118.804, 32.052], [118.802, 32.052]]
    )
    assert geojson.area(holed) == pytest.approx(expected * 0.96, rel=1e-3)
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square(118.8, 32.05)["coordinates"], square(118.9, 32.05)["coordinates"]],
    }
    assert geojson.area(multi) == pytest.approx(2 * expected, rel=1e-9)


def test_polygonal_checks_rings() -> None:
    with pytest.raises(Invalid, match="not closed"):
        geojson.polygonal({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]})
    with pytest.raises(Invalid, match="at least 4 positions"):
        geojson.polygonal({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    with pytest.raises(Invalid, match="expected Polygon or MultiPolygon, not LineString"):
        geojson.polygonal({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})

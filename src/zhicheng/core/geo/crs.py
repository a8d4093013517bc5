"""The four coordinate systems a Chinese city meets, and conversions between any two.

- WGS-84 (EPSG:4326): GPS receivers, Open311, GeoJSON (RFC 7946). The platform stores everything in it.
- CGCS2000 (EPSG:4490): the national datum, what Beidou receivers and national surveying report. Its ellipsoid
  differs from WGS-84's only in the flattening (1/298.257222101 against 1/298.257223563: about 0.1 mm at the
  poles) and its frame is ITRF97 at epoch 2000.0, within a few centimetres of today's WGS-84 realisation in
  China. For city work (a phone fix is good to metres, a grid polygon to decimetres) the two are the same, so
  a CGCS2000 longitude/latitude is taken as the WGS-84 one, unchanged. Survey-grade work needs a seven-
  parameter transformation with plate motion, which this platform does not attempt.
- GCJ-02 (国测局坐标, "Mars coordinates"): the offset every published map of China must apply (AMap, Tencent,
  Google in China). Not a datum: a deterministic, non-linear perturbation of WGS-84 of a few hundred metres,
  applied only inside China. The forward formula below is the one circulated publicly since 2008 (the
  eviltransform and coordtransform projects); it is written here from those published formulas. It has no
  closed inverse, so GCJ-02 → WGS-84 iterates the forward one until the residue is below 1e-10° (~0.01 mm).
- BD-09 (百度坐标): Baidu's further offset of GCJ-02, a small perturbation in polar coordinates plus a shift,
  also applied outside China. Its inverse iterates the same way.
"""

from __future__ import annotations

import math

from zhicheng.core.errors import Invalid

WGS84, CGCS2000, GCJ02, BD09 = "wgs84", "cgcs2000", "gcj02", "bd09"
SYSTEMS = (WGS84, CGCS2000, GCJ02, BD09)
LABELS = {WGS84: "WGS-84", CGCS2000: "CGCS2000", GCJ02: "GCJ-02", BD09: "BD-09"}

# Names a client or a GeoJSON file may use for each system (compared in lower case, without spaces).
_ALIASES = {
    WGS84: (
        "wgs84",
        "wgs-84",
        "wgs_84",
        "epsg:4326",
        "4326",
        "crs84",
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:epsg::4326",
        "urn:ogc:def:crs:ogc::crs84",
        "gps",
    ),
    CGCS2000: ("cgcs2000", "cgcs-2000", "epsg:4490", "4490", "urn:ogc:def:crs:epsg::4490", "beidou", "bds"),
    GCJ02: ("gcj02", "gcj-02", "gcj_02", "gcj", "mars", "amap", "gaode", "tencent"),
    BD09: ("bd09", "bd-09", "bd_09", "bd09ll", "baidu"),
}
_BY_ALIAS = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}

# Krasovsky 1940, the ellipsoid the GCJ-02 formula is written on
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE = 1e-10  # degrees: about 0.01 mm, far below the sub-centimetre the inverses promise
_MAX_STEPS = 40


def system(name: str | None) -> str:
    """The canonical name of a coordinate system given by any of its usual names; None means WGS-84."""
    if name is None or name == "":
        return WGS84
    found = _BY_ALIAS.get(str(name).strip().lower().replace(" ", ""))
    if found is None:
        known = "、".join(LABELS.values())
        raise Invalid(
            f"未知的坐标系：{name}（可用：{known}）",
            f"unknown coordinate system: {name} (known: wgs84, cgcs2000, gcj02, bd09)",
            systems=list(SYSTEMS),
        )
    return found


def check(lng: object, lat: object, crs: str = WGS84) -> tuple[float, float]:
    """A longitude/latitude pair as finite floats within range, or Invalid saying what is wrong."""
    label = LABELS.get(crs, crs)
    for value, zh, en in ((lng, "经度", "longitude"), (lat, "纬度", "latitude")):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{zh}应为数字：{value!r}", f"{en} must be a number: {value!r}")
        if not math.isfinite(value):
            raise Invalid(f"{zh}不是有限数（{value}）", f"{en} is not a finite number ({value})")
    x, y = float(lng), float(lat)  # type: ignore[arg-type]
    if not -180.0 <= x <= 180.0:
        raise Invalid(
            f"{label} 经度超出范围 [-180, 180]：{x}", f"{label} longitude out of range [-180, 180]: {x}"
        )
    if not -90.0 <= y <= 90.0:
        raise Invalid(f"{label} 纬度超出范围 [-90, 90]：{y}", f"{label} latitude out of range [-90, 90]: {y}")
    return x, y


def out_of_china(lng: float, lat: float) -> bool:
    """The rectangle the published GCJ-02 code uses for "outside China": no offset is applied there."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lng: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees of longitude, latitude) at a WGS-84 point inside China."""
    x, y = lng - 105.0, lat - 35.0
    wave = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + wave
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + wave
    dlng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    # metres on the Krasovsky ellipsoid → degrees at this latitude
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * root) * math.pi)
    dlng = (dlng * 180.0) / (_A / root * math.cos(rad) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if out_of_china(lng, lat):
        return lng, lat
    dlng, dlat = _offset(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _invert(forward, lng: float, lat: float, guess: tuple[float, float]) -> tuple[float, float]:  # noqa: ANN001
    """Solve forward(x) = (lng, lat) by fixed-point steps x += target - forward(x). Both offsets change by
    far less than a metre per metre of input, so each step gains several digits; 2-4 steps usually do."""
    x, y = guess
    for _ in range(_MAX_STEPS):
        fx, fy = forward(x, y)
        dx, dy = lng - fx, lat - fy
        x, y = x + dx, y + dy
        if abs(dx) < _TOLERANCE and abs(dy) < _TOLERANCE:
            break
    return x, y


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    if out_of_china(lng, lat):
        return lng, lat
    return _invert(wgs84_to_gcj02, lng, lat, (lng, lat))


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    # the usual one-step approximate inverse as the start, refined to the exact one
    x, y = lng - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lng, lat, (z * math.cos(theta), z * math.sin(theta)))


def to_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    """From a canonical system to WGS-84 (no validation: see `check`)."""
    if crs in (WGS84, CGCS2000):
        return lng, lat
    if crs == GCJ02:
        return gcj02_to_wgs84(lng, lat)
    if crs == BD09:
        return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))
    raise Invalid(f"未知的坐标系：{crs}", f"unknown coordinate system: {crs}")


def from_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    """From WGS-84 to a canonical system."""
    if crs in (WGS84, CGCS2000):
        return lng, lat
    if crs == GCJ02:
        return wgs84_to_gcj02(lng, lat)
    if crs == BD09:
        return gcj02_to_bd09(*wgs84_to_gcj02(lng, lat))
    raise Invalid(f"未知的坐标系：{crs}", f"unknown coordinate system: {crs}")


def convert(lng: object, lat: object, source: str | None, target: str | None) -> tuple[float, float]:
    """A point from any system to any other, by name (aliases accepted), validated on the way in."""
    src, dst = system(source), system(target)
    x, y = check(lng, lat, src)
    if src == dst or {src, dst} == {WGS84, CGCS2000}:
        return x, y
    if {src, dst} == {GCJ02, BD09}:  # straight across, without the round trip through WGS-84
        return gcj02_to_bd09(x, y) if src == GCJ02 else bd09_to_gcj02(x, y)
    return from_wgs84(*to_wgs84(x, y, src), dst)

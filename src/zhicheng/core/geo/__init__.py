"""Coordinates: the four systems (WGS-84, CGCS2000, GCJ-02, BD-09) and conversions between any two (crs),
points normalised to WGS-84 and areas they must lie in (point), GeoJSON geometries read, converted and
measured (geojson). Every location the platform takes declares its system; it is stored in WGS-84 and
given back in the system the caller asks for."""

from zhicheng.core.geo.crs import BD09, CGCS2000, GCJ02, LABELS, SYSTEMS, WGS84, convert, system
from zhicheng.core.geo.point import Bounds, Point, require_within

__all__ = [
    "BD09",
    "CGCS2000",
    "GCJ02",
    "LABELS",
    "SYSTEMS",
    "WGS84",
    "Bounds",
    "Point",
    "convert",
    "require_within",
    "system",
]

"""A point declared in one of the four systems, held in WGS-84, given back in whichever system is asked for;
and areas (a bounding box) a point must lie in."""

from __future__ import annotations

from dataclasses import dataclass

from zhicheng.core.errors import Invalid
from zhicheng.core.geo import crs as C


@dataclass(frozen=True, slots=True)
class Point:
    """A location, always WGS-84 inside. Build it with `Point.of(lng, lat, crs)`."""

    lng: float
    lat: float

    @classmethod
    def of(cls, lng: object, lat: object, crs: str | None = C.WGS84) -> Point:
        """Validate a position in the declared system (None: WGS-84) and normalise it to WGS-84."""
        system = C.system(crs)
        x, y = C.check(lng, lat, system)
        return cls(*C.to_wgs84(x, y, system))

    def to(self, crs: str | None = C.WGS84) -> tuple[float, float]:
        """(lng, lat) in the system asked for."""
        return C.from_wgs84(self.lng, self.lat, C.system(crs))

    def as_dict(self, crs: str | None = C.WGS84, digits: int = 8) -> dict[str, object]:
        """{"lng", "lat", "crs"} in the system asked for; 8 decimals is about a millimetre."""
        system = C.system(crs)
        x, y = C.from_wgs84(self.lng, self.lat, system)
        return {"lng": round(x, digits), "lat": round(y, digits), "crs": system}


@dataclass(frozen=True, slots=True)
class Bounds:
    """A WGS-84 rectangle: a city's extent, a district's, a grid set's."""

    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    def __post_init__(self) -> None:
        if not (self.min_lng <= self.max_lng and self.min_lat <= self.max_lat):
            raise ValueError(f"empty bounds {self}")

    def contains(self, p: Point) -> bool:
        return self.min_lng <= p.lng <= self.max_lng and self.min_lat <= p.lat <= self.max_lat

    def as_list(self) -> list[float]:
        """[west, south, east, north], the GeoJSON `bbox` order."""
        return [self.min_lng, self.min_lat, self.max_lng, self.max_lat]


def require_within(
    p: Point, area: Bounds, name_zh: str = "服务范围", name_en: str = "the service area"
) -> Point:
    """The point itself when it lies in `area`, else Invalid naming the area (and the point in WGS-84)."""
    if not area.contains(p):
        raise Invalid(
            f"坐标（{p.lng:.6f}, {p.lat:.6f}，WGS-84）不在{name_zh}内",
            f"the point ({p.lng:.6f}, {p.lat:.6f}, WGS-84) lies outside {name_en}",
            point={"lng": p.lng, "lat": p.lat, "crs": C.WGS84},
            bounds=area.as_list(),
        )
    return p

"""Point → grid in memory: an H3 index over the grid polygons, rebuilt when grids change.

Each grid is covered by the H3 cells (one resolution for the whole index) that touch its polygon. A cell
lying wholly inside one grid and touching no other maps to that grid: a point there is assigned by one dict
lookup. A cell on a boundary maps to the few grids it touches, and the exact shapely test (boundary
included, grids in code order) decides among them. A point whose cell is not in the dict is in no grid.

The resolution follows the grids' size: the coarsest whose average hexagon is at most a fortieth of the
median grid, between 7 and 11. Grids of a square kilometre or two get resolution 10 (15,000 m² hexagons):
about four in five cells then lie inside one grid, and a point costs a few microseconds. True 万米 grids of
one hectare get 11 (2,150 m²), the finest allowed, to keep the dict within memory for a whole city.

The index lives per process and per database. `current(db, conn)` reads the "grids" generation (core.cache):
any committed write to the grids table changes it, and the next call rebuilds. Responsibility (departments,
workers) is kept apart under the "grid_duty" generation, so reassigning a worker does not rebuild cells.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h3.api.basic_int as h3
import shapely
from shapely.geometry import shape
from sqlalchemy import Connection, select

from zhicheng.cityops.models import Grid, GridDepartment, GridWorker
from zhicheng.core import cache
from zhicheng.core.db import Database

MIN_RES, MAX_RES = 7, 11
CELLS_PER_GRID = 40
_EDGE_PAD = 1e-7  # degrees (~1 cm): cells are compared a hair larger, so a point on an edge is never lost


@dataclass(frozen=True, slots=True)
class GridRef:
    id: int
    code: str
    name: str
    org_id: int


def resolution_for(areas_m2: Sequence[float]) -> int:
    if not areas_m2:
        return 9
    median = sorted(areas_m2)[len(areas_m2) // 2]
    for res in range(MIN_RES, MAX_RES + 1):
        if h3.average_hexagon_area(res, "m^2") <= median / CELLS_PER_GRID:
            return res
    return MAX_RES


def _cell_polygons(cells: list[int]) -> Any:
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(c)] for c in cells]
    return shapely.polygons([r + r[:1] for r in rings])


class GridIndex:
    """Immutable once built; `locate` is safe from any thread."""

    def __init__(self, grids: Iterable[tuple[GridRef, dict[str, Any], float]], resolution: int | None = None):
        rows = list(grids)
        self.resolution = resolution or resolution_for([a for _, _, a in rows])
        self.refs: dict[int, GridRef] = {}
        self._shapes: dict[int, Any] = {}
        touching: dict[int, list[tuple[str, int, bool]]] = {}
        # a cell touching a polygon has its centre within one circumradius (= edge length, at most about
        # twice the average one) of it: cover the polygon grown by that much, then keep the cells that touch
        reach_m = 2.0 * h3.average_hexagon_edge_length(self.resolution, "m")
        for ref, geometry, _ in rows:
            poly = shape(geometry)
            shapely.prepare(poly)
            self.refs[ref.id], self._shapes[ref.id] = ref, poly
            lat = (poly.bounds[1] + poly.bounds[3]) / 2
            grown = poly.buffer(reach_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01)))
            candidates = list(h3.geo_to_cells(grown, self.resolution))
            if not candidates:
                continue
            hexes = _cell_polygons(candidates)
            # grown and shrunk by a hair, once per grid rather than once per cell
            touches = shapely.intersects(poly.buffer(_EDGE_PAD), hexes)
            inside = shapely.contains(poly.buffer(-_EDGE_PAD), hexes)
            for cell, t, i in zip(candidates, touches, inside, strict=True):
                if t:
                    touching.setdefault(cell, []).append((ref.code, ref.id, bool(i)))
        self._cells: dict[int, int | tuple[int, ...]] = {}
        for cell, hits in touching.items():
            if len(hits) == 1 and hits[0][2]:
                self._cells[cell] = hits[0][1]
            else:
                self._cells[cell] = tuple(gid for _, gid, _ in sorted(hits))

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def cells(self) -> int:
        return len(self._cells)

    @property
    def interior_cells(self) -> int:
        return sum(1 for v in self._cells.values() if type(v) is int)

    def locate(self, lng: float, lat: float) -> GridRef | None:
        """The grid containing the WGS-84 point (its boundary included), or None."""
        hit = self._cells.get(h3.latlng_to_cell(lat, lng, self.resolution))
        if hit is None:
            return None
        if type(hit) is int:
            return self.refs[hit]
        for gid in hit:
            if shapely.intersects_xy(self._shapes[gid], lng, lat):
                return self.refs[gid]
        return None


@dataclass(frozen=True)
class Duty:
    departments: dict[int, tuple[int, ...]]
    workers: dict[int, tuple[int, ...]]


_GRIDS = select(Grid.id, Grid.code, Grid.name, Grid.org_id, Grid.geometry, Grid.area_m2)
_lock = threading.Lock()
_indexes: dict[str, tuple[int, GridIndex]] = {}
_duties: dict[str, tuple[int, Duty]] = {}


def build(conn: Connection) -> GridIndex:
    rows = conn.execute(_GRIDS).all()
    return GridIndex((GridRef(r.id, r.code, r.name, r.org_id), r.geometry, r.area_m2) for r in rows)


def _duty(conn: Connection) -> Duty:
    departments: dict[int, list[int]] = {}
    workers: dict[int, list[int]] = {}
    for gid, oid in conn.execute(
        select(GridDepartment.grid_id, GridDepartment.org_id).order_by(GridDepartment.org_id)
    ):
        departments.setdefault(gid, []).append(oid)
    for gid, uid in conn.execute(select(GridWorker.grid_id, GridWorker.user_id).order_by(GridWorker.user_id)):
        workers.setdefault(gid, []).append(uid)
    return Duty({k: tuple(v) for k, v in departments.items()}, {k: tuple(v) for k, v in workers.items()})


def current(db: Database, conn: Connection, gens: dict[str, int] | None = None) -> tuple[GridIndex, Duty]:
    """The index and the responsibilities as of the generations `conn` sees (rebuilt when they changed).
    The generations are read before the rows: a write committed in between only costs a second rebuild.
    A caller that has just read the generations (intake) passes them. `db` needs only a `url`."""
    gens = cache.generations(conn) if gens is None else gens
    grids_gen, duty_gen = gens.get("grids", 0), gens.get("grid_duty", 0)
    index, duty = _indexes.get(db.url), _duties.get(db.url)
    if index is None or index[0] != grids_gen:
        with _lock:
            index = _indexes.get(db.url)
            if index is None or index[0] != grids_gen:
                index = _indexes[db.url] = (grids_gen, build(conn))
    if duty is None or duty[0] != duty_gen:
        duty = _duties[db.url] = (duty_gen, _duty(conn))
    return index[1], duty[1]

"""Point → grid: assignments per second over 200 grids and 1,000,000 random points.

Builds 200 irregular grids programmatically over central Nanjing (a 20 × 10 jittered lattice of about 1 × 1.7
km cells whose shared edges wiggle through 8 segments each, so neighbours meet exactly and polygons have
~33 vertices, like digitised boundaries), then times, with the same random points (10% of them outside every
grid):

- the index build (`cityops.index.GridIndex`: H3 cover, interior and boundary cells);
- `GridIndex.locate` on WGS-84 points: one H3 cell computation and a dict lookup, plus a shapely test only
  in cells on a boundary;
- the same points given in GCJ-02 (`Point.of(..., "gcj02")` first: the iterated inverse, then locate);
- the usual alternative without H3: a shapely STRtree query with a `contains` predicate per point (on
  `--baseline` points, 100,000 by default), and the agreement of the two answers on those points.

With `--db sqlite|postgresql` it also imports the 200 grids through `cityops.services.import_grids` into a
migrated throwaway database (timed: every check, the overlap test, the audit records) and times
`cityops.queries.locate(db, point)` — the API's path: one generation read per call, then the cached index.

    .venv/bin/python bench/grid_locate.py [--points 1000000] [--baseline 100000] [--db none|sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

import shapely  # noqa: E402
from shapely.geometry import shape  # noqa: E402

from zhicheng.cityops.index import GridIndex, GridRef  # noqa: E402
from zhicheng.core.geo import convert, geojson  # noqa: E402
from zhicheng.core.geo.point import Point  # noqa: E402

COLS, ROWS = 20, 10
WEST, SOUTH, DX, DY = 118.70, 31.95, 0.0105, 0.015
SEGMENTS = 8


def lattice(seed: int = 2026) -> list[dict[str, Any]]:
    """200 features whose neighbours share their (wiggly) edges exactly."""
    rnd = random.Random(seed)
    nodes = {
        (i, j): (
            WEST + i * DX + (rnd.uniform(-0.3, 0.3) * DX if 0 < i < COLS else 0),
            SOUTH + j * DY + (rnd.uniform(-0.3, 0.3) * DY if 0 < j < ROWS else 0),
        )
        for i in range(COLS + 1)
        for j in range(ROWS + 1)
    }
    edges: dict[tuple, list[tuple[float, float]]] = {}

    def edge(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[float, float]]:
        key = (a, b) if a < b else (b, a)
        if key not in edges:
            (x0, y0), (x1, y1) = nodes[key[0]], nodes[key[1]]
            r = random.Random(hash(key))
            pts = [(x0, y0)]
            for k in range(1, SEGMENTS):
                t = k / SEGMENTS
                wiggle = r.uniform(-0.04, 0.04)  # across the edge, as a share of its length
                pts.append((x0 + t * (x1 - x0) - wiggle * (y1 - y0), y0 + t * (y1 - y0) + wiggle * (x1 - x0)))
            pts.append((x1, y1))
            edges[key] = pts
        pts = edges[key]
        return pts if key == (a, b) else pts[::-1]

    features = []
    for j in range(ROWS):
        for i in range(COLS):
            ring: list[tuple[float, float]] = []
            for a, b in (
                ((i, j), (i + 1, j)),
                ((i + 1, j), (i + 1, j + 1)),
                ((i + 1, j + 1), (i, j + 1)),
                ((i, j + 1), (i, j)),
            ):
                ring += edge(a, b)[:-1]
            ring.append(ring[0])
            code = f"320102{j + 1:03d}{i // 5 + 1:03d}{i % 5 + 1:03d}"
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": f"网格{j * COLS + i + 1}"},
                    "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
                }
            )
    return features


def random_points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    """Uniform over the lattice's extent grown by 5% on each side (about a tenth falls outside)."""
    rnd = random.Random(seed)
    w, e = WEST - 0.05 * COLS * DX, WEST + 1.05 * COLS * DX
    s, n_ = SOUTH - 0.05 * ROWS * DY, SOUTH + 1.05 * ROWS * DY
    return [(rnd.uniform(w, e), rnd.uniform(s, n_)) for _ in range(n)]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({seconds * 1e6 / n:.2f} µs each)"


def in_memory(features: list[dict[str, Any]], points: list[tuple[float, float]], baseline: int) -> None:
    rows = [
        (
            GridRef(k + 1, f["properties"]["code"], f["properties"]["name"], 1),
            f["geometry"],
            geojson.area(f["geometry"]),
        )
        for k, f in enumerate(features)
    ]
    t = time.perf_counter()
    idx = GridIndex(rows)
    built = time.perf_counter() - t
    print(
        f"  index: {len(idx)} grids, H3 resolution {idx.resolution}, {idx.cells:,} cells "
        f"({idx.interior_cells / idx.cells:.0%} inside one grid), built in {built * 1000:.0f} ms"
    )
    locate = idx.locate
    t = time.perf_counter()
    found = sum(1 for x, y in points if locate(x, y) is not None)
    wgs = time.perf_counter() - t
    print(
        f"  locate, WGS-84: {len(points):,} points in {wgs:.2f} s = {rate(len(points), wgs)}; "
        f"{found:,} in a grid"
    )

    gcj = [convert(x, y, "wgs84", "gcj02") for x, y in points]
    t = time.perf_counter()
    found_gcj = 0
    for x, y in gcj:
        p = Point.of(x, y, "gcj02")
        found_gcj += locate(p.lng, p.lat) is not None
    secs = time.perf_counter() - t
    print(f"  locate, GCJ-02 in (normalise + locate): {rate(len(points), secs)}; {found_gcj:,} in a grid")

    shapes = [shape(f["geometry"]) for f in features]
    tree = shapely.STRtree(shapes)
    sample = points[:baseline]
    t = time.perf_counter()
    plain = []
    for x, y in sample:
        hits = tree.query(shapely.Point(x, y), predicate="intersects")
        plain.append(min(hits) if len(hits) else None)
    secs = time.perf_counter() - t
    print(
        f"  baseline, shapely STRtree per point: {rate(len(sample), secs)}; "
        f"the index is {secs / len(sample) / (wgs / len(points)):.1f}× faster"
    )
    ids = {f["properties"]["code"]: k for k, f in enumerate(features)}
    differ = 0
    for (x, y), want in zip(sample, plain, strict=True):
        got = locate(x, y)
        differ += (ids[got.code] if got else None) != (int(want) if want is not None else None)
    print(f"  answers differing from the STRtree's on those {len(sample):,} points: {differ}")


def through_db(dialect: str, features: list[dict[str, Any]], points: list[tuple[float, float]]) -> None:
    from tempdb import migrate, temp_database
    from zhicheng.cityops import queries, services
    from zhicheng.core.db import Actor, Database, unit_of_work
    from zhicheng.core.orgs import services as orgs
    from zhicheng.core.orgs.schemas import DivisionIn, OrgIn

    me = Actor(kind="cli", name="bench")
    with temp_database(dialect) as url:
        migrate(url)
        db = Database(url)
        with unit_of_work(db, me) as uow:
            for code, name, parent in (
                ("320000", "江苏省", None),
                ("320100", "南京市", "320000"),
                ("320102", "玄武区", "320100"),
            ):
                orgs.create_division(uow, DivisionIn(code=code, name=name, parent_code=parent))
            orgs.create_org(uow, OrgIn(name="玄武区人民政府", kind="government", division_code="320102"))
        t = time.perf_counter()
        with unit_of_work(db, me) as uow:
            services.import_grids(uow, {"type": "FeatureCollection", "features": features})
        took = time.perf_counter() - t
        print(f"  {dialect}: import of {len(features)} grids (all checks, overlaps, audit) in {took:.2f} s")
        sample = [Point(x, y) for x, y in points[:20_000]]
        queries.locate(db, sample[0])  # builds the index
        t = time.perf_counter()
        for p in sample:
            queries.locate(db, p)
        secs = time.perf_counter() - t
        print(f"  {dialect}: queries.locate (generation read + cached index): {rate(len(sample), secs)}")
        db.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=100_000)
    ap.add_argument("--db", default="none", choices=["none", "sqlite", "postgresql"])
    args = ap.parse_args(argv)
    features = lattice()
    points = random_points(args.points)
    print(f"grid locate: {len(features)} grids, {len(points):,} random points")
    in_memory(features, points, min(args.baseline, len(points)))
    if args.db != "none":
        through_db(args.db, features, points)


if __name__ == "__main__":
    main()

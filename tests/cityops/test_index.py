"""The in-process H3 index agrees with the exact shapely answer everywhere: inside, on edges and corners,
in gaps between grids and outside them all."""

from __future__ import annotations

import random

import h3
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from tests.cityops.conftest import SIZE, XUANWU, grid_set, square
from zhicheng.cityops.index import GridIndex, GridRef, resolution_for


def build(features: list[dict], resolution: int | None = None) -> GridIndex:
    from zhicheng.core.geo import geojson

    rows = [
        (
            GridRef(i + 1, f["properties"]["code"], f["properties"]["name"], 1),
            f["geometry"],
            geojson.area(f["geometry"]),
        )
        for i, f in enumerate(features)
    ]
    return GridIndex(rows, resolution)


def brute(features: list[dict], points: list[tuple[float, float]]) -> list[str | None]:
    """The reference answers: every polygon tested on every point, the lowest code winning on a shared
    boundary (vectorised: one shapely call per polygon)."""
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    best: list[str | None] = [None] * len(points)
    for f in sorted(features, key=lambda f: f["properties"]["code"], reverse=True):
        for k in np.nonzero(shapely.intersects_xy(shape(f["geometry"]), xs, ys))[0]:
            best[k] = f["properties"]["code"]
    return best


def answers(idx: GridIndex, points: list[tuple[float, float]]) -> list[str | None]:
    return [(g.code if (g := idx.locate(x, y)) else None) for x, y in points]


def test_resolution_follows_grid_size() -> None:
    assert resolution_for([1.05e6] * 10) == 10  # square-kilometre grids
    assert resolution_for([5e6] * 10) == 9
    assert resolution_for([10_000.0] * 10) == 11  # 万米 grids of a hectare: the finest allowed
    assert resolution_for([5e8]) == 7  # huge areas: the coarsest allowed
    assert resolution_for([]) == 9


def test_matches_shapely_on_random_points_edges_and_gaps() -> None:
    features = grid_set()
    # a gap: one grid in the middle left out, and an odd-shaped (L) grid with a hole next to the block
    del features[14]
    ring = [
        [118.87, 32.04],
        [118.89, 32.04],
        [118.89, 32.05],
        [118.88, 32.05],
        [118.88, 32.06],
        [118.87, 32.06],
        [118.87, 32.04],
    ]
    hole = [[118.872, 32.042], [118.875, 32.042], [118.875, 32.045], [118.872, 32.045], [118.872, 32.042]]
    features.append(
        {
            "type": "Feature",
            "properties": {"code": "320102002002099", "name": "L"},
            "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
        }
    )
    idx = build(features)
    assert idx.resolution == 10 and len(idx) == 40
    assert 0 < idx.interior_cells < idx.cells
    rnd = random.Random(9)
    points = [(rnd.uniform(118.79, 118.90), rnd.uniform(32.00, 32.11)) for _ in range(20_000)]
    # grid lines and corners, where the boundary rule decides
    points += [
        (XUANWU[0] + i * SIZE, XUANWU[1] + rnd.uniform(0, 6 * SIZE)) for i in range(7) for _ in range(50)
    ]
    points += [
        (XUANWU[0] + rnd.uniform(0, 6 * SIZE), XUANWU[1] + j * SIZE) for j in range(7) for _ in range(50)
    ]
    points += [(XUANWU[0] + i * SIZE, XUANWU[1] + j * SIZE) for i in range(7) for j in range(7)]
    expected = brute(features, points)
    assert [p for p, a, b in zip(points, answers(idx, points), expected, strict=True) if a != b] == []
    assert sum(1 for code in expected if code is None) > 1000  # the test did reach gaps and the outside
    assert idx.locate(118.8738, 32.0435) is None  # in the hole
    assert idx.locate(XUANWU[0] + 2.5 * SIZE, XUANWU[1] + 2.5 * SIZE) is None  # the grid left out


@pytest.mark.parametrize("resolution", [8, 9, 11])
def test_any_resolution_gives_the_same_answers(resolution: int) -> None:
    features = grid_set()
    idx = build(features, resolution)
    rnd = random.Random(resolution)
    points = [(rnd.uniform(118.79, 118.87), rnd.uniform(32.00, 32.11)) for _ in range(5000)]
    assert answers(idx, points) == brute(features, points)


def test_interior_cells_need_no_polygon_test() -> None:
    idx = build(
        [
            {
                "type": "Feature",
                "properties": {"code": "320102002001001", "name": "大"},
                "geometry": square(118.80, 32.04, 0.05),
            }
        ]
    )
    cell = h3.latlng_to_cell(32.065, 118.825, idx.resolution)
    assert idx._cells[h3.str_to_int(cell)] == 1  # a plain int: a dict lookup answers
    assert idx.locate(118.825, 32.065).code == "320102002001001"


def test_an_empty_index_finds_nothing() -> None:
    idx = GridIndex([])
    assert len(idx) == 0 and idx.locate(118.8, 32.05) is None

"""The grid tests' world: 玄武区 (320102) with its street 梅园新村街道 (320102002, from the personas), two
registered communities under it and a street office; 秦淮区 (320104) with no streets registered. The grid set
is synthetic: 6 × 6 squares of 0.01° (about 945 m × 1,110 m) over 玄武区, the street's two communities three
rows each, and 2 × 2 squares in 秦淮区 to the south, every code fitting its division."""

from __future__ import annotations

import json
from typing import Any

import pytest

import zhicheng.cityops.permissions  # noqa: F401 - the roles must carry every permission before the DB is built
from tests import personas
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.geo import geojson
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn

ME = Actor(kind="cli", name="tester")
URL = "/api/v1/cityops/grids"
SIZE = 0.01
XUANWU = (118.80, 32.04)  # the south-west corner of the 6 × 6 block (WGS-84)
QINHUAI = (118.80, 32.01)  # the south-west corner of the 2 × 2 block


def square(lng: float, lat: float, size: float = SIZE) -> dict[str, Any]:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [[[round(x, 10), round(y, 10)] for x, y in ring]]}


def feature(code: str, name: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}


def xuanwu_code(row: int, col: int) -> str:
    community = "001" if row < 3 else "002"
    return f"320102002{community}{row * 6 + col + 1:03d}"


def grid_set() -> list[dict[str, Any]]:
    """40 features in WGS-84: 36 in 玄武区, 4 in 秦淮区."""
    out = []
    for row in range(6):
        for col in range(6):
            geometry = square(XUANWU[0] + col * SIZE, XUANWU[1] + row * SIZE)
            out.append(feature(xuanwu_code(row, col), f"梅园第{row * 6 + col + 1}网格", geometry))
    for row in range(2):
        for col in range(2):
            geometry = square(QINHUAI[0] + col * SIZE, QINHUAI[1] + row * SIZE)
            out.append(
                feature(f"320104001001{row * 2 + col + 1:03d}", f"秦淮第{row * 2 + col + 1}网格", geometry)
            )
    return out


def collection(features: list[dict[str, Any]], system: str | None = None) -> dict[str, Any]:
    """A FeatureCollection whose polygons are converted from WGS-84 to `system` (declared when given)."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    for f in features:
        if not isinstance(f, dict):  # junk is passed through, for the tests of bad input
            doc["features"].append(f)
            continue
        g = geojson.transform(f["geometry"], "wgs84", system) if system else f["geometry"]
        doc["features"].append({**f, "geometry": g})
    if system and (member := geojson.crs_member(system)):
        doc["crs"] = member
    return doc


def centre(row: int, col: int) -> tuple[float, float]:
    return XUANWU[0] + (col + 0.5) * SIZE, XUANWU[1] + (row + 0.5) * SIZE


def raw_json(doc: Any) -> bytes:
    """JSON as Python writes it, NaN included (which strict JSON has no word for)."""
    return json.dumps(doc, allow_nan=True).encode()


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, name in (("320102002001", "梅园社区"), ("320102002002", "成贤街社区")):
            orgs.create_division(uow, DivisionIn(code=code, name=name, parent_code="320102002"))
        street = orgs.create_org(
            uow,
            OrgIn(
                name="梅园新村街道办事处", kind="government", division_code="320102002", parent_id=w.district
            ),
        )
        urban = orgs.create_org(
            uow,
            OrgIn(name="玄武区城市管理局", kind="department", division_code="320102", parent_id=w.district),
        )
        people = {}
        for username, name, org_id, role in (
            ("gridder", "郑网格", street.id, "grid_worker"),
            ("gridder2", "冯网格", street.id, "grid_worker"),
            ("qinhuai_worker", "秦网格", w.other_district, "grid_worker"),
        ):
            user = auth.create_user(
                uow, UserIn(username=username, display_name=name, password=personas.PASSWORD, org_id=org_id)
            )
            auth.grant_role(uow, user.id, GrantIn(role=role, org_id=org_id))
            people[username] = user.id
    return {"street": street.id, "urban": urban.id, **people}


@pytest.fixture
def imported(db: Database, world: dict[str, int]) -> dict[str, int]:
    """The whole grid set stored (WGS-84)."""
    from zhicheng.cityops import services

    with unit_of_work(db, ME) as uow:
        services.import_grids(uow, collection(grid_set()))
    return world


# --- cases: categories, rules and the people of the loop ----------------------------------------------
MANHOLE = "part:0101"  # 部件 公用设施 上水井盖
SHED = "event:0101"  # 事件 市容环境 私搭乱建
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def city(db: Database, imported: dict[str, int]) -> dict[str, int]:
    """The grid, two categories, a city-wide rule for the shed and a street rule for the manhole; a 12345
    agent, supervision and command centres at the city, handlers at the urban bureau and at the street, a
    citizen reporter linked to a party."""
    from zhicheng.cityops import categories
    from zhicheng.cityops.schemas import CategoryIn, RuleIn
    from zhicheng.core.orgs.realname import DemoVerifier
    from zhicheng.core.orgs.schemas import PartyIn

    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        categories.create(
            uow,
            CategoryIn(
                kind="part",
                code="0101",
                major_name="公用设施",
                name="上水井盖",
                dispatch_days=1,
                handle_days=2,
                closing_standard="井盖完好、平稳",
            ),
        )
        categories.create(
            uow,
            CategoryIn(
                kind="event",
                code="0101",
                major_name="市容环境",
                name="私搭乱建",
                dispatch_days=1,
                handle_days=5,
                closing_standard="违建拆除",
            ),
        )
        uow.session.flush()
        categories.set_rule(uow, RuleIn(category=SHED, area="", department_id=imported["urban"]))
        categories.set_rule(uow, RuleIn(category=MANHOLE, area="320102002", department_id=imported["street"]))
        party = orgs.register_party(
            uow, PartyIn(kind="citizen", id_number="11010519491231002X", name="钱市民"), DemoVerifier()
        )
        people = {}
        for username, org_id, role, party_id in (
            ("agent", w.city, "hotline_agent", None),
            ("supervisor", w.city, "supervision_centre", None),
            ("commander", w.city, "command_centre", None),
            ("handler", imported["urban"], "case_handler", None),
            ("street_handler", imported["street"], "case_handler", None),
            ("citizen", w.city, "city_reporter", party.id),
        ):
            user = auth.create_user(
                uow,
                UserIn(
                    username=username,
                    display_name=username,
                    password=personas.PASSWORD,
                    org_id=None if party_id else org_id,
                    party_id=party_id,
                ),
            )
            auth.grant_role(uow, user.id, GrantIn(role=role, org_id=org_id))
            people[username] = user.id
    return {**imported, **people}


def report_body(
    category: str = SHED,
    lng: float | None = None,
    lat: float | None = None,
    crs: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    x, y = centre(2, 2)
    return {
        "category": category,
        "location": {"lng": x if lng is None else lng, "lat": y if lat is None else lat, "crs": crs},
        "description": kw.pop("description", "路边搭建了棚子"),
        **kw,
    }

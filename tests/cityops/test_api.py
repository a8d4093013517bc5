"""The grid API as its callers meet it: the city manager imports, a district manager only in the district,
a clerk and a system read and locate, an outsider and the anonymous are refused; points in every system,
outside every grid, and bad input answered as problem+json."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from tests import personas
from tests.cityops.conftest import (
    ME,
    SIZE,
    URL,
    XUANWU,
    centre,
    collection,
    feature,
    grid_set,
    raw_json,
    square,
    xuanwu_code,
)
from zhicheng.cityops import services
from zhicheng.cityops.models import Grid
from zhicheng.core.db import unit_of_work
from zhicheng.core.geo import convert

JSON = {"Content-Type": "application/json"}


def test_city_manager_imports_and_everyone_with_read_sees(db, world, as_user, as_system) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    r = admin.send("POST", f"{URL}/import", json=collection(grid_set(), "gcj02"))
    assert r.status_code == 200, r.text
    assert (r.json()["crs"], r.json()["count"]) == ("gcj02", 40)
    for reader in (as_user("clerk"), as_system, as_user("auditor")):
        page = reader.get(URL, params={"limit": 30}).json()
        assert len(page["items"]) == 30 and page["next_cursor"]
        rest = reader.get(URL, params={"limit": 30, "cursor": page["next_cursor"]}).json()
        assert len(rest["items"]) == 10 and rest["next_cursor"] is None
    item = page["items"][0]
    assert item["code"] == xuanwu_code(0, 0) and item["street_code"] == "320102002"
    assert item["bbox"] == pytest.approx([118.80, 32.04, 118.81, 32.05], abs=1e-9)  # stored in WGS-84
    assert 1.04e6 < item["area_m2"] < 1.06e6 and item["org_id"] == world["street"]


def test_filters(db, imported, as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    assert len(clerk.get(URL, params={"division": "320104"}).json()["items"]) == 4
    assert len(clerk.get(URL, params={"division": "320102002002"}).json()["items"]) == 18
    assert len(clerk.get(URL, params={"division": "320100", "limit": 500}).json()["items"]) == 40
    assert [g["name"] for g in clerk.get(URL, params={"q": "秦淮第2"}).json()["items"]] == ["秦淮第2网格"]
    assert len(clerk.get(URL, params={"org_id": world_street(db)}).json()["items"]) == 36
    bad = clerk.get(URL, params={"division": "12345"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert clerk.get(URL, params={"limit": 0}).status_code == 422
    assert clerk.get(URL, params={"cursor": "%%%"}).status_code == 422


def world_street(db) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(Grid.org_id).where(Grid.code == xuanwu_code(0, 0)))


def test_district_manager_only_inside_the_district(db, world, as_user) -> None:  # noqa: ANN001
    district = as_user("district_admin")
    r = district.send("POST", f"{URL}/import", json=collection(grid_set()))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["problems_total"] == 4 and {p["feature"] for p in body["problems"]} == {36, 37, 38, 39}
    assert all(p["error"] == "forbidden" for p in body["problems"])
    assert "秦淮区人民政府" in body["problems"][0]["zh"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Grid)) == 0
    r = district.send("POST", f"{URL}/import", json=collection(grid_set()[:36]))
    assert r.status_code == 200 and r.json()["count"] == 36
    # ... and cannot set workers or departments on 秦淮区's grids once the city has imported them
    as_user("cityadmin").send("POST", f"{URL}/import", json=collection(grid_set()[36:]))
    r = district.send("PUT", f"{URL}/320104001001001/departments", json={"org_ids": [world["urban"]]})
    assert r.status_code == 403


def test_refusals(db, imported, as_user, as_system, client) -> None:  # noqa: ANN001
    doc = collection(grid_set()[:1])
    assert as_user("clerk").send("POST", f"{URL}/import", json=doc).status_code == 403
    assert as_system.post(f"{URL}/import", json=doc).status_code == 403
    outsider = as_user("outsider")
    for path in (URL, f"{URL}/export", f"{URL}/{xuanwu_code(0, 0)}", f"{URL}/locate?lng=118.8&lat=32.05"):
        assert outsider.get(path).status_code == 403
        assert client.get(path).status_code == 401
    assert (
        as_user("gridder")
        .send("PUT", f"{URL}/{xuanwu_code(0, 0)}/workers", json={"user_ids": []})
        .status_code
        == 403
    )
    assert as_user("gridder").get(f"{URL}/{xuanwu_code(0, 0)}").status_code == 200  # a grid worker reads


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "gcj02", "bd09", "EPSG:4326", "BD-09"])
def test_locate_points_in_every_system(db, imported, as_system, system: str) -> None:  # noqa: ANN001
    for row, col in [(0, 0), (2, 3), (5, 5)]:
        lng, lat = convert(*centre(row, col), "wgs84", system)
        r = as_system.get(f"{URL}/locate", params={"lng": lng, "lat": lat, "crs": system})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["grid"]["code"] == xuanwu_code(row, col)
        assert body["grid"]["community_code"] == xuanwu_code(row, col)[:12]
        assert body["point"]["lng"] == lng and body["point"]["crs"] in ("wgs84", "cgcs2000", "gcj02", "bd09")
        assert (body["wgs84"]["lng"], body["wgs84"]["lat"]) == pytest.approx(centre(row, col), abs=1e-8)


def test_locate_a_gcj_point_near_an_edge_goes_where_it_really_is(db, imported, as_system) -> None:  # noqa: ANN001
    # 20 m inside grid (0, 1)'s east edge in WGS-84; GCJ-02 numbers here are ~500 m further east, so the
    # same raw numbers taken as WGS-84 would fall in the next grid
    real = (XUANWU[0] + 2 * SIZE - 0.0002, XUANWU[1] + 0.5 * SIZE)
    gcj = convert(*real, "wgs84", "gcj02")
    as_gcj = as_system.get(f"{URL}/locate", params={"lng": gcj[0], "lat": gcj[1], "crs": "gcj02"}).json()
    as_wgs = as_system.get(f"{URL}/locate", params={"lng": gcj[0], "lat": gcj[1]}).json()
    assert as_gcj["grid"]["code"] == xuanwu_code(0, 1)
    assert as_wgs["grid"]["code"] == xuanwu_code(0, 2)


def test_locate_outside_every_grid_and_bad_points(db, imported, as_system) -> None:  # noqa: ANN001
    for lng, lat in [
        (118.70, 32.05),
        (116.40, 39.90),
        (XUANWU[0] + 0.5 * SIZE, XUANWU[1] - 0.005),
        (139.7, 35.7),
    ]:
        r = as_system.get(f"{URL}/locate", params={"lng": lng, "lat": lat})
        assert r.status_code == 200 and r.json()["grid"] is None
    for params, words in [
        ({"lng": "nan", "lat": 32.05}, "not a finite number"),
        ({"lng": 118.8, "lat": "inf"}, "not a finite number"),
        ({"lng": 118.8, "lat": 91}, "latitude out of range"),
        ({"lng": 200, "lat": 32}, "longitude out of range"),
        ({"lng": 118.8, "lat": 32.05, "crs": "EPSG:3857"}, "unknown coordinate system"),
        ({"lng": "east", "lat": 32.05}, "invalid input"),
        ({"lat": 32.05}, "invalid input"),
    ]:
        r = as_system.get(f"{URL}/locate", params=params, headers={"Accept-Language": "en"})
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert words in r.json()["messages"]["en"], r.json()


def test_locate_sees_new_grids_and_responsibilities_at_once(db, world, as_user, as_system) -> None:  # noqa: ANN001
    where = {"lng": centre(0, 0)[0], "lat": centre(0, 0)[1]}
    assert as_system.get(f"{URL}/locate", params=where).json()["grid"] is None  # the index is built, empty
    with unit_of_work(db, ME) as uow:
        services.import_grids(uow, collection(grid_set()[:6]))
    found = as_system.get(f"{URL}/locate", params=where).json()["grid"]
    assert found["code"] == xuanwu_code(0, 0) and found["department_ids"] == [] and found["worker_ids"] == []
    admin = as_user("cityadmin")
    r = admin.send(
        "PUT", f"{URL}/{xuanwu_code(0, 0)}/departments", json={"org_ids": [world["urban"], world["urban"]]}
    )
    assert r.status_code == 200 and r.json()["department_ids"] == [world["urban"]]
    r = admin.send(
        "PUT", f"{URL}/{xuanwu_code(0, 0)}/workers", json={"user_ids": [world["gridder"], world["gridder2"]]}
    )
    assert r.status_code == 200 and r.json()["worker_ids"] == sorted([world["gridder"], world["gridder2"]])
    found = as_system.get(f"{URL}/locate", params=where).json()["grid"]
    assert found["department_ids"] == [world["urban"]]
    assert found["worker_ids"] == sorted([world["gridder"], world["gridder2"]])
    # a replaced polygon moves the answer too
    moved = collection([feature(xuanwu_code(0, 0), "梅园第1网格", square(XUANWU[0], XUANWU[1], SIZE / 4))])
    assert admin.send("POST", f"{URL}/import", params={"replace": "true"}, json=moved).status_code == 200
    assert as_system.get(f"{URL}/locate", params=where).json()["grid"] is None


def test_departments_and_workers(db, imported, as_user) -> None:  # noqa: ANN001
    admin, district = as_user("cityadmin"), as_user("district_admin")
    code = xuanwu_code(1, 1)
    w = personas.WORLD
    r = district.send("PUT", f"{URL}/{code}/departments", json={"org_ids": [imported["urban"], w.market]})
    assert r.status_code == 200  # a city line department may be responsible for a district's grid
    r = district.send("PUT", f"{URL}/{code}/workers", json={"user_ids": [imported["gridder"]]})
    assert r.status_code == 200
    r = district.send("PUT", f"{URL}/{code}/workers", json={"user_ids": [imported["qinhuai_worker"]]})
    assert r.status_code == 403  # a worker of 秦淮区 is not the district manager's to assign
    r = admin.send("PUT", f"{URL}/{code}/departments", json={"org_ids": [99999]})
    assert r.status_code == 422 and "99999" in r.json()["messages"]["en"]
    assert admin.send("PUT", f"{URL}/320102002001999/workers", json={"user_ids": []}).status_code == 404
    assert admin.send("PUT", f"{URL}/not-a-code/workers", json={"user_ids": []}).status_code == 422
    detail = admin.get(f"{URL}/{code}").json()
    assert [d["name"] for d in detail["departments"]] == ["南京市市场监督管理局", "玄武区城市管理局"]
    assert [p["display_name"] for p in detail["workers"]] == ["郑网格"]
    assert detail["org_name"] == "梅园新村街道办事处"
    r = district.send("PUT", f"{URL}/{code}/workers", json={"user_ids": []})
    assert r.json()["worker_ids"] == []
    from zhicheng.core.audit.models import AuditRecord

    with db.read() as s:
        tags = list(s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == f"grid:{code}")))
    assert tags == [
        "cityops:grid:create",
        "cityops:grid:departments",
        "cityops:grid:workers",
        "cityops:grid:workers",
    ]


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_export_in_any_system_round_trips(db, imported, as_user, system: str) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    r = admin.get(f"{URL}/export", params={"crs": system, "division": "320102"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert len(doc["features"]) == 36
    assert ("crs" in doc) == (system not in ("wgs84",))
    first = doc["features"][0]
    assert first["id"] == xuanwu_code(0, 0) and first["properties"]["name"] == "梅园第1网格"
    x, y = first["geometry"]["coordinates"][0][0]
    assert (x, y) == pytest.approx(convert(118.80, 32.04, "wgs84", system), abs=1e-8)
    # imported back as it is (the declared crs does the work), the grids stay where they were
    r = admin.send("POST", f"{URL}/import", params={"replace": "true", "tolerance": 0}, json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["crs"] == system and len(r.json()["replaced"]) == 36
    with db.read() as s:
        g = s.scalar(select(Grid).where(Grid.code == xuanwu_code(0, 0)))
    assert (g.min_lng, g.min_lat, g.max_lng, g.max_lat) == pytest.approx(
        (118.80, 32.04, 118.81, 32.05), abs=1e-8
    )


def test_get_one_grid_in_the_system_asked(db, imported, as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    wgs = clerk.get(f"{URL}/{xuanwu_code(0, 0)}").json()
    bd = clerk.get(f"{URL}/{xuanwu_code(0, 0)}", params={"crs": "bd09"}).json()
    assert wgs["crs"] == "wgs84" and bd["crs"] == "bd09"
    assert wgs["geometry"]["coordinates"][0][0] == [118.80, 32.04]
    assert bd["geometry"]["coordinates"][0][0] == pytest.approx(
        convert(118.80, 32.04, "wgs84", "bd09"), abs=1e-8
    )
    assert bd["bbox"][0] > wgs["bbox"][0] + 0.005  # Baidu's numbers sit about a kilometre to the north-east
    assert clerk.get(f"{URL}/320102002001999").status_code == 404
    assert clerk.get(f"{URL}/{xuanwu_code(0, 0)}", params={"crs": "utm"}).status_code == 422


def test_invalid_geojson_over_http(db, world, as_user) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    r = admin.send(
        "POST", f"{URL}/import", content=b'{"type": "FeatureCollection", "features": [', headers=JSON
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = admin.send("POST", f"{URL}/import", json=[1, 2])
    assert r.status_code == 422
    r = admin.send("POST", f"{URL}/import", json={"type": "GeometryCollection", "geometries": []})
    assert r.status_code == 422 and "FeatureCollection" in r.json()["messages"]["en"]
    fs = grid_set()[:2]
    fs[1]["geometry"]["coordinates"][0][1] = [math.nan, 32.04]
    r = admin.send("POST", f"{URL}/import", content=raw_json(collection(fs)), headers=JSON)
    assert r.status_code == 422, r.text
    assert [(p["feature"], "not a finite number" in p["en"]) for p in r.json()["problems"]] == [(1, True)]
    r = admin.send("POST", f"{URL}/import", params={"crs": "gcj02", "tolerance": -5}, json=collection(fs[:1]))
    assert r.status_code == 422
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Grid)) == 0

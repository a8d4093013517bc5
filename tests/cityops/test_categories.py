"""Categories and routing rules: the city manager keeps them, a district's manager and an outsider are
refused, everyone with cityops.read lists them; the most specific rule wins."""

from __future__ import annotations

from tests.cityops.conftest import MANHOLE, SHED, xuanwu_code
from zhicheng.cityops import categories
from zhicheng.core.db import Database

URL = "/api/v1/cityops/categories"
NEW = {
    "kind": "event",
    "code": "0203",
    "major_name": "街面秩序",
    "name": "占道经营",
    "dispatch_days": 1,
    "handle_days": 3,
    "closing_standard": "占道摊点清除",
}


def test_crud_and_permissions(db, city, as_user) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    r = admin.send("POST", URL, json=NEW)
    assert r.status_code == 201, r.text
    assert r.json()["key"] == "event:0203" and r.json()["major_code"] == "02"
    assert admin.send("POST", URL, json=NEW).status_code == 409
    changed = admin.send("PUT", f"{URL}/{r.json()['id']}", json={**NEW, "handle_days": 4})
    assert changed.status_code == 200 and changed.json()["handle_days"] == 4
    assert admin.send("PUT", f"{URL}/{r.json()['id']}", json={**NEW, "code": "0204"}).status_code == 422
    assert admin.send("POST", URL, json={**NEW, "code": "2"}).status_code == 422
    assert as_user("district_admin").send("POST", URL, json={**NEW, "code": "0205"}).status_code == 403
    assert as_user("outsider").get(URL).status_code == 403
    keys = [c["key"] for c in as_user("handler").get(URL).json()]
    assert keys == ["event:0101", "event:0203", "part:0101"]


def test_import_and_rules(db, city, as_user) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    doc = {
        "categories": [NEW, {**NEW, "code": "0101", "major_name": "市容环境", "name": "私搭乱建"}],
        "rules": [{"category": "event:0203", "area": "320102", "department_id": city["street"]}],
    }
    r = admin.send("POST", f"{URL}/import", json=doc)
    assert r.json() == {"categories_created": 1, "categories_updated": 1, "rules": 1}
    rules = admin.get("/api/v1/cityops/rules").json()
    assert {(x["category"], x["area"]) for x in rules} >= {("event:0203", "320102"), (SHED, "")}
    bad = admin.send(
        "PUT", "/api/v1/cityops/rules", json={"category": "event:9999", "department_id": city["street"]}
    )
    assert bad.status_code == 422
    assert as_user("clerk").send("PUT", "/api/v1/cityops/rules", json={"department_id": 1}).status_code == 403


def test_most_specific_rule_wins(db: Database, city) -> None:  # noqa: ANN001
    with db.connect() as conn:
        table = categories.build(conn)
    shed, manhole = table.category(SHED), table.category(MANHOLE)
    assert table.route(shed.id, xuanwu_code(0, 0)) == city["urban"]  # the city-wide rule
    assert table.route(manhole.id, xuanwu_code(0, 0)) == city["street"]  # the street's
    assert table.route(manhole.id, "320104001001001") is None  # 秦淮区: no rule

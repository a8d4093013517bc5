"""The catalogue: codes from the classification, sharing rules, versions, and who may catalogue what."""

from __future__ import annotations

import pytest

from tests import personas
from zhicheng.catalog import services
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.errors import Invalid

ME = Actor(kind="cli", name="tester")


def resource(**over) -> dict:  # noqa: ANN003
    body = {
        "name": "全市实有人口基础信息",
        "class_code": "101001",
        "provider_org_id": personas.WORLD.market,
        "summary": "全市实有人口的身份与居住信息",
        "format": "数据库",
        "share_type": "有条件共享",
        "share_condition": "仅用于政务服务身份核验",
        "share_mode": "api",
        "open_type": "不予开放",
        "update_cycle": "每日",
        "grade": "重要数据",
        "items": [
            {"name": "姓名", "data_type": "字符型", "sensitivity": "姓名"},
            {"name": "公民身份号码", "data_type": "字符型", "sensitivity": "证件号码"},
            {"name": "联系电话", "data_type": "字符型", "sensitivity": "电话号码", "share_type": "不予共享"},
        ],
    }
    body.update(over)
    return body


def test_class_codes_follow_the_guide(db) -> None:  # noqa: ANN001
    assert services.class_parent("1") == (1, None)
    assert services.class_parent("101") == (2, "1")
    assert services.class_parent("101001") == (3, "101")
    assert services.class_parent("10100102") == (4, "101001")
    for bad in ("10", "1010", "abc", ""):
        with pytest.raises(Invalid):
            services.class_parent(bad)


def test_labels_and_keys_both_accepted_and_stored_as_keys(classes) -> None:  # noqa: ANN001
    data = ResourceIn.model_validate(resource())
    assert (data.format, data.share_type, data.update_cycle, data.grade) == (
        "database",
        "conditional",
        "daily",
        "important",
    )
    assert [i.share_type for i in data.items] == ["conditional", "conditional", "none"]


@pytest.mark.parametrize(
    "over",
    [
        {"share_condition": ""},  # 有条件 without its condition
        {"share_type": "不予共享", "share_condition": None},  # 不予共享 without a basis
        {"format": "羊皮纸"},
        {"items": []},
        {"items": [{"name": "姓名"}, {"name": "姓名"}]},
        {
            "share_type": "none",
            "share_basis": "《个人信息保护法》",
            "items": [{"name": "x", "share_type": "无条件共享"}],
        },
    ],
)
def test_sharing_rules_refuse(over: dict) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ResourceIn.model_validate(resource(**over))


def test_codes_are_sequential_within_a_class(db, classes) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        a = services.create_resource(uow, ResourceIn.model_validate(resource()))
        b = services.create_resource(uow, ResourceIn.model_validate(resource(name="流动人口登记信息")))
        c = services.create_resource(
            uow, ResourceIn.model_validate(resource(name="企业登记信息", class_code="201001"))
        )
    assert (a.code, b.code, c.code) == ("101001/000001", "101001/000002", "201001/000001")


def test_versions_record_what_changed(db, classes, as_user) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    made = admin.send("POST", "/api/v1/catalog/resources", json=resource())
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    same = admin.send("PUT", f"/api/v1/catalog/resources/{rid}", json=resource())
    assert same.json()["version"] == 1  # nothing changed: no new version
    changed = resource(update_cycle="每周", items=resource()["items"][:2])
    r = admin.send("PUT", f"/api/v1/catalog/resources/{rid}", json=changed, params={"note": "调整更新周期"})
    assert r.json()["version"] == 2
    history = admin.get(f"/api/v1/catalog/resources/{rid}/versions").json()
    assert [v["version"] for v in history] == [2, 1]
    assert (
        set(history[0]["changed_fields"]) == {"update_cycle", "items"}
        and history[0]["note"] == "调整更新周期"
    )
    detail = admin.get(f"/api/v1/catalog/resources/{rid}").json()
    assert [i["name"] for i in detail["items"]] == ["姓名", "公民身份号码"]
    retired = admin.send("POST", f"/api/v1/catalog/resources/{rid}/retire", json={"reason": "职能调整"})
    assert retired.json()["status"] == "retired" and retired.json()["version"] == 3
    assert admin.send("PUT", f"/api/v1/catalog/resources/{rid}", json=resource()).status_code == 409


def test_who_may_catalogue(db, classes, as_user, as_system) -> None:  # noqa: ANN001
    body = resource()
    assert as_user("clerk").send("POST", "/api/v1/catalog/resources", json=body).status_code == 403
    assert as_user("district_admin").send("POST", "/api/v1/catalog/resources", json=body).status_code == 403
    own = resource(provider_org_id=personas.WORLD.district_dept, name="玄武区个体工商户信息")
    assert as_user("district_admin").send("POST", "/api/v1/catalog/resources", json=own).status_code == 201
    # reading is open to every holder of catalog.read, the exchange system included
    assert as_user("clerk").get("/api/v1/catalog/resources").status_code == 200
    assert as_system.get("/api/v1/catalog/resources").json()["items"][0]["name"] == "玄武区个体工商户信息"
    assert as_user("outsider").get("/api/v1/catalog/resources").status_code == 403


def test_filters_and_paging(db, classes, as_user) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")
    for n in range(5):
        admin.send("POST", "/api/v1/catalog/resources", json=resource(name=f"人口专题{n}"))
    admin.send(
        "POST",
        "/api/v1/catalog/resources",
        json=resource(name="企业登记信息", class_code="201001", grade="一般数据"),
    )
    first = admin.get("/api/v1/catalog/resources", params={"class_code": "1", "limit": 3}).json()
    rest = admin.get(
        "/api/v1/catalog/resources", params={"class_code": "1", "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert len(first["items"]) + len(rest["items"]) == 5 and rest["next_cursor"] is None
    general = admin.get("/api/v1/catalog/resources", params={"grade": "general"}).json()["items"]
    assert [r["name"] for r in general] == ["企业登记信息"]


def test_unknown_references_are_clear_errors(db, classes, as_user) -> None:  # noqa: ANN001
    admin = as_user("admin")
    r = admin.send("POST", "/api/v1/catalog/resources", json=resource(class_code="999999"))
    assert r.status_code == 404 and r.json()["messages"]["en"] == "class 999999 not found"
    r = admin.send("POST", "/api/v1/catalog/resources", json=resource(related_codes=["101001/999999"]))
    assert r.status_code == 422

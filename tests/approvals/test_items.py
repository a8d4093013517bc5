"""The service item catalog: items with their limits, materials and form, versions with history, the
approval-bureau mode (who really decides), permissions, and import/export as .xlsx."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from tests.approvals.conftest import URL, W, item_body
from zhicheng.approvals.models import ItemVersion, ServiceItem
from zhicheng.core.audit.models import AuditRecord


def test_create_read_and_bureau_mode(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    body = item_body(
        world, code="320100-XK-0100", name="建设工程规划许可证核发", deciding_org_id=world.planning
    )
    r = manager.send("POST", f"{URL}/items", json=body)
    assert r.status_code == 201, r.text
    item = r.json()
    # one seal: the bureau implements, the planning department really decides
    assert (item["org_name"], item["decided_by"], item["decided_by_org_id"]) == (
        "南京市行政审批局",
        "南京市规划和自然资源局",
        world.planning,
    )
    assert (item["kind"], item["kind_zh"], item["version"]) == ("license", "行政许可", 1)
    assert [m["code"] for m in item["materials"]] == ["form", "land", "fire", "drawings", "photo"]
    fire = item["materials"][2]
    assert (fire["rongque"], fire["core"], fire["formats"]) == (True, False, ["pdf"])
    listed = as_user("zhangsan").get(f"{URL}/items", params={"org_id": world.planning}).json()["items"]
    assert [i["code"] for i in listed] == ["320100-XK-0100"]
    own = as_user("zhangsan").get(f"{URL}/items", params={"kind": "行政确认"}).json()["items"]
    assert [i["code"] for i in own] == [world.simple_item]
    assert as_user("zhangsan").get(f"{URL}/items", params={"kind": "许可"}).status_code == 422
    assert manager.send("POST", f"{URL}/items", json=body).status_code == 409


def test_bad_items_are_refused(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    cases = [
        {"promised_days": 25},  # promised > statutory
        {"kind": "许可"},
        {"materials": [{"code": "a", "name": "甲", "core": True, "rongque": True}]},
        {"materials": [{"code": "a", "name": "甲", "formats": ["exe"]}]},
        {"materials": [{"code": "a", "name": "甲"}, {"code": "a", "name": "乙"}]},
        {"flow_code": "missing"},
        {"org_id": 999_999},
    ]
    for over in cases:
        r = manager.send("POST", f"{URL}/items", json=item_body(world, code="320100-XK-0200", **over))
        assert r.status_code in (404, 422), (over, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_versions_keep_history(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    body = item_body(world)
    body.pop("code")
    same = manager.send("PUT", f"{URL}/items/{world.joint_item}", json=body)
    assert same.json()["version"] == 1  # nothing changed: no version
    body.update(promised_days=12, fee="按建筑面积收取（已取消）", note="承诺时限压缩")
    r = manager.send("PUT", f"{URL}/items/{world.joint_item}", json=body)
    assert r.status_code == 200 and r.json()["version"] == 2
    history = manager.get(f"{URL}/items/{world.joint_item}/versions").json()
    assert [(v["version"], v["changed_fields"]) for v in history] == [
        (1, history[0]["changed_fields"]),
        (2, ["promised_days", "fee"]),
    ]
    assert history[1]["note"] == "承诺时限压缩" and history[0]["snapshot"]["promised_days"] == 15
    v1 = manager.get(f"{URL}/items/{world.joint_item}/versions/1").json()
    assert v1["snapshot"]["fee"] == "不收费"
    assert manager.get(f"{URL}/items/{world.joint_item}/versions/9").status_code == 404
    r = manager.send("POST", f"{URL}/items/{world.joint_item}/retire", json={"reason": "短"})
    assert r.status_code == 422
    r = manager.send(
        "POST", f"{URL}/items/{world.joint_item}/retire", json={"reason": "并入工程建设项目一件事办理"}
    )
    assert (r.json()["status"], r.json()["version"]) == ("retired", 3)
    assert manager.send("PUT", f"{URL}/items/{world.joint_item}", json=body).status_code == 409
    with db.read() as s:
        tags = s.scalars(
            select(AuditRecord.tag)
            .where(AuditRecord.subject == f"item:{world.joint_item}")
            .order_by(AuditRecord.id)
        ).all()
    assert tags == ["approvals:item:create", "approvals:item:update", "approvals:item:retire"]


def test_who_may_keep_items(db, world: W, as_user) -> None:  # noqa: ANN001
    body = item_body(world, code="320100-XK-0300")
    for who in ("clerk", "zhangsan", "window", "rv_fire", "outsider"):
        assert as_user(who).send("POST", f"{URL}/items", json=body).status_code == 403, who
    # an organization administrator of a district keeps its district's items, not the city's
    assert as_user("district_admin").send("POST", f"{URL}/items", json=body).status_code == 403
    assert as_user("cityadmin").send("POST", f"{URL}/items", json=body).status_code == 201
    assert as_user("outsider").get(f"{URL}/items").status_code == 403


def test_excel_round_trip(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    r = manager.get(f"{URL}/items.xlsx")
    assert r.status_code == 200 and r.content.startswith(b"PK")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["事项", "材料", "表单"]
    rows = list(book["事项"].iter_rows(values_only=True))
    assert rows[0][:4] == ("事项编码", "事项名称", "事项类型", "实施主体")
    joint = next(r for r in rows if r[0] == world.joint_item)
    assert (joint[2], joint[3], joint[4]) == ("行政许可", "南京市行政审批局", "南京市城乡建设委员会")
    materials = [r for r in book["材料"].iter_rows(values_only=True) if r[0] == world.joint_item]
    assert [(m[1], m[4], m[5]) for m in materials][:3] == [
        ("form", "是", "否"),
        ("land", "是", "否"),
        ("fire", "否", "是"),
    ]
    # change one item and add another in the workbook, then import it
    sheet = book["事项"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == world.simple_item:
            row[8].value = 7  # 承诺时限: the flow needs 5 + 2
    sheet.append(
        [
            "320100-GG-0500",
            "建筑业企业资质证书遗失补办",
            "公共服务",
            "南京市城乡建设委员会",
            None,
            "《建筑业企业资质管理规定》",
            "",
            20,
            10,
            "不收费",
            "资质证书",
            None,
            world.simple_flow,
        ]
    )
    book["材料"].append(["320100-GG-0500", "loss", "遗失声明", "是", "是", "否", "pdf、ofd", 5, None, None])
    book["表单"].append(["320100-GG-0500", "company", "企业名称", "text", "是", 100])
    buf = io.BytesIO()
    book.save(buf)
    files = {"file": ("items.xlsx", buf.getvalue(), "application/octet-stream")}
    dry = manager.send("POST", f"{URL}/items.xlsx", files=files, data={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["problems"] == []
    assert (dry.json()["created"], dry.json()["updated"]) == (["320100-GG-0500"], [world.simple_item])
    with db.read() as s:
        assert s.scalar(select(ServiceItem.id).where(ServiceItem.code == "320100-GG-0500")) is None
    done = manager.send("POST", f"{URL}/items.xlsx", files=files)
    assert done.status_code == 200, done.text
    assert done.json()["unchanged"] == [world.joint_item]
    new = manager.get(f"{URL}/items/320100-GG-0500").json()
    assert (new["kind"], new["materials"][0]["formats"], new["form"][0]["max_length"]) == (
        "public_service",
        ["pdf", "ofd"],
        100,
    )
    assert manager.get(f"{URL}/items/{world.simple_item}").json()["promised_days"] == 7
    with db.read() as s:
        simple_id = s.scalar(select(ServiceItem.id).where(ServiceItem.code == world.simple_item))
        assert s.scalar(
            select(ItemVersion.changed_fields).where(
                ItemVersion.item_id == simple_id, ItemVersion.version == 2
            )
        ) == ["promised_days"]


def test_excel_import_is_all_or_nothing(db, world: W, as_user) -> None:  # noqa: ANN001
    manager = as_user("manager")
    book = load_workbook(io.BytesIO(manager.get(f"{URL}/items.xlsx").content))
    book["事项"].append(
        [
            "320100-GG-0600",
            "某事项",
            "行政许可",
            "不存在的局",
            None,
            "依据",
            "",
            20,
            30,
            "",
            "",
            None,
            world.simple_flow,
        ]
    )
    book["材料"].append(["320100-NONE", "x", "材料", "是", "否", "否", "pdf", 5, None, None])
    buf = io.BytesIO()
    book.save(buf)
    r = manager.send(
        "POST", f"{URL}/items.xlsx", files={"file": ("x.xlsx", buf.getvalue(), "application/octet-stream")}
    )
    assert r.status_code == 422
    where = {(p["sheet"], p["row"]) for p in r.json()["problems"]}
    assert ("事项", 4) in where and ("材料", 8) in where
    assert manager.get(f"{URL}/items/320100-GG-0600").status_code == 404
    junk = manager.send(
        "POST", f"{URL}/items.xlsx", files={"file": ("x.xlsx", b"not a workbook", "text/plain")}
    )
    assert junk.status_code == 422
    assert (
        as_user("clerk")
        .send("POST", f"{URL}/items.xlsx", files={"file": ("x.xlsx", buf.getvalue())})
        .status_code
        == 403
    )

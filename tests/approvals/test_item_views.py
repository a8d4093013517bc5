"""The item and flow console (事项与流程): the catalog shows who really decides (approval-bureau mode), the
limits and versions; an item's page its versions with the changed fields and its flow drawn; the flows page
each flow with its versions and drawing. Staff and applicants read; item managers get the Excel links."""

from __future__ import annotations

import re

from tests.approvals.conftest import ME, W, item_body, joint_def
from zhicheng.approvals import flows, items
from zhicheng.approvals.schemas import FlowIn, ItemBody
from zhicheng.core.db import unit_of_work


def test_the_catalog_shows_who_really_decides(db, world: W, as_user) -> None:  # noqa: ANN001
    r = as_user("rv_fire").get("/approvals/items")
    assert r.status_code == 200
    html = r.text
    joint = re.search(rf'<tr data-item="{world.joint_item}">(.*?)</tr>', html, re.S).group(1)
    assert "由 南京市行政审批局 实施，南京市城乡建设委员会 审批" in joint
    assert "15 / 20" in joint and "v1" in joint and "行政许可" in joint
    simple = re.search(rf'<tr data-item="{world.simple_item}">(.*?)</tr>', html, re.S).group(1)
    assert "实施，" not in simple and "南京市城乡建设委员会" in simple
    assert 'href="/approvals/items"' in html  # the nav entry, for staff
    assert 'data-testid="excel"' not in html  # a reviewer does not keep items
    filtered = as_user("rv_fire").get("/approvals/items", params={"kind": "行政确认"}).text
    assert world.simple_item in filtered and world.joint_item not in filtered
    assert world.joint_item in as_user("rv_fire").get("/approvals/items", params={"q": "施工许可"}).text
    assert as_user("rv_fire").get("/approvals/items", params={"kind": "魔法"}).status_code == 422
    manager = as_user("manager").get("/approvals/items").text
    assert 'data-testid="excel"' in manager and 'href="/api/v1/approvals/items.xlsx"' in manager
    assert 'action="/api/v1/approvals/items.xlsx"' in manager
    assert as_user("manager").get("/api/v1/approvals/items.xlsx").status_code == 200  # the link works
    applicant = as_user("zhangsan").get("/approvals/items")
    assert applicant.status_code == 200 and 'href="/approvals/items"' not in applicant.text  # no staff nav
    assert as_user("outsider").get("/approvals/items").status_code == 403
    en = as_user("rv_fire").get("/approvals/items", params={"lang": "en"}).text
    assert "Implemented by 南京市行政审批局, decided by 南京市城乡建设委员会" in en


def test_an_item_page_shows_versions_and_the_drawn_flow(db, world: W, as_user) -> None:  # noqa: ANN001
    body = item_body(world, promised_days=12, deciding_org_id=world.planning, note="压缩承诺时限")
    body.pop("code")
    with unit_of_work(db, ME) as uow:
        items.update_item(uow, world.joint_item, ItemBody(**body))
    r = as_user("rv_planning").get(f"/approvals/items/{world.joint_item}")
    assert r.status_code == 200
    html = r.text
    assert "由 南京市行政审批局 实施，南京市规划和自然资源局 审批" in html
    v2 = re.search(r'<tr data-version="2">(.*?)</tr>', html, re.S).group(1)
    assert "压缩承诺时限" in v2
    assert re.search(
        r'data-field="promised_days">承诺时限：<span class="mono">15</span> → <span class="mono">12', v2
    )
    assert '南京市城乡建设委员会</span> → <span class="mono">南京市规划和自然资源局' in v2
    assert '<tr data-version="1">' in html
    drawing = html.split('data-testid="flow-drawing"')[1].split("</svg>")[0]
    for stage in ("accept", "joint", "decide", "deliver"):
        assert f'data-stage="{stage}"' in drawing
    for org in (world.housing, world.planning, world.fire, world.civil):
        assert f'data-org="{org}"' in drawing
    for name in ("南京市城乡建设委员会", "南京市规划和自然资源局", "南京市消防救援支队", "南京市人防办"):
        assert name in drawing
    assert "8 个工作日" in drawing and "南京市行政审批局" in drawing  # the window acts in accept/deliver
    assert "营业执照" not in html and "建筑工程施工许可申请表" in html  # the materials
    assert as_user("rv_fire").get("/approvals/items/NOPE-0000").status_code == 404
    assert as_user("outsider").get(f"/approvals/items/{world.joint_item}").status_code == 403


def test_the_flows_page_draws_each_flow_with_its_versions(db, world: W, as_user) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:  # a second version: three departments
        flows.publish(
            uow,
            FlowIn(
                code=world.joint_flow,
                name="建筑工程施工许可并联审批",
                owner_org_id=world.bureau,
                definition=joint_def([world.housing, world.planning, world.fire]),
                note="人防并入住建",
            ),
        )
    r = as_user("rv_civil").get("/approvals/flows")
    assert r.status_code == 200
    html = r.text
    section = re.search(rf'<section class="card" data-flow="{world.joint_flow}">(.*?)</section>', html, re.S)
    joint = section.group(1)
    assert "v2" in joint and f"/approvals/flows/{world.joint_flow}?version=1" in joint
    assert f'data-org="{world.fire}"' in joint and f'data-org="{world.civil}"' not in joint  # v2 drawn
    assert world.joint_item in joint  # the items on the flow
    assert f'data-flow="{world.simple_flow}"' in html
    v1 = as_user("rv_civil").get(f"/approvals/flows/{world.joint_flow}", params={"version": 1})
    assert v1.status_code == 200 and f'data-org="{world.civil}"' in v1.text
    assert '<tr data-version="2">' in v1.text and '<tr data-version="1" class="current">' in v1.text
    latest = as_user("rv_civil").get(f"/approvals/flows/{world.joint_flow}").text
    assert "人防并入住建" in latest and f'data-org="{world.civil}"' not in latest.split("</svg>")[0]
    assert as_user("rv_civil").get("/approvals/flows/nope").status_code == 404
    assert (
        as_user("rv_civil").get(f"/approvals/flows/{world.joint_flow}", params={"version": 9}).status_code
        == 404
    )
    assert as_user("outsider").get("/approvals/flows").status_code == 403

"""A one-stop service world: an approval bureau (行政审批局) that accepts at its window, four departments that
review a construction permit in parallel (住建, 规划, 消防, 人防), a supervisor, an item manager, and two
applicants (a citizen and an enterprise) who log in as users linked to their parties."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

import pytest

from tests import personas
from zhicheng.approvals import flows, items
from zhicheng.approvals.schemas import FlowIn, ItemIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.realname import DemoVerifier
from zhicheng.core.orgs.schemas import OrgIn, PartyIn

ME = Actor(kind="cli", name="tester")
URL = "/api/v1/approvals"
CITIZEN_ID = "320102199002024561"
CITIZEN2_ID = "320104198303159839"
ENTERPRISE_ID = "91320102MA1N2X3Y4H"
PDF = b"%PDF-1.4\n% test material\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass
class W:
    bureau: int
    housing: int
    planning: int
    fire: int
    civil: int
    citizen: int  # party ids
    enterprise: int
    joint_flow: str = "construction"
    simple_flow: str = "simple"
    joint_item: str = "320100-XK-0001"
    simple_item: str = "320100-QR-0002"


JOINT_DEF = {
    "stages": [
        {"id": "accept", "kind": "accept", "days": 1, "next": "joint"},
        {"id": "joint", "kind": "joint_review", "days": 8, "departments": [], "next": "decide"},
        {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
        {"id": "deliver", "kind": "deliver", "days": 5},
    ]
}


def joint_def(depts: list[int], **over: object) -> dict:
    d = {"stages": [dict(s) for s in JOINT_DEF["stages"]]}
    d["stages"][1]["departments"] = depts
    d["stages"][1].update(over)
    return d


def materials() -> list[dict]:
    return [
        {"code": "form", "name": "建筑工程施工许可申请表", "core": True, "formats": ["pdf"], "max_mb": 1},
        {"code": "land", "name": "用地批准手续", "core": True, "formats": ["pdf", "ofd"]},
        {"code": "fire", "name": "消防设计审查意见", "rongque": True, "formats": ["pdf"]},
        {"code": "drawings", "name": "施工图设计文件", "formats": ["pdf"]},
        {"code": "photo", "name": "现场照片", "required": False, "formats": ["jpg", "png"]},
    ]


def form_fields() -> list[dict]:
    return [
        {"key": "project", "label": "项目名称", "type": "text"},
        {"key": "investment", "label": "合同价格（万元）", "type": "number"},
        {"key": "phone", "label": "联系电话", "type": "phone"},
        {
            "key": "builder_code",
            "label": "施工单位统一社会信用代码",
            "type": "credit_code",
            "required": False,
        },
    ]


def item_body(w: W, **over: object) -> dict:
    body = {
        "code": w.joint_item,
        "name": "建筑工程施工许可证核发",
        "kind": "行政许可",
        "org_id": w.bureau,
        "deciding_org_id": w.housing,
        "legal_basis": "《中华人民共和国建筑法》第七条",
        "conditions": "已办理用地批准手续，有满足施工需要的施工图纸",
        "statutory_days": 20,
        "promised_days": 15,
        "fee": "不收费",
        "result_name": "建筑工程施工许可证",
        "certificate_type": "建筑工程施工许可证",
        "materials": materials(),
        "form": form_fields(),
        "flow_code": w.joint_flow,
    }
    body.update(over)
    return body


@pytest.fixture
def world(db: Database) -> W:
    return build_world(db)


def build_world(db: Database) -> W:
    p = personas.WORLD
    with unit_of_work(db, ME) as uow:

        def dept(name: str) -> int:
            return orgs.create_org(
                uow, OrgIn(name=name, kind="department", division_code="320100", parent_id=p.city)
            ).id

        bureau, housing = dept("南京市行政审批局"), dept("南京市城乡建设委员会")
        planning, fire, civil = (
            dept("南京市规划和自然资源局"),
            dept("南京市消防救援支队"),
            dept("南京市人防办"),
        )
        citizen = orgs.register_party(
            uow, PartyIn(kind="citizen", id_number=CITIZEN_ID, name="张三"), DemoVerifier()
        )
        ent = orgs.register_party(
            uow,
            PartyIn(kind="enterprise", id_number=ENTERPRISE_ID, name="南京建工集团有限公司"),
            DemoVerifier(),
        )
        people = [
            ("window", bureau, "approvals_window", None),
            ("rv_housing", housing, "approvals_reviewer", None),
            ("rv_planning", planning, "approvals_reviewer", None),
            ("rv_fire", fire, "approvals_reviewer", None),
            ("rv_civil", civil, "approvals_reviewer", None),
            ("rv_housing2", housing, "approvals_reviewer", None),
            ("decider", housing, "approvals_decider", None),
            ("supervisor", p.city, "approvals_supervisor", None),
            ("manager", p.city, "approvals_manager", None),
            ("zhangsan", p.city, "applicant", citizen.id),
            ("company", p.city, "applicant", ent.id),
        ]
        for username, org_id, role, party in people:
            user = auth.create_user(
                uow,
                UserIn(
                    username=username,
                    display_name=username,
                    password=personas.PASSWORD,
                    org_id=None if party else org_id,
                    party_id=party,
                ),
            )
            auth.grant_role(uow, user.id, GrantIn(role=role, org_id=org_id))
        w = W(bureau, housing, planning, fire, civil, citizen.id, ent.id)
        flows.publish(
            uow,
            FlowIn(
                code=w.joint_flow,
                name="建筑工程施工许可并联审批",
                owner_org_id=bureau,
                definition=joint_def([housing, planning, fire, civil]),
            ),
        )
        simple = {
            "stages": [
                {"id": "accept", "kind": "accept", "days": 1, "next": "review"},
                {"id": "review", "kind": "review", "days": 5, "next": "decide"},
                {"id": "decide", "kind": "decide", "days": 2},
            ]
        }
        flows.publish(
            uow, FlowIn(code=w.simple_flow, name="一般审批", owner_org_id=bureau, definition=simple)
        )
        items.create_item(uow, ItemIn(**item_body(w)))
        items.create_item(
            uow,
            ItemIn(
                **item_body(
                    w,
                    code=w.simple_item,
                    name="房屋建筑工程竣工验收备案",
                    kind="行政确认",
                    deciding_org_id=None,
                    org_id=housing,
                    statutory_days=10,
                    promised_days=8,
                    certificate_type=None,
                    flow_code=w.simple_flow,
                    materials=[{"code": "report", "name": "竣工验收报告", "core": True, "formats": ["pdf"]}],
                    form=[{"key": "project", "label": "项目名称"}],
                )
            ),
        )
    return w


def upload(client, data: bytes = PDF, name: str = "a.pdf") -> int:  # noqa: ANN001
    r = client.send(
        "POST", f"{URL}/uploads", files={"file": (name, io.BytesIO(data), "application/octet-stream")}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def full_materials(client, skip: tuple[str, ...] = ()) -> dict[str, int]:  # noqa: ANN001
    return {c: upload(client) for c in ("form", "land", "fire", "drawings") if c not in skip}


def good_form() -> dict:
    return {"project": "鼓楼区某住宅项目", "investment": "12000", "phone": "13812345678"}


def apply(client, w: W, skip: tuple[str, ...] = (), key: str | None = None, **over: object) -> dict:  # noqa: ANN001
    body = {"item_code": w.joint_item, "form": good_form(), "materials": full_materials(client, skip), **over}
    headers = {"Idempotency-Key": key or uuid.uuid4().hex}
    r = client.send("POST", f"{URL}/cases", json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)

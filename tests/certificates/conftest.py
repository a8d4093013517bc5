"""The certificates tests' world: two catalogue types (a food business licence held by enterprises, valid
five years; a teacher's qualification held by citizens, with no fixed term), a certificate officer at the
city's 市场监督管理局 (the issuer), and a citizen and an enterprise registered as parties, the citizen with
a console login bound to the party (the holder). The persona `clerk` (same department, no certificate
role) and `outsider` must be refused."""

from __future__ import annotations

import pytest
from tests import personas

import zhicheng.certificates.permissions  # noqa: F401 - the roles must carry certificates.* before the DB is built
from zhicheng.certificates import services
from zhicheng.certificates.schemas import FieldIn, TypeIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.realname import DemoVerifier
from zhicheng.core.orgs.schemas import PartyIn

ME = Actor(kind="cli", name="tester")
CITIZEN_ID = "320102199003071239"
ENTERPRISE_ID = "91320100MA1Y2K3L4N"
FOOD = "SPJYXK"
TEACHER = "JSZGZ"
FOOD_CONTENT = {
    "经营场所": "南京市玄武区中山路 1 号",
    "主体业态": "餐饮服务经营者",
    "经营项目": ["热食类食品制售"],
}


@pytest.fixture
def world(db: Database) -> dict:
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        services.define_type(
            uow,
            TypeIn(
                code=FOOD,
                name="食品经营许可证",
                holder_kind="enterprise",
                validity_years=5,
                fields=[
                    FieldIn(key="经营场所"),
                    FieldIn(key="主体业态"),
                    FieldIn(key="经营项目", required=False),
                ],
            ),
        )
        services.define_type(
            uow,
            TypeIn(code=TEACHER, name="教师资格证", holder_kind="citizen", fields=[FieldIn(key="资格种类")]),
        )
        officer = auth.create_user(
            uow,
            UserIn(username="officer", display_name="周证照", password=personas.PASSWORD, org_id=w.market),
        )
        auth.grant_role(uow, officer.id, GrantIn(role="certificate_officer", org_id=w.market))
        citizen = orgs.register_party(
            uow,
            PartyIn(kind="citizen", id_number=CITIZEN_ID, name="张三", phone="13812345678"),
            DemoVerifier(),
        )
        company = orgs.register_party(
            uow,
            PartyIn(kind="enterprise", id_number=ENTERPRISE_ID, name="南京好味餐饮有限公司"),
            DemoVerifier(),
        )
        holder = auth.create_user(
            uow,
            UserIn(username="zhangsan", display_name="张三", password=personas.PASSWORD, party_id=citizen.id),
        )
        # a console login needs some role; the citizen portal's own role comes with the approvals module
        auth.grant_role(uow, holder.id, GrantIn(role="clerk", org_id=w.other_district))
    return {"citizen": citizen.id, "company": company.id, "holder_user": holder.id}


def issue(db: Database, kind: str = "teacher", **over):  # noqa: ANN003, ANN201
    w = personas.WORLD
    if kind == "teacher":
        args = {
            "type_code": TEACHER,
            "holder_name": "张三",
            "holder_id": CITIZEN_ID,
            "content": {"资格种类": "高级中学教师资格"},
        }
    else:
        args = {
            "type_code": FOOD,
            "holder_name": "南京好味餐饮有限公司",
            "holder_id": ENTERPRISE_ID,
            "content": FOOD_CONTENT,
        }
    args = {"issuer_org_id": w.market, **args, **over}
    with unit_of_work(db, ME) as uow:
        return services.issue(uow, **args)

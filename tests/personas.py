"""The people every test speaks as. Built once per test database and committed.

- admin: 系统管理员 over the whole province
- cityadmin: 机构管理员 of the city government's subtree
- auditor: 审计员 over the city
- clerk: 业务经办人 at the city's 市场监督管理局
- district_admin: 机构管理员 of one district only (must be refused outside it)
- outsider: a user with no role at all (must be refused everywhere but the login page)
- system: an API token of the 市数据资源局's exchange system (role clerk)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import ApiToken
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn

PASSWORD = "Test-pass-2026"
SYSTEM_TOKEN = "zc_0123456789abcdef_persona-system-secret-value-000000000000"
BUILDER = Actor(kind="cli", name="test-setup")


@dataclass(frozen=True)
class World:
    province: int
    city: int
    market: int
    data_bureau: int
    district: int
    other_district: int
    district_dept: int


WORLD: World | None = None


def build(db: Database) -> World:
    global WORLD
    with unit_of_work(db, BUILDER) as uow:
        for code, name, parent in [
            ("320000", "江苏省", None),
            ("320100", "南京市", "320000"),
            ("320102", "玄武区", "320100"),
            ("320104", "秦淮区", "320100"),
            ("320102002", "梅园新村街道", "320102"),
        ]:
            orgs.create_division(uow, DivisionIn(code=code, name=name, parent_code=parent))
        province = orgs.create_org(
            uow, OrgIn(name="江苏省人民政府", kind="government", division_code="320000")
        )
        city = orgs.create_org(
            uow,
            OrgIn(name="南京市人民政府", kind="government", division_code="320100", parent_id=province.id),
        )
        market = orgs.create_org(
            uow,
            OrgIn(name="南京市市场监督管理局", kind="department", division_code="320100", parent_id=city.id),
        )
        data = orgs.create_org(
            uow, OrgIn(name="南京市数据局", kind="department", division_code="320100", parent_id=city.id)
        )
        district = orgs.create_org(
            uow, OrgIn(name="玄武区人民政府", kind="government", division_code="320102", parent_id=city.id)
        )
        other = orgs.create_org(
            uow, OrgIn(name="秦淮区人民政府", kind="government", division_code="320104", parent_id=city.id)
        )
        ddept = orgs.create_org(
            uow,
            OrgIn(
                name="玄武区市场监督管理局",
                kind="department",
                division_code="320102",
                parent_id=district.id,
                line_parent_id=market.id,
            ),
        )
        people = [
            ("admin", "王管理", province.id, "admin"),
            ("cityadmin", "李市管", city.id, "org_admin"),
            ("auditor", "赵审计", city.id, "auditor"),
            ("clerk", "陈经办", market.id, "clerk"),
            ("district_admin", "周区管", district.id, "org_admin"),
            ("outsider", "吴路人", None, None),
        ]
        for username, name, org_id, role in people:
            user = auth.create_user(
                uow, UserIn(username=username, display_name=name, password=PASSWORD, org_id=org_id)
            )
            if role:
                auth.grant_role(uow, user.id, GrantIn(role=role, org_id=org_id))
        token, _ = auth.create_token(uow, TokenIn(name="数据共享交换系统", org_id=data.id, roles=["clerk"]))
        # a known secret, so tests can carry it as a constant
        _, key, secret = SYSTEM_TOKEN.split("_", 2)
        token.key, token.secret_hash = key, keyed_digest(uow.secret, secret)
        WORLD = World(province.id, city.id, market.id, data.id, district.id, other.id, ddept.id)
    return WORLD


def world(db: Database) -> World:
    """The world of the database `db` points at (ids are the same in every test database)."""
    if WORLD is not None:
        return WORLD
    with db.read() as s:
        assert s.scalar(select(ApiToken.id)) is not None
    raise RuntimeError("personas.build has not run")

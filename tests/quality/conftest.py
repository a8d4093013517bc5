"""The quality tests' world: resources of 南京市数据局 (the provider) with a daily, a monthly and an irregular
update cycle, a weekly one of 市场监管局 (for the consumer system's token), a provider clerk at 数据局 and a
data authority over the city. The persona `clerk` (市场监管局) is the consumer of 数据局's resources."""

from __future__ import annotations

import datetime as dt

import pytest

import zhicheng.quality.permissions  # noqa: F401 - the roles must carry every permission before the DB is built
from tests import personas
from zhicheng.catalog import services as catalog
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.exchange import services as exchange
from zhicheng.quality import services
from zhicheng.quality.schemas import CorrectionIn

ME = Actor(kind="cli", name="tester")
NATIONAL_DAY_EVE = dt.date(2026, 9, 30)  # 10-01..10-07 are holidays; 10-10 (Saturday) is a workday
URL = "/api/v1/quality"
ITEMS = [
    {"name": "统一社会信用代码", "data_type": "字符型"},
    {"name": "企业名称", "data_type": "字符型"},
    {"name": "法定代表人", "data_type": "字符型", "sensitivity": "姓名"},
    {"name": "注册资本", "data_type": "数值型"},
]


def body(name: str, cycle: str, provider: int, **over: object) -> ResourceIn:
    data = {
        "name": name,
        "class_code": "101001",
        "provider_org_id": provider,
        "format": "数据库",
        "update_cycle": cycle,
        "share_type": "无条件共享",
        "items": ITEMS,
    }
    return ResourceIn.model_validate({**data, **over})


@pytest.fixture
def world(db: Database) -> dict:
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, name in [("1", "基础信息资源"), ("101", "法人基础信息"), ("101001", "企业登记")]:
            catalog.create_class(uow, ClassIn(code=code, name=name))
        daily = catalog.create_resource(uow, body("企业登记基础信息", "每日", w.data_bureau))
        monthly = catalog.create_resource(uow, body("企业年报信息", "每月", w.data_bureau))
        irregular = catalog.create_resource(uow, body("企业荣誉信息", "不定期", w.data_bureau))
        weekly = catalog.create_resource(uow, body("食品经营许可信息", "每周", w.market))
        for username, name, org, role, scope in [
            ("provider", "钱编目", w.data_bureau, "catalog_clerk", w.data_bureau),
            ("authority", "孙审核", w.data_bureau, "data_authority", w.city),
        ]:
            user = auth.create_user(
                uow, UserIn(username=username, display_name=name, password=personas.PASSWORD, org_id=org)
            )
            auth.grant_role(uow, user.id, GrantIn(role=role, org_id=scope))
    return {"daily": daily.id, "monthly": monthly.id, "irregular": irregular.id, "weekly": weekly.id}


ROWS = [
    {
        "统一社会信用代码": f"9132010{i:011d}",
        "企业名称": f"南京企业{i}",
        "法定代表人": name,
        "注册资本": capital,
    }
    for i, (name, capital) in enumerate(
        [
            ("张三", 100),
            (None, 200),
            ("李四", None),
            ("王五", 50),
            (None, None),
            ("赵六", 10),
            ("", 30),
            ("钱七", 5),
        ]
    )
]


def host(db: Database, resource_id: int, rows: list[dict] = ROWS) -> int:
    """Host the resource's data with `rows` loaded now; returns the dataset id."""
    with unit_of_work(db, ME) as uow:
        ds = exchange.host(uow, resource_id, key_item="统一社会信用代码")
        exchange.load_rows(uow, ds.id, rows, mode="full", source="upload", fmt="csv", filename="t.csv")
        return ds.id


def reload(db: Database, dataset_id: int, rows: list[dict] = ROWS) -> None:
    with unit_of_work(db, ME) as uow:
        exchange.load_rows(uow, dataset_id, rows, mode="full", source="upload", fmt="csv", filename="t.csv")


def report(db: Database, resource_id: int, on: dt.date = NATIONAL_DAY_EVE, **over: object) -> int:
    data = {
        "resource_id": resource_id,
        "item": "企业名称",
        "record_key": "913201000000000001",
        "problem": "企业已更名，名称未同步",
        "suggested": "南京新名称有限公司",
        **over,
    }
    with unit_of_work(db, ME) as uow:
        return services.report(uow, CorrectionIn.model_validate(data), personas.WORLD.market, today=on).id

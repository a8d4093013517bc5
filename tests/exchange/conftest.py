"""A provider (市场监管局) with a hosted people resource, and the consumer system (市数据局's token) granted
part of it: the world the exchange tests call into."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from stdnum.cn import ric

from tests import personas
from zhicheng.catalog import services as catalog
from zhicheng.catalog.models import CatalogClass, Resource
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.exchange import calls, ratelimit, services
from zhicheng.sharing import services as sharing
from zhicheng.sharing.models import SharingGrant
from zhicheng.sharing.schemas import RequestIn

ME = Actor(kind="cli", name="tester")
ITEMS = [
    {"name": "姓名", "data_type": "字符型", "sensitivity": "姓名"},
    {"name": "公民身份号码", "data_type": "字符型", "sensitivity": "证件号码"},
    {"name": "联系电话", "data_type": "字符型", "sensitivity": "电话号码"},
    {"name": "现住址", "data_type": "字符型", "sensitivity": "地址"},
    {"name": "出生日期", "data_type": "日期型"},
    {"name": "所属区县", "data_type": "字符型"},
    {"name": "家庭人口", "data_type": "整数型"},
    {"name": "内部备注", "data_type": "字符型", "share_type": "不予共享"},
]
GRANTED = ["姓名", "公民身份号码", "联系电话", "现住址", "出生日期", "所属区县", "家庭人口"]
DISTRICTS = ["玄武区", "秦淮区", "鼓楼区"]


def person_id(n: int) -> str:
    body = f"320102{1980 + n % 30}{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body)


def people(n: int = 30) -> list[dict]:
    return [
        {
            "姓名": "张王李赵刘"[i % 5] + "小明",
            "公民身份号码": person_id(i),
            "联系电话": f"138{i:08d}",
            "现住址": f"南京市{DISTRICTS[i % 3]}中山路{i + 1}号",
            "出生日期": f"{1980 + i % 30}-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}",
            "所属区县": DISTRICTS[i % 3],
            "家庭人口": (i % 5) + 1 if i % 7 else None,
            "内部备注": "内部",
        }
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    calls._plans.clear()
    ratelimit.reset()
    yield
    ratelimit.reset()


def make_resource(
    db: Database,
    name: str = "全市实有人口基础信息",
    share_type: str = "有条件共享",
    open_type: str = "不予开放",
) -> int:
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, cname in [("1", "基础信息资源"), ("102", "人口基础信息"), ("102001", "实有人口")]:
            if not uow.session.get(CatalogClass, code):
                catalog.create_class(uow, ClassIn(code=code, name=cname))
        res = catalog.create_resource(
            uow,
            ResourceIn(
                name=name,
                class_code="102001",
                provider_org_id=w.market,
                format="数据库",
                update_cycle="每日",
                share_type=share_type,
                share_condition="仅限本部门履职使用" if share_type == "有条件共享" else None,
                share_basis="《政务数据共享管理办法》",
                open_type=open_type,
                items=ITEMS,
            ),
        )
        return res.id


def grant(db: Database, resource_id: int, items: list[str] = GRANTED, **extra: object) -> int:
    today = shanghai_today()
    with unit_of_work(db, ME) as uow:
        req = sharing.submit(
            uow,
            RequestIn(
                resource_id=resource_id,
                purpose="人口信息核验",
                scenario="一网通办申请人身份核验",
                system_name="南京市数据共享交换系统",
                items=items,
                valid_from=today,
                valid_until=today + dt.timedelta(days=365),
            ),
            personas.WORLD.data_bureau,
        )
        sharing.review(uow, req.id, True, "")
        if req.status == "awaiting_provider":
            sharing.decide(uow, req.id, True, "同意")
        g = uow.session.query(SharingGrant).filter_by(request_id=req.id).one()
        for k, v in extra.items():
            setattr(g, k, v)
        if extra:
            uow.record("sharing:grant:adjust", f"grant:{g.id}", {k: str(v) for k, v in extra.items()})
        return g.id


@pytest.fixture
def hosted(db: Database) -> dict:
    """The people resource hosted with 30 rows, and the consumer's grant of everything but 内部备注."""
    rid = make_resource(db)
    with unit_of_work(db, ME) as uow:
        ds = services.host(uow, rid, key_item="公民身份号码")
        code = uow.session.get(Resource, rid).code
        services.load_rows(uow, ds.id, people(), mode="full", source="upload", fmt="csv", filename="p.csv")
    gid = grant(db, rid)
    return {"resource_id": rid, "code": code, "dataset_id": ds.id, "grant_id": gid}

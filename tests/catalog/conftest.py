"""What the catalog's tests share: a small classification to catalogue under."""

from __future__ import annotations

import pytest

from zhicheng.catalog import services
from zhicheng.catalog.schemas import ClassIn
from zhicheng.core.db import Actor, unit_of_work

CLASSES = [
    ("1", "基础信息资源"),
    ("101", "人口基础信息"),
    ("101001", "户籍人口"),
    ("2", "主题信息资源"),
    ("201", "市场监管"),
    ("201001", "企业登记"),
]


@pytest.fixture
def classes(db) -> None:  # noqa: ANN001
    with unit_of_work(db, Actor(kind="cli", name="tester")) as uow:
        for code, name in CLASSES:
            services.create_class(uow, ClassIn(code=code, name=name))


@pytest.fixture(scope="session")
def catalog_site(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A live server (uvicorn on a free port) over a database of its own with a small committed catalog, for
    the standard interfaces (CKAN API, DCAT) that real clients call over HTTP. Returns a namespace: `url`,
    API keys (`clerk_key` reads the catalog, `outsider_key` holds no catalog.read, `revoked_key`), resource
    ids and codes by name, the providers' ids and CKAN names, and `cut`: a moment after which only
    企业登记信息 changed."""
    import socket
    import threading
    import time
    from types import SimpleNamespace

    import uvicorn

    from tests import personas
    from tests.conftest import _new_database
    from zhicheng.app import create_app
    from zhicheng.catalog import queries as catalog_queries
    from zhicheng.catalog.schemas import ResourceIn
    from zhicheng.core.auth import services as auth
    from zhicheng.core.auth.schemas import TokenIn
    from zhicheng.core.db import Database, utcnow
    from zhicheng.core.migrate import upgrade
    from zhicheng.core.orgs import services as org_services
    from zhicheng.core.orgs.schemas import OrgIn
    from zhicheng.demo.codes import ORGAN, credit_code
    from zhicheng.settings import Settings

    url, drop = _new_database(str(tmp_path_factory.mktemp("catalog-site")))
    db = Database(url)
    upgrade(db)
    world = personas.build(db)
    actor = Actor(kind="cli", name="catalog-site")
    stats_credit = credit_code(ORGAN, "320100", "南京市统计局")
    # name | class | provider | open type | share type | keywords | cycle | format | grade
    # (U/C/N: 无条件, 有条件, 不予)
    table = """
        全市实有人口基础信息 | 101001 | data | N | C | 人口 基础信息 | daily | database | important
        流动人口统计信息 | 101001 | stats | U | U | 人口 统计 | monthly | spreadsheet | general
        人口出生统计信息 | 101001 | stats | C | U | 人口 统计 | yearly | spreadsheet | general
        企业登记信息 | 201001 | market | U | U | 企业 登记 | daily | database | general
        企业经营异常名录信息 | 201001 | market | C | C | 企业 信用 | quarterly | database | general
        食品生产许可信息 | 201001 | market | N | N | 许可 | irregular | document | core
        个体工商户登记信息 | 201001 | district | U | U | 个体工商户 登记 | realtime | interface | general
        旧版企业年报信息 | 201001 | market | U | U | 企业 | yearly | spreadsheet | general
    """
    batches = [
        f"公共服务设施信息（第{n}批） | 201 | data | U | U | 公共服务 | weekly | spreadsheet | general"
        for n in range(1, 13)
    ]
    lines = [*table.strip().splitlines(), *batches]
    specs = [[cell.strip() for cell in line.split("|")] for line in lines]
    kinds = {"U": "unconditional", "C": "conditional", "N": "none"}
    ids: dict[str, int] = {}
    codes: dict[str, str] = {}
    with unit_of_work(db, actor) as uow:
        for code, name in CLASSES:
            services.create_class(uow, ClassIn(code=code, name=name))
        stats = org_services.create_org(
            uow,
            OrgIn(
                name="南京市统计局",
                kind="department",
                division_code="320100",
                parent_id=world.city,
                credit_code=stats_credit,
            ),
        )
        providers = {
            "data": world.data_bureau,
            "stats": stats.id,
            "market": world.market,
            "district": world.district_dept,
        }
        for name, klass, who, opened, shared, words, cycle, fmt, grade in specs:
            open_type, share = kinds[opened], kinds[shared]
            body = {
                "name": name,
                "class_code": klass,
                "provider_org_id": providers[who],
                "summary": f"{name}，供跨部门共享使用。",
                "format": fmt,
                "share_type": share,
                "share_condition": "用于本部门法定职责" if share == "conditional" else None,
                "share_basis": "《中华人民共和国食品安全法》" if share == "none" else None,
                "open_type": open_type,
                "update_cycle": cycle,
                "grade": grade,
                "published_on": "2024-03-01",
                "keywords": words.split(),
                "related_codes": [codes["全市实有人口基础信息"]] if name == "流动人口统计信息" else [],
                "items": [
                    {"name": "统计日期", "data_type": "date"},
                    {"name": "数量", "data_type": "integer"},
                ],
            }
            res = services.create_resource(uow, ResourceIn.model_validate(body))
            ids[name], codes[name] = res.id, res.code
        services.retire_resource(uow, ids["旧版企业年报信息"], "已由新版企业年报信息替代")
        _, clerk_key = auth.create_token(
            uow, TokenIn(name="目录采集系统", org_id=world.market, roles=["clerk"])
        )
        _, outsider_key = auth.create_token(
            uow, TokenIn(name="日历同步", org_id=world.market, roles=["calendar_keeper"])
        )
        revoked, revoked_key = auth.create_token(
            uow, TokenIn(name="旧系统", org_id=world.market, roles=["clerk"])
        )
        auth.revoke_token(uow, revoked.id)
    time.sleep(0.01)
    cut = utcnow()
    time.sleep(0.01)
    with unit_of_work(db, actor) as uow:
        current = catalog_queries.resource(uow.session, ids["企业登记信息"])
        body = ResourceIn.model_validate(
            {
                **{c: getattr(current, c) for c in ResourceIn.model_fields if c != "items"},
                "summary": "企业登记信息（含注销企业）。",
                "items": [
                    {"name": "统计日期", "data_type": "date"},
                    {"name": "数量", "data_type": "integer"},
                ],
            }
        )
        services.update_resource(uow, current.id, body, note="补充注销企业")
    db.dispose()

    app = create_app(Settings(env="test", database_url=url, embedded_worker=False))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # waiting for readiness, not asserting anything about time
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        clerk_key=clerk_key,
        outsider_key=outsider_key,
        revoked_key=revoked_key,
        ids=ids,
        codes=codes,
        world=world,
        orgs={
            "stats": stats.id,
            "market": world.market,
            "data": world.data_bureau,
            "district": world.district_dept,
        },
        org_names={
            "stats": stats_credit.lower(),
            "market": f"org-{world.market}",
            "data": f"org-{world.data_bureau}",
        },
        cut=cut,
        open_count=sum(1 for s in specs if s[3] != "N") - 1,  # the retired one is not listed
        published_count=len(specs) - 1,
    )
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    app.state.db.dispose()
    drop()

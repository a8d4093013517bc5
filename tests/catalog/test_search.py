"""Catalog search: Chinese words, ranking, facets, filters, an index that follows every change, hostile
queries and who may search."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests import personas
from zhicheng.app import create_app
from zhicheng.catalog import search, search_api, services
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.core.db import Actor, unit_of_work

ME = Actor(kind="cli", name="tester")
URL = "/api/v1/catalog/search"


@pytest.fixture
def app(settings, db):  # noqa: ANN001, ANN201
    """The app with the search routes, until app.py includes them itself."""
    made = create_app(settings, db=db)
    if not any(getattr(r, "path", None) == URL for r in made.routes):
        made.include_router(search_api.router)
    return made


def body(**over) -> dict:  # noqa: ANN003
    data = {
        "name": "全市实有人口基础信息",
        "class_code": "101001",
        "provider_org_id": personas.WORLD.market,
        "summary": "全市实有人口的身份与居住信息",
        "format": "数据库",
        "share_type": "无条件共享",
        "update_cycle": "每日",
        "grade": "一般数据",
        "items": [
            {"name": "姓名", "sensitivity": "姓名"},
            {"name": "公民身份号码", "sensitivity": "证件号码"},
        ],
    }
    data.update(over)
    return data


def add(db, **over) -> int:  # noqa: ANN001, ANN003
    with unit_of_work(db, ME) as uow:
        return services.create_resource(uow, ResourceIn.model_validate(body(**over))).id


@pytest.fixture
def catalog(db, classes) -> dict[str, int]:  # noqa: ANN001
    """Six resources: two about 人口 (one only in its summary), two enterprise ones, one retired."""
    ids = {
        "people": add(db),
        "floating": add(
            db,
            name="流动人口登记信息",
            summary="来宁流动人员的居住登记",
            format="电子表格",
            update_cycle="每月",
            keywords=["居住证"],
        ),
        "housing": add(
            db,
            name="保障性住房资格信息",
            summary="申请家庭的人口与收入核定结果",
            format="电子表格",
            update_cycle="每月",
            provider_org_id=personas.WORLD.district_dept,
        ),
        "enterprise": add(
            db,
            name="企业登记信息",
            class_code="201001",
            summary="市场主体设立、变更、注销登记",
            share_type="有条件共享",
            share_condition="仅用于市场监管协同",
            grade="重要数据",
            items=[{"name": "统一社会信用代码"}, {"name": "法定代表人", "sensitivity": "姓名"}],
        ),
        "license": add(db, name="个体工商户营业执照信息", class_code="201001", summary="个体工商户的执照"),
        "old": add(db, name="人口普查旧表", summary="已停止更新"),
    }
    with unit_of_work(db, ME) as uow:
        services.retire_resource(uow, ids["old"], "数据迁移")
    return ids


def names(result: search.SearchResult) -> list[str]:
    return [r.name for r in result.hits]


def test_two_character_words_find_longer_names(db, catalog) -> None:  # noqa: ANN001
    with db.read() as s:
        assert "全市实有人口基础信息" in names(search.search(s, "人口", {}))
        # the license is in the class 企业登记 too, so it comes after the resource named so
        assert names(search.search(s, "企业 登记", {})) == ["企业登记信息", "个体工商户营业执照信息"]
        assert names(search.search(s, "企业登记", {}))[0] == "企业登记信息"
        # a phrase the document splits differently (个体 工商户) is still found through its parts
        assert names(search.search(s, "个体工商户", {})) == ["个体工商户营业执照信息"]
        assert names(search.search(s, "居住证", {}))[0] == "流动人口登记信息"  # a keyword
        assert names(search.search(s, "统一社会信用代码", {})) == ["企业登记信息"]  # an item name
        assert names(search.search(s, "户籍人口", {}))  # a class name
        assert search.search(s, "气象", {}).total == 0


def test_name_matches_rank_above_summary_matches(db, catalog) -> None:  # noqa: ANN001
    with db.read() as s:
        found = search.search(s, "人口", {})
    assert names(found)[-1] == "保障性住房资格信息"  # 人口 only in its summary
    assert set(names(found)[:2]) == {"全市实有人口基础信息", "流动人口登记信息"}
    assert found.hits[0].rank >= found.hits[1].rank > found.hits[2].rank > 0


def test_facets_count_the_whole_match_set(db, catalog) -> None:  # noqa: ANN001
    with db.read() as s:
        found = search.search(s, "人口", {}, limit=1)
        everything = search.search(s, "", {}, limit=2)
    assert found.total == 3 and len(found.hits) == 1  # a page of one, facets over all three
    assert dict(found.facets["format"]) == {"spreadsheet": 2, "database": 1}
    assert dict(found.facets["update_cycle"]) == {"monthly": 2, "daily": 1}
    assert dict(found.facets["provider_org_id"]) == {
        str(personas.WORLD.market): 2,
        str(personas.WORLD.district_dept): 1,
    }
    assert found.facets["format"][0] == ("spreadsheet", 2)  # most frequent first
    assert everything.total == 5 and len(everything.hits) == 2  # the retired one is not browsed
    assert dict(everything.facets["class"]) == {"1": 3, "2": 2}
    assert dict(everything.facets["share_type"]) == {"unconditional": 4, "conditional": 1}


def test_filters_combine_with_words(db, catalog) -> None:  # noqa: ANN001
    with db.read() as s:
        assert names(search.search(s, "人口", {"format": "database"})) == ["全市实有人口基础信息"]
        assert names(search.search(s, "人口", {"provider_org_id": personas.WORLD.district_dept})) == [
            "保障性住房资格信息"
        ]
        assert names(search.search(s, "信息", {"class_code": "2", "grade": "important"})) == ["企业登记信息"]
        assert search.search(s, "人口", {"class_code": "201"}).total == 0
        # retired resources are found only when asked for
        assert names(search.search(s, "普查", {})) == []
        assert names(search.search(s, "普查", {"status": "retired"})) == ["人口普查旧表"]


def test_the_index_follows_every_change(db, catalog) -> None:  # noqa: ANN001
    with db.read() as s:  # answers are cached: none may outlive the change
        assert "全市实有人口基础信息" in names(search.search(s, "实有", {}))
        assert search.search(s, "市场主体", {}).total == 1
    with unit_of_work(db, ME) as uow:
        services.update_resource(
            uow, catalog["people"], ResourceIn.model_validate(body(name="常住居民基本信息")), "改名"
        )
    with db.read() as s:
        assert "全市实有人口基础信息" not in names(search.search(s, "实有", {}))
        assert names(search.search(s, "常住 居民", {})) == ["常住居民基本信息"]
        # still found by its summary, now ranked as a summary match
        assert "常住居民基本信息" in names(search.search(s, "人口", {}))
    with unit_of_work(db, ME) as uow:
        services.retire_resource(uow, catalog["enterprise"], "职能调整")
    with db.read() as s:
        assert search.search(s, "市场主体", {}).total == 0


def test_reindex_rebuilds_what_is_missing(db, catalog) -> None:  # noqa: ANN001
    table = "catalog_fts" if db.dialect == "sqlite" else "catalog_search"
    with db.sessions() as s:
        s.execute(text(f"DELETE FROM {table}"))
        s.commit()
    with db.read() as s:
        assert search.search(s, "人口", {}).total == 0
    assert search.reindex_all(db) == 6
    with db.read() as s:
        assert search.search(s, "人口", {}).total == 3


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "*",
        "NEAR(",
        "人口 OR 企业",
        "-人口",
        ")",
        "人口*",
        'name:"x"',
        "a AND (b",
        "'; DROP TABLE x; --",
        "^",
        "\\",
    ],
)
def test_hostile_queries_never_break(db, catalog, as_user, q: str) -> None:  # noqa: ANN001
    r = as_user("clerk").get(URL, params={"q": q})
    assert r.status_code == 200, r.text
    found = r.json()
    if q in ("-人口", "人口*"):
        assert found["terms"] == ["人口"] and found["total"] == 3  # operators are just dropped
    if "OR" in q:  # a word like any other, not the operator: no resource has all three words
        assert found["terms"] == ["人口", "OR", "企业"] and found["total"] == 0


def test_api_search_with_facets_and_labels(db, catalog, as_user) -> None:  # noqa: ANN001
    r = as_user("clerk").get(URL, params={"q": "人口", "format": "电子表格", "limit": 1})
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["total"] == 2 and len(found["items"]) == 1 and found["items"][0]["rank"] > 0
    assert found["items"][0]["name"] == "流动人口登记信息" and found["items"][0]["code"] == "101001/000002"
    assert {"value": "spreadsheet", "label": "电子表格", "count": 2} in found["facets"]["format"]
    assert found["facets"]["class"] == [{"value": "1", "label": "基础信息资源", "count": 2}]
    providers = {f["label"] for f in found["facets"]["provider_org_id"]}
    assert len(providers) == 2 and all(providers)
    assert as_user("clerk").get(URL).json()["total"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"offset": 10_001},
        {"grade": "绝密"},
        {"class_code": "1%"},
    ],
)
def test_api_refuses_bad_paging_and_filters(db, catalog, as_user, params: dict) -> None:  # noqa: ANN001
    r = as_user("clerk").get(URL, params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_who_may_search(db, catalog, as_user, as_system, client) -> None:  # noqa: ANN001
    assert as_user("outsider").get(URL, params={"q": "人口"}).status_code == 403
    assert client.get(URL, params={"q": "人口"}).status_code == 401
    assert as_system.get(URL, params={"q": "人口"}).json()["total"] == 3
    assert as_user("auditor").get(URL).status_code == 200


def test_the_migration_indexes_resources_catalogued_before_it(fresh_url: str) -> None:
    from alembic import command
    from sqlalchemy import insert

    from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem
    from zhicheng.core.db import Database, utcnow
    from zhicheng.core.migrate import alembic_config

    command.downgrade(alembic_config(fresh_url), "0002")
    db = Database(fresh_url)
    try:
        now = utcnow()
        with db.engine.begin() as c:  # a catalog written before search existed
            c.execute(insert(CatalogClass), [{"code": "1", "name": "基础信息资源", "level": 1}])
            row = body(name="全市实有人口基础信息", class_code="1", related_codes=[], keywords=["户籍"])
            row.pop("items")
            row.update(code="1/000001", share_mode="api", open_type="none", status="published", version=1)
            row.update(format="database", share_type="unconditional", update_cycle="daily", grade="general")
            row.update(created_at=now, updated_at=now)
            rid = c.execute(insert(Resource).returning(Resource.id), [row]).scalar_one()
            c.execute(
                insert(ResourceItem),
                [
                    {
                        "resource_id": rid,
                        "position": 1,
                        "name": "公民身份号码",
                        "data_type": "string",
                        "description": "",
                        "sensitivity": "id_number",
                        "share_type": "unconditional",
                    }
                ],
            )
        command.upgrade(alembic_config(fresh_url), "head")
        with db.read() as s:
            assert names(search.search(s, "人口", {})) == ["全市实有人口基础信息"]
            assert search.search(s, "公民 身份", {}).total == 1
    finally:
        db.dispose()

"""The demo catalogs: 200+ resources of 20+ departments that pass the sharing rules, a classification after
the guide, some history, an intact audit chain, and a second load that writes nothing."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import func, select

from tests.conftest import count_rows
from zhicheng.catalog import demo as catalog_demo
from zhicheng.catalog import demo_data, services
from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem, ResourceVersion
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.db import Database
from zhicheng.core.orgs.models import Org
from zhicheng.demo import city, load

TABLES = (CatalogClass, Resource, ResourceItem, ResourceVersion, AuditRecord)


def _counts(db: Database) -> dict[str, int]:
    return count_rows(db, TABLES)


def test_demo_catalogs(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)  # `demo load --json` prints it
    with db.read() as s:
        published = s.scalars(select(Resource).where(Resource.status == "published")).all()
        retired = s.scalars(select(Resource).where(Resource.status == "retired")).all()
        classes = {c.code: c for c in s.scalars(select(CatalogClass))}
        items = s.scalars(select(ResourceItem)).all()
        per = ResourceVersion.resource_id
        history = dict(s.execute(select(per, func.count()).group_by(per)).all())
        org_names = dict(s.execute(select(Org.id, Org.name)).all())
    everything = [*published, *retired]
    providers = {r.provider_org_id for r in published}
    assert len(published) >= 200 and len(providers) >= 20
    assert info["catalog"]["resources"] == len(published) and info["catalog"]["classes"] == len(classes)
    # city departments and district ones both provide
    assert sum(org_names[p].startswith("南京市") for p in providers) >= 20
    assert any(org_names[p].startswith("玄武区") for p in providers)

    # the sharing rules hold for every resource (they'd fail validation otherwise, but check what is stored)
    for r in everything:
        if r.share_type == "conditional":
            assert r.share_condition and r.share_condition.strip(), r.name
        if r.share_type == "none":
            assert r.share_basis and "《" in r.share_basis, r.name
    assert {r.share_type for r in published} == {"unconditional", "conditional", "none"}
    assert len({r.grade for r in published}) == 3 and len({r.update_cycle for r in published}) >= 6

    # the classification follows 类/项/目/细目, and every resource sits in a known class
    for code, klass in classes.items():
        level, parent = services.class_parent(code)
        assert (klass.level, klass.parent_code) == (level, parent)
        assert parent is None or parent in classes
    assert {c.name for c in classes.values() if c.level == 1} == {
        "基础信息资源",
        "主题信息资源",
        "部门信息资源",
    }
    assert any(c.level == 4 for c in classes.values())
    assert all(r.class_code in classes and r.code.startswith(r.class_code + "/") for r in everything)

    # names are unique, 3–15 items each, sensitivity by the item's name
    assert len({r.name for r in everything}) == len(everything)
    per_resource = Counter(i.resource_id for i in items)
    assert all(3 <= per_resource[r.id] <= 15 for r in everything)
    expected = {"姓名": "name", "公民身份号码": "id_number", "联系电话": "phone", "住址": "address"}
    assert {(i.name, i.sensitivity) for i in items if i.name in expected} == set(expected.items())
    markers = {
        "name": ("姓名",),
        "id_number": ("号码",),
        "phone": ("电话", "手机"),
        "address": ("住址", "地址"),
    }
    for i in items:  # no personal sensitivity on an item whose name does not say so
        assert i.sensitivity not in markers or any(m in i.name for m in markers[i.sensitivity]), i.name
    assert Counter(i.sensitivity for i in items)["none"] > len(items) / 2

    # links point at existing resources; some history; retired ones
    codes = {r.code for r in everything}
    linked = [r for r in published if r.related_codes]
    assert len(linked) >= 10 and all(set(r.related_codes) <= codes for r in linked)
    assert sum(r.version > 1 for r in published) >= 5 and max(r.version for r in published) >= 3
    assert all(history[r.id] == r.version for r in everything)
    assert len(retired) >= 2

    sample = info["catalog"]["sample_resource"]
    assert sample["name"] == "全市实有人口基础信息"
    assert next(r for r in published if r.id == sample["id"]).code == sample["code"]

    # the audit chain records it all, and a second load changes nothing, not even the chain
    seal_all(db)
    first = verify(db)
    assert first.ok and first.pending == 0
    before = _counts(db)
    again = load(db, settings, progress=False)
    assert seal_all(db) == 0
    assert _counts(db) == before
    assert again["catalog"] == info["catalog"]
    assert again["created"]["catalog_classes"] == again["created"]["catalog_resources"] == 0


def test_demo_data_is_consistent() -> None:
    """Without a database: every spec names a class, links only to resources catalogued before it, and the
    updates and retirements name resources that exist."""
    orgs = {d.key: n for n, d in enumerate(city.CITY_DEPARTMENTS, 1)}
    orgs["districts"] = {
        key: {"name": name, **{k: 1000 + n for n, (k, _p, _l) in enumerate(city.DISTRICT_DEPARTMENTS)}}
        for _code, (name, key, _streets) in city.DISTRICTS.items()
    }
    known = {code for code, _name in demo_data.CLASSES}
    before: set[str] = set()
    for _provider, specs in catalog_demo._plan(orgs):
        for spec in specs:
            assert spec.cls in known or spec.cls.startswith("3"), spec.name
            assert set(spec.related) <= before, spec.name  # no link is silently dropped
            kind, _, key = spec.share.partition(":")
            assert key in {"C": demo_data.CONDITIONS, "N": demo_data.BASES}.get(kind, {"": None}), spec.name
            assert spec.name not in before
            before.add(spec.name)
    assert {name for name, _c, _n in demo_data.UPDATES} <= before
    assert {name for name, _r in demo_data.RETIRED} <= before


def test_item_types_and_sensitivities_follow_their_names() -> None:
    cases = {
        "姓名": ("string", "name"),
        "法定代表人姓名": ("string", "name"),
        "公民身份号码": ("string", "id_number"),
        "权利人证件号码": ("string", "id_number"),
        "手机号码": ("string", "phone"),
        "联系电话": ("string", "phone"),
        "咨询电话": ("string", "none"),
        "家庭住址": ("string", "address"),
        "机构地址": ("string", "none"),
        "登记日期": ("date", "none"),
        "来电时间": ("datetime", "none"),
        "首班时间": ("string", "none"),
        "床位数": ("integer", "none"),
        "交通指数": ("decimal", "none"),
        "罚款金额": ("decimal", "none"),
        "是否超标": ("boolean", "none"),
    }
    for name, (data_type, sensitivity) in cases.items():
        assert (catalog_demo.data_type(name), catalog_demo.sensitivity(name)) == (data_type, sensitivity), (
            name
        )
    assert catalog_demo.item("死亡原因!", "conditional")["share_type"] == "none"
    assert catalog_demo.item("死亡日期", "conditional")["share_type"] == "conditional"

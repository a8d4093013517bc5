"""The demo catalogs (`zhicheng demo load`): a classification after the 2017 guide and 200+ resources of the
demo city's departments, written through the catalog services so that the audit chain records them.

Idempotent: classes are looked up by code and resources by (provider, name); only what is missing is made, and
the later versions and retirements are applied only to resources made in the same run. Every choice that is
not in `demo_data` comes from a random generator seeded with the resource's name, so that a resource looks
the same in every demo database whatever else is already there.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from zhicheng.catalog import services, vocab
from zhicheng.catalog.demo_data import (
    BASES,
    CITY,
    CLASSES,
    CONDITIONS,
    DEPT_TOPICS,
    DISTRICT,
    DISTRICT_SAMPLE,
    LICENCES,
    LICENSING,
    PENALISING,
    PENALTIES,
    POWER_LIST,
    RETIRED,
    UPDATES,
    Spec,
)
from zhicheng.catalog.models import CatalogClass, Resource
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work
from zhicheng.core.orgs.models import Org
from zhicheng.demo import city
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
SAMPLE = "全市实有人口基础信息"
FIRST_DAY, LAST_DAY = dt.date(2019, 3, 1), dt.date(2026, 9, 30)


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    made_classes = _classes(db)
    with db.read() as s:
        have = set(s.execute(select(Resource.provider_org_id, Resource.name)).all())
        codes = {name: code for name, code in s.execute(select(Resource.name, Resource.code))}
    made = 0
    for provider, specs in _plan(orgs):
        todo = [sp for sp in specs if (provider, sp.name) not in have]
        if not todo:
            continue  # nothing to write: no transaction, no audit record
        with unit_of_work(db, ACTOR) as uow:
            made += _department(uow, provider, todo, codes)
    created = info.setdefault("created", {})
    created["catalog_classes"], created["catalog_resources"] = made_classes, made
    info["catalog"] = _summary(db, orgs)


def _classes(db: Database) -> int:
    wanted = list(CLASSES)
    for n, dept in enumerate(city.CITY_DEPARTMENTS, 1):
        wanted.append((f"3{n:02d}", dept.name))
        wanted += [(f"3{n:02d}{suffix}", topic) for suffix, topic in DEPT_TOPICS]
    with db.read() as s:
        have = set(s.scalars(select(CatalogClass.code)))
    todo = [(code, name) for code, name in wanted if code not in have]
    if todo:
        with unit_of_work(db, ACTOR) as uow:
            for code, name in todo:
                services.create_class(uow, ClassIn(code=code, name=name))
    return len(todo)


def _plan(orgs: dict[str, Any]) -> Iterator[tuple[int, list[Spec]]]:
    """(provider org id, its specs): the city departments in CITY's order (sources first), then districts."""
    index = {d.key: n for n, d in enumerate(city.CITY_DEPARTMENTS, 1)}
    depts = {d.key: d for d in city.CITY_DEPARTMENTS}
    for key, own in CITY.items():
        dept, klass = depts[key], f"3{index[key]:02d}"
        specs = list(own)
        if dept.kind == "department":
            specs.append(_generic(POWER_LIST, dept.name, f"{klass}001", "irregular"))
        if key in LICENSING:
            specs.append(_generic(LICENCES, dept.name, f"{klass}002", "daily"))
        if key in PENALISING:
            specs.append(_generic(PENALTIES, dept.name, f"{klass}003", "daily"))
        yield orgs[key], specs
    for district in DISTRICT_SAMPLE:
        entry = orgs["districts"][district]
        for key, spec in DISTRICT:
            yield entry[key], [spec._replace(name=spec.name.format(d=entry["name"]))]


def _generic(template: tuple[str, str, str], dept: str, klass: str, cycle: str) -> Spec:
    name, items, summary = template
    return Spec(name.format(name=dept), klass, items, "U", cycle, summary=summary.format(name=dept))


def _department(uow: UnitOfWork, provider: int, specs: list[Spec], codes: dict[str, str]) -> int:
    short = {d.name: d.short for d in city.CITY_DEPARTMENTS}
    bodies: dict[str, dict[str, Any]] = {}
    made: dict[str, int] = {}
    for spec in specs:
        body = _body(uow, spec, provider, codes, short)
        res = services.create_resource(uow, ResourceIn.model_validate(body), note="演示目录初次编目")
        codes[spec.name], bodies[spec.name], made[spec.name] = res.code, body, res.id
    for name, changes, note in UPDATES:
        if name in made:
            bodies[name] = _changed(bodies[name], changes)
            services.update_resource(uow, made[name], ResourceIn.model_validate(bodies[name]), note=note)
    for name, reason in RETIRED:
        if name in made:
            services.retire_resource(uow, made[name], reason)
    return len(specs)


def _body(
    uow: UnitOfWork, spec: Spec, provider: int, codes: dict[str, str], short: dict[str, str]
) -> dict[str, Any]:
    rng = random.Random(f"zhicheng-catalog-demo:{spec.name}")
    kind, _, key = spec.share.partition(":")
    share = {"U": "unconditional", "C": "conditional", "N": "none"}[kind]
    items = [item(word, share) for word in spec.items.split()]
    fmt = spec.fmt or _format(spec.cycle, rng)
    org = uow.session.get_one(Org, provider)
    theme = uow.session.get_one(CatalogClass, spec.cls[:3]).name
    names = "、".join(i["name"] for i in items[:4])
    summary = spec.summary or (
        f"{short.get(org.name, org.name)}汇集的{spec.name}，包括{names}等{len(items)}个信息项，"
        f"{vocab.UPDATE_CYCLES[spec.cycle]}更新，服务于{theme.removesuffix('信息')}相关业务。"
    )
    return {
        "name": spec.name,
        "class_code": spec.cls,
        "provider_org_id": provider,
        "summary": summary,
        "format": fmt,
        "share_type": share,
        "share_condition": CONDITIONS[key] if kind == "C" else None,
        "share_basis": BASES[key] if kind == "N" else None,
        "share_mode": _mode(fmt, spec.cycle, rng),
        "open_type": _open(share, spec.grade, items, rng),
        "update_cycle": spec.cycle,
        "grade": spec.grade,
        "published_on": FIRST_DAY + dt.timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days)),
        "related_codes": [codes[r] for r in spec.related if r in codes],
        "keywords": [theme, short.get(org.name, org.name)],
        "items": items,
    }


def item(word: str, share: str) -> dict[str, Any]:
    """An information item from its name: "!" marks one never shared; type and sensitivity follow the name."""
    name = word.rstrip("!")
    return {
        "name": name,
        "data_type": data_type(name),
        "sensitivity": sensitivity(name),
        "description": DESCRIPTIONS.get(name, ""),
        "share_type": "none" if word.endswith("!") else share,
    }


DESCRIPTIONS = {
    "公民身份号码": "18位居民身份号码，GB 11643",
    "统一社会信用代码": "18位统一社会信用代码，GB 32100",
    "行政区划代码": "6位行政区划代码，GB/T 2260",
    "经度": "CGCS2000坐标系，十进制度",
    "纬度": "CGCS2000坐标系，十进制度",
    "不动产单元号": "28位不动产单元代码，GB/T 37346",
    "空气质量指数": "AQI，HJ 633",
}
_PERSON_ADDRESS = ("住址", "户籍地址", "居住地址", "迁出地址", "迁入地址")
_DECIMAL = tuple(
    "金额 价款 价格 面积 浓度 指数 车速 费用 支付 自付 基数 资本 率 幅 经度 纬度 总价 租金 "
    "数额 水位 雨量 总值 收入 总额 投资 损失 分数 总分 产值 利润 余额 税额 零售额 声级 功率 "
    "用电量 余氯 浑浊度 取水量 原值 支出 经费 收运量 噪声值 速度".split()
)
_TIMES_OF_DAY = ("首班时间", "末班时间", "开放时间")
# where the rules above guess wrong
_TYPES = {"投资方国别": "string", "收入项目": "string", "化学需氧量": "decimal", "最大储量": "decimal"}


def sensitivity(name: str) -> str:
    if "姓名" in name:
        return "name"
    if "身份号码" in name or "证件号码" in name:
        return "id_number"
    if "联系电话" in name or "手机号码" in name:
        return "phone"
    if name.endswith(_PERSON_ADDRESS):
        return "address"
    if name in ("死亡原因", "病种名称", "诊断名称", "疾病名称", "既往病史", "过敏史"):
        return "other"
    return "none"


def data_type(name: str) -> str:
    if name in _TYPES:
        return _TYPES[name]
    if name.startswith("是否"):
        return "boolean"
    if "日期" in name or name.endswith(("有效期至", "有效期止", "有效期自", "公示截止期")):
        return "date"
    if name.endswith("时间") and name not in _TIMES_OF_DAY:
        return "datetime"
    if any(word in name for word in _DECIMAL):
        return "decimal"
    if name.endswith(("数", "数量", "量", "记分", "年度", "班次")) and not name.endswith("指数"):
        return "integer"
    return "string"


def _format(cycle: str, rng: random.Random) -> str:
    if cycle == "realtime":
        return "interface"
    if cycle in ("daily", "weekly", "monthly"):
        return "database"
    if cycle == "irregular":
        return rng.choice(("spreadsheet", "document"))
    return "spreadsheet"


def _mode(fmt: str, cycle: str, rng: random.Random) -> str:
    if fmt not in ("interface", "database"):
        return "file"
    if cycle in ("realtime", "daily"):
        return "api"
    return "table" if cycle == "monthly" else rng.choice(("api", "table"))


def _open(share: str, grade: str, items: list[dict[str, Any]], rng: random.Random) -> str:
    """Only general data without personal items may be opened to the public; some of it on conditions."""
    personal = any(i["sensitivity"] not in ("none", "name") for i in items)
    if share != "unconditional" or grade != "general" or personal:
        return "none"
    return rng.choices(("unconditional", "conditional", "none"), weights=(6, 2, 2))[0]


def _changed(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = {**body, **{k: v for k, v in changes.items() if not k.startswith("+")}}
    extra = [item(word, body["share_type"]) for word in changes.get("+items", "").split()]
    out["items"] = [*body["items"], *extra]
    return out


def _summary(db: Database, orgs: dict[str, Any]) -> dict[str, Any]:
    with db.read() as s:
        count = select(func.count())
        classes = s.scalar(count.select_from(CatalogClass))
        published = s.scalar(count.select_from(Resource).where(Resource.status == "published"))
        retired = s.scalar(count.select_from(Resource).where(Resource.status == "retired"))
        providers = s.scalar(select(func.count(func.distinct(Resource.provider_org_id))))
        sample = s.scalar(
            select(Resource).where(Resource.name == SAMPLE, Resource.provider_org_id == orgs["data_center"])
        )
        found = {"id": sample.id, "code": sample.code, "name": sample.name} if sample else None
    return {
        "classes": classes,
        "resources": published,
        "retired": retired,
        "providers": providers,
        "sample_resource": found,
    }

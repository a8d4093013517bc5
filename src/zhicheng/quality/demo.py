"""The demo's data quality (`zhicheng demo load`): four resources hosted with rows that have gaps (so the
completeness bars have something to show), two of them last loaded long enough ago to be overdue against
their update cycle, corrections reported by departments that use the data in every state, and maintenance
tasks the data authority opened after legal changes, one of them overdue.

Runs after the catalog, sharing and exchange demos (app.MODULES order) and writes through the services as
`cli:demo`, one transaction per story. Steps are dated relative to the day of the load (the services take
`today`), so waiting ones are fresh or overdue as their story says. A load's time cannot be given to the
exchange services, so the two stale datasets have their `loaded_at` set back here, in the transaction that
loads them and with an audit record of its own (`quality:demo:backdate`): a stand-in for data loaded that
many days ago, and the only write of this demo outside its own tables.

Idempotent: a hosted resource is skipped, a correction is known by (consumer, resource, record key) and a
task by (resource, reason); a second load writes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zhicheng.catalog import queries as catalog
from zhicheng.catalog.models import Resource
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work, utcnow
from zhicheng.exchange import queries as exchange
from zhicheng.exchange import services as exchange_services
from zhicheng.exchange.models import DataLoad, Dataset
from zhicheng.quality import services
from zhicheng.quality.models import MaintenanceTask, QualityCorrection, QualityIssue
from zhicheng.quality.schemas import CorrectionIn
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
ROWS = 240


@dataclass(frozen=True)
class Hosted:
    provider: str
    resource: str
    age_days: int  # how long ago its data was last loaded
    gaps: dict[str, float] = field(default_factory=dict)  # item → share of rows without a value


# Realistic gaps: no primary pollutant when the air is good, lab results still pending, a plate not read.
HOSTED = (
    Hosted("water", "供水水质监测数据", 4, {"菌落总数": 0.12, "余氯": 0.03}),
    Hosted("agriculture", "农产品质量安全检测数据", 45, {"检测结果": 0.06, "抽样地点": 0.15}),
    Hosted("ecology_environment", "空气质量监测数据", 0, {"首要污染物": 0.35, "臭氧浓度": 0.02}),
    Hosted("city_management", "生活垃圾分类收运信息", 0, {"收运车辆号牌": 0.08}),
)
POOLS = {
    "水厂名称": ("城北水厂", "北河口水厂", "城南水厂", "江浦水厂", "浦口水厂"),
    "监测站点": ("玄武湖", "草场门", "山西路", "中华门", "仙林大学城", "奥体中心", "迈皋桥"),
    "首要污染物": ("细颗粒物", "臭氧", "可吸入颗粒物"),
    "空气质量等级": ("优", "良", "良", "轻度污染"),
    "样品名称": ("青菜", "番茄", "黄瓜", "猪肉", "鸡蛋", "大米", "草鱼"),
    "抽样地点": ("众彩农副产品批发市场", "孝陵卫农贸市场", "新街口苏果超市", "江宁东山菜场"),
    "检测项目": ("农药残留", "兽药残留", "重金属"),
    "检测结果": ("未检出", "符合限量要求", "符合限量要求"),
    "街道名称": ("新街口街道", "梅园新村街道", "玄武门街道", "湖南路街道", "夫子庙街道"),
    "垃圾类别": ("厨余垃圾", "可回收物", "有害垃圾", "其他垃圾"),
    "处置场所": ("江北废弃物综合处置中心", "天井洼餐厨废弃物处理厂", "江南静脉产业园"),
}


@dataclass(frozen=True)
class Report:
    consumer: str
    provider: str
    resource: str
    item: str
    key: str
    problem: str
    suggested: str
    days_ago: int
    answer: tuple[bool, str, int] | None = None  # (corrected, note, working days later it came)


# fmt: off
REPORTS: tuple[Report, ...] = (
    Report("emergency", "water", "水位雨量实时监测数据", "警戒水位", "32011500012",
           "武定门闸站警戒水位应为 8.50 米，共享数据为 85.0，疑似小数点错位", "8.50", 1),
    Report("market_regulation", "taxation", "纳税信用等级信息", "纳税人名称", "91320106MA1R4T5K2W",
           "纳税人名称与企业登记名称不一致，企业已于 2026 年 8 月办理名称变更",
           "南京云帆智能科技有限公司", 2),
    Report("approval_bureau", "public_security", "居民身份证信息", "证件状态", "办件 SP20261105000213",
           "申请人持有效期内的证件办理业务，核验结果显示证件状态为“已注销”", "有效", 3),
    Report("hotline", "city_management", "数字城管案件信息", "发生地点", "CG2026103100157",
           "案件发生地点与热线工单不符，工单反映的位置在中山北路与湖南路交叉口",
           "鼓楼区中山北路与湖南路交叉口东北角", 20),
    Report("city_management", "natural_resources", "建设用地规划许可信息", "用地面积",
           "地字第320100202600031号", "用地面积的单位疑似为亩，与许可证原件（平方米）不一致", "23560.5", 12,
           (True, "经核对许可证原件，已更正用地面积并重新推送", 2)),
    Report("development_reform", "taxation", "纳税信用等级信息", "纳税信用级别", "91320105MA1Q2N3X8R",
           "该企业 2025 年度纳税信用级别公示为 B 级，共享数据为 D 级", "B", 9,
           (False, "经核查，该企业于 2026 年 3 月因逾期未申报被直接判为 D 级，共享数据正确，"
                   "公示信息尚未同步", 3)),
    Report("civil_affairs", "human_resources", "社会保险参保信息", "参保状态", "个人编号 1000234567",
           "该人员已于 2026 年 5 月办理退休，参保状态仍为“在职参保”", "退休", 30,
           (True, "已与养老保险待遇系统核对，参保状态更正为退休", 9)),
)
TASKS: tuple[tuple[str, str, str, int], ...] = (  # (provider, resource, reason, days ago)
    ("market_regulation", "企业登记注册信息",
     "《中华人民共和国公司法》（2023 年修订）施行后，有限责任公司注册资本须在五年内缴足，"
     "目录需增加认缴和实缴出资信息项", 2),
    ("civil_affairs", "婚姻登记信息",
     "《婚姻登记条例》修订后婚姻登记实行全国通办，登记机关不再限于当事人户籍地，"
     "目录的信息项和共享条件需相应调整", 40),
)
# fmt: on


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    today = shanghai_today()
    made = {"hosted": 0, "corrections": 0, "tasks": 0}
    with db.read() as s:
        hosted = [(h, _resource(s, orgs[h.provider], h.resource)) for h in HOSTED]
        hosted = [(h, rid) for h, rid in hosted if exchange.dataset(s, rid) is None]
        known = set(
            s.execute(
                select(
                    QualityCorrection.consumer_org_id,
                    QualityCorrection.resource_id,
                    QualityCorrection.record_key,
                )
            ).all()
        )
        reports = [(r, orgs[r.consumer], _resource(s, orgs[r.provider], r.resource)) for r in REPORTS]
        reports = [(r, c, rid) for r, c, rid in reports if (c, rid, r.key) not in known]
        opened = set(s.execute(select(MaintenanceTask.resource_id, MaintenanceTask.reason)).all())
        tasks = [(_resource(s, orgs[p], name), why, ago) for p, name, why, ago in TASKS]
        tasks = [t for t in tasks if (t[0], t[1]) not in opened]
    for h, rid in hosted:
        with unit_of_work(db, ACTOR) as uow:
            _host(uow, h, rid)
        made["hosted"] += 1
    for r, consumer, rid in reports:
        with unit_of_work(db, ACTOR) as uow:
            _report(uow, r, consumer, rid, today)
        made["corrections"] += 1
    for rid, why, ago in tasks:
        with unit_of_work(db, ACTOR) as uow:
            services.open_task(uow, rid, why, today=_weekday(today - dt.timedelta(days=ago)))
        made["tasks"] += 1
    if any(made.values()):  # what the sweep would do within ten minutes; only in the run that made them
        with unit_of_work(db, ACTOR) as uow:
            services.sweep(uow, today=today)
    info["created"].update({f"quality_{k}": v for k, v in made.items()})
    info["quality"] = summary(db)


def _host(uow: UnitOfWork, h: Hosted, rid: int) -> None:
    ds = exchange_services.host(uow, rid)
    items = catalog.items(uow.session, rid)
    rng = random.Random(h.resource)  # the same rows in every demo database
    rows = [
        {i.name: _value(i.name, i.data_type, n, h.gaps.get(i.name, 0.0), rng) for i in items}
        for n in range(ROWS)
    ]
    load = exchange_services.load_rows(
        uow, ds.id, rows, mode="full", source="upload", fmt="csv", filename="demo.csv"
    )
    if h.age_days:
        at = utcnow() - dt.timedelta(days=h.age_days)
        s = uow.session
        s.execute(update(Dataset).where(Dataset.id == ds.id).values(loaded_at=at, updated_at=at))
        s.execute(update(DataLoad).where(DataLoad.id == load.id).values(at=at))
        code = s.get_one(Resource, rid).code
        uow.record(
            "quality:demo:backdate", f"resource:{code}", {"loaded_at": at.isoformat(), "days": h.age_days}
        )


def _value(name: str, dtype: str, n: int, gap: float, rng: random.Random) -> Any:
    if gap and rng.random() < gap:
        return None
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))
    if dtype == "date":
        return day.isoformat()
    if dtype == "datetime":
        return f"{day.isoformat()}T{rng.randrange(6, 22):02d}:{rng.randrange(60):02d}:00"
    if dtype == "decimal":
        return round(rng.uniform(0.05, 120), 2)
    if dtype == "integer":
        return rng.randrange(1, 500)
    if dtype == "boolean":
        return rng.random() > 0.04
    if name in POOLS:
        return rng.choice(POOLS[name])
    if "号牌" in name:
        return f"苏A{rng.randrange(10000, 99999)}"
    return f"{name}{n + 1:04d}"


def _report(uow: UnitOfWork, r: Report, consumer: int, rid: int, today: dt.date) -> None:
    day = _weekday(today - dt.timedelta(days=r.days_ago))
    data = CorrectionIn(
        resource_id=rid, item=r.item, record_key=r.key, problem=r.problem, suggested=r.suggested
    )
    c = services.report(uow, data, consumer, today=day)
    if r.answer is not None:
        corrected, note, later = r.answer
        on = day
        for _ in range(later):
            on = _weekday(on + dt.timedelta(days=1), forward=True)
        services.answer(uow, c.id, corrected, note, today=min(on, today))


def summary(db: Database) -> dict[str, Any]:
    with db.read() as s:
        status = QualityCorrection.status
        corrections = dict(s.execute(select(status, func.count()).group_by(status)).all())
        tasks = dict(
            s.execute(select(MaintenanceTask.status, func.count()).group_by(MaintenanceTask.status)).all()
        )
        escalated = s.scalar(
            select(func.count()).where(QualityCorrection.escalated_at.is_not(None), status == "submitted")
        )
        late_tasks = s.scalar(
            select(func.count()).where(
                MaintenanceTask.escalated_at.is_not(None), MaintenanceTask.status == "open"
            )
        )
        stale = s.scalar(select(func.count()).where(QualityIssue.cleared_at.is_(None)))
    return {
        "stale": stale,
        "corrections": dict(sorted(corrections.items())),
        "escalated_corrections": escalated,
        "tasks": dict(sorted(tasks.items())),
        "escalated_tasks": late_tasks,
        "hosted": [h.resource for h in HOSTED],
    }


def _resource(s: Session, provider: int, name: str) -> int:
    found = s.scalar(
        select(Resource.id).where(
            Resource.provider_org_id == provider, Resource.name == name, Resource.status == "published"
        )
    )
    if found is None:  # the demo catalog and these stories are out of step: a bug to fix, not to skip
        raise LookupError(f"demo resource {name!r} of org {provider} is not in the catalog")
    return found


def _weekday(day: dt.date, forward: bool = False) -> dt.date:
    """The nearest Monday–Friday on or before (after) `day`: offices file and answer on weekdays."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if forward else -1)
    return day

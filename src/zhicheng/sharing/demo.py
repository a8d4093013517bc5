"""The demo's sharing requests (`zhicheng demo load`): departments of the demo city applying for each other's
catalogued resources, in every state of the procedure, a data authority reviewer to act on them, and grants
for the exchange system's department (南京市数据局) so that its demo token has a resource to read.

Runs after the catalog's demo (app.MODULES order) and writes through `sharing.services` as `cli:demo`, one
transaction per request, so a request and its steps land together or not at all. The steps are dated
relative to the day of the load (the services take `today`), so that the waiting ones are fresh or overdue
as their story says, whatever day the demo is loaded on.

Idempotent: a request is known by (consumer, resource, purpose); a known one is skipped with all its steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhicheng.catalog.models import Resource, ResourceItem
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import User
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work
from zhicheng.core.orgs.models import Org
from zhicheng.demo.people import DEMO_PASSWORD
from zhicheng.settings import Settings
from zhicheng.sharing import queries, services
from zhicheng.sharing.models import SharingGrant, SharingRequest
from zhicheng.sharing.schemas import RequestIn

ACTOR = Actor(kind="cli", name="demo")
AUTHORITY = ("authority", "郑雅琴")  # username, display name
READABLE = ("data_center", "全市实有人口基础信息")  # what the exchange system's department may read
PERIOD_DAYS = 730  # the demo grants run two years from the request


@dataclass(frozen=True)
class Story:
    """How far a request got, and how many calendar days before the load it was submitted."""

    steps: tuple[str, ...]  # review / decide / dispute / settle / revoke, in order
    days_ago: int


# Overdue ones start far enough back that even a National Day week inside their deadline leaves them late.
STORIES = {
    "new": Story((), 0),
    "late": Story((), 25),
    "rejected": Story(("reject",), 40),
    "waiting": Story(("approve",), 3),
    "waiting_late": Story(("approve",), 30),
    "granted": Story(("approve", "grant"), 60),
    "refused": Story(("approve", "refuse"), 50),
    "disputed": Story(("approve", "refuse", "dispute"), 45),
    "upheld": Story(("approve", "refuse", "dispute", "uphold"), 70),
    "dismissed": Story(("approve", "refuse", "dispute", "dismiss"), 80),
    "revoked": Story(("approve", "grant", "revoke"), 90),
}


@dataclass(frozen=True)
class Req:
    consumer: str  # key in info["orgs"], or "<district>.<department>"
    provider: str
    resource: str
    story: str
    purpose: str
    scenario: str
    system: str
    items: str = ""  # space-separated; empty: every item that may be shared
    reason: str = ""  # of the rejection or refusal
    dispute: str = ""
    settle: str = ""
    revoke: str = ""


# fmt: off
REQUESTS: tuple[Req, ...] = (
    # the exchange system's department: what its demo token may read
    Req("data_authority", "data_center", "全市实有人口基础信息", "granted",
        "共享交换平台人口信息核验服务", "为政务服务事项提供申请人身份与居住信息核验", "数据共享交换系统"),
    Req("data_authority", "market_regulation", "企业登记注册信息", "granted",
        "共享交换平台法人信息核验服务", "为各部门政务服务事项提供企业登记状态核验", "数据共享交换系统"),
    # submitted: waiting for the data authority's compliance check, some of them overdue
    Req("market_regulation", "public_security", "户籍人口信息", "new",
        "个体工商户登记经营者身份核验", "个体工商户设立登记时核验经营者户籍信息", "市场主体登记系统",
        "姓名 公民身份号码 户籍地址"),
    Req("housing", "civil_affairs", "最低生活保障对象信息", "new",
        "保障性住房申请资格审核", "公共租赁住房申请家庭的低保身份核查", "住房保障管理信息系统"),
    Req("commerce", "taxation", "纳税信用等级信息", "new",
        "重点商贸企业扶持资金评审", "评审申报企业的纳税信用状况", "商务综合管理平台"),
    Req("health", "public_security", "居民身份证信息", "late",
        "出生医学证明签发身份核验", "核验新生儿父母的居民身份证有效性", "妇幼健康信息系统",
        "姓名 公民身份号码 有效期限截止日期 证件状态"),
    Req("taxation", "market_regulation", "企业登记注册信息", "late",
        "新办纳税人信息确认", "企业新办涉税事项时自动带出登记信息", "电子税务局"),
    # rejected by the data authority
    Req("culture_tourism", "public_security", "户口迁移信息", "rejected",
        "旅游市场客源分析", "分析迁入人口的旅游消费偏好", "文旅大数据平台",
        reason="申请用途与户口迁移信息的共享条件不符，且未遵循最小必要原则，建议改用统计汇总数据"),
    Req("transport", "health", "预防接种信息", "rejected",
        "出租汽车驾驶员健康管理", "核查驾驶员疫苗接种情况", "交通运输综合执法系统",
        reason="预防接种信息仅限公共卫生管理使用，申请场景不属于共享条件规定的范围"),
    # approved, waiting for the provider of a 有条件 resource
    Req("human_resources", "public_security", "户籍人口信息", "waiting",
        "社会保险参保登记身份核验", "灵活就业人员参保登记时核验户籍信息", "人社一体化信息平台",
        "姓名 公民身份号码 性别 出生日期 户籍地址"),
    Req("civil_affairs", "natural_resources", "不动产登记信息", "waiting",
        "最低生活保障家庭经济状况核对", "核对申请家庭名下不动产情况", "居民家庭经济状况核对系统",
        "不动产单元号 权利人名称 权利人证件号码 坐落 用途 面积"),
    Req("public_security", "civil_affairs", "婚姻登记信息", "waiting",
        "户籍业务婚姻状况核验", "办理户口迁移投靠时核验婚姻关系", "人口管理信息系统"),
    Req("medical_security", "civil_affairs", "火化信息", "waiting_late",
        "医保待遇停发核查", "核查已死亡参保人员，及时停止医保个人账户划入", "医疗保障信息平台"),
    Req("education", "public_security", "户籍人口信息", "waiting_late",
        "义务教育招生入学资格审核", "核验适龄儿童及其监护人的户籍信息", "义务教育招生管理系统",
        "姓名 公民身份号码 户籍地址 户号 与户主关系"),
    # granted: unconditional right after the check, conditional by the provider
    Req("development_reform", "taxation", "纳税信用等级信息", "granted",
        "公共信用综合评价", "汇集纳税信用评价结果参与公共信用评价", "公共信用信息平台"),
    Req("development_reform", "market_regulation", "企业经营异常名录信息", "granted",
        "失信联合惩戒", "对列入经营异常名录的企业实施信用约束", "公共信用信息平台"),
    Req("city_management", "natural_resources", "建设用地规划许可信息", "granted",
        "违法建设巡查比对", "巡查发现的建设行为与规划许可比对", "城管执法办案系统"),
    Req("emergency", "water", "水位雨量实时监测数据", "granted",
        "防汛防台应急指挥", "汛期实时监测水位雨量，超警自动预警", "应急指挥信息系统"),
    Req("hotline", "city_management", "数字城管案件信息", "granted",
        "热线工单与城管案件联动", "市民来电反映的问题与数字城管案件关联处置", "12345热线工单系统"),
    Req("audit_office", "finance", "政府采购合同信息", "granted",
        "预算执行审计", "审计各部门政府采购合同执行情况", "审计作业系统"),
    Req("xuanwu.market_regulation", "market_regulation", "食品经营许可证信息", "granted",
        "辖区食品经营日常监督检查", "按许可信息安排辖区餐饮单位检查计划", "玄武区市场监管执法系统"),
    Req("approval_bureau", "public_security", "居民身份证信息", "granted",
        "政务服务身份核验", "一网通办办件受理时核验申请人身份证件", "一体化政务服务平台",
        "姓名 公民身份号码 有效期限截止日期 证件状态"),
    Req("civil_affairs", "human_resources", "社会保险参保信息", "granted",
        "社会救助对象就业状况核查", "核查低保申请人员社会保险参保状态", "社会救助信息系统",
        "姓名 公民身份号码 参保险种 参保状态"),
    Req("human_resources", "civil_affairs", "火化信息", "granted",
        "养老保险待遇资格认证", "发现已火化人员，停止发放养老保险待遇", "人社一体化信息平台"),
    # refused by the provider, disputed, settled both ways
    Req("housing", "public_security", "户籍人口信息", "refused",
        "房屋租赁登记备案", "租赁合同备案时核验承租人户籍", "房屋租赁管理服务平台",
        reason="租赁备案可通过居民身份证信息核验承租人身份，无需户籍明细；请按最小必要原则改申居民身份证信息"),
    Req("commerce", "human_resources", "社会保险缴费信息", "refused",
        "外资企业用工规模统计", "统计外资企业参保缴费人数", "商务综合管理平台",
        reason="缴费明细涉及个人收入信息，统计用途可申请人社部门按季度提供的汇总数据"),
    Req("market_regulation", "human_resources", "社会保险参保信息", "disputed",
        "企业年报社保信息比对", "比对企业年报填报的参保人数与实际参保情况", "企业信用监管系统",
        "参保单位名称 参保状态 参保险种",
        reason="参保信息仅向承担社会保障、社会救助职能的部门共享，市场监管部门不在共享范围内",
        dispute="《企业信息公示暂行条例》要求核查年报社保信息的真实性，所申请信息项不含个人身份信息"),
    Req("education", "civil_affairs", "最低生活保障对象信息", "upheld",
        "家庭经济困难学生资助认定", "学生资助申请时核验家庭低保身份，免予提交证明材料", "学生资助管理系统",
        "姓名 公民身份号码 保障起始日期 所属街道",
        reason="低保对象信息仅向承担社会救助职能的部门共享",
        dispute="学生资助属于教育救助，是社会救助体系的组成部分，符合共享条件",
        settle="经审核，学生资助属于《社会救助暂行办法》规定的教育救助，支持共享，提供部门应予授权"),
    Req("culture_tourism", "public_security", "流动人口居住登记信息", "dismissed",
        "旅游从业人员管理", "核查导游等从业人员居住情况", "文旅市场监管系统",
        reason="流动人口居住信息仅限身份核验使用，从业人员管理不属于共享条件规定的场景",
        dispute="导游证管理需要掌握从业人员的居住情况，以便开展日常监管",
        settle="经审核，导游证管理可通过导游证信息和身份核验完成，无需流动人口居住明细，维持不予共享"),
    # granted, then revoked
    Req("transport", "public_security", "机动车登记信息", "revoked",
        "网约车车辆资质核验", "网约车运输证发放时核验车辆登记信息", "网约车监管平台",
        revoke="使用部门业务系统未通过网络安全等级保护测评，暂停授权，整改后重新申请"),
    Req("ecology_environment", "market_regulation", "企业登记注册信息", "revoked",
        "排污许可企业信息核验", "核发排污许可证时核验企业登记信息", "排污许可管理系统",
        revoke="抽查发现数据被用于申请用途以外的企业名录汇编，依据共享协议撤销授权"),
)
# fmt: on

WHY = {  # the steps' reasons when the request does not state its own
    "approve": "用途明确，符合共享条件和最小必要原则",
    "grant": "符合共享条件，同意共享所申请的信息项",
}


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    today = shanghai_today()
    login, info["created"]["sharing_accounts"] = _authority(db, orgs)
    info["logins"].append(login)
    with db.read() as s:
        known = set(
            s.execute(
                select(SharingRequest.consumer_org_id, SharingRequest.resource_id, SharingRequest.purpose)
            ).all()
        )
        todo = []
        for req in REQUESTS:
            consumer, res = _org(orgs, req.consumer), _resource(s, _org(orgs, req.provider), req.resource)
            if (consumer, res, req.purpose) not in known:
                todo.append((req, consumer, res))
    for req, consumer, res in todo:
        with unit_of_work(db, ACTOR) as uow:
            _play(uow, req, consumer, uow.session.get_one(Resource, res), today)
    if todo:  # what the escalation job would do within ten minutes; only in the run that made them
        with unit_of_work(db, ACTOR) as uow:
            services.escalate_overdue(uow, today)
    info["created"]["sharing_requests"] = len(todo)
    info["sharing"] = summary(db, orgs, today)


def _play(uow: UnitOfWork, req: Req, consumer: int, res: Resource, today: dt.date) -> None:
    story = STORIES[req.story]
    day = _weekday(today - dt.timedelta(days=story.days_ago))
    data = RequestIn(
        resource_id=res.id,
        purpose=req.purpose,
        scenario=req.scenario,
        system_name=req.system,
        items=req.items.split() if req.items else _shareable(uow, res),
        valid_from=day,
        valid_until=day + dt.timedelta(days=PERIOD_DAYS),
    )
    r = services.submit(uow, data, consumer, today=day)
    for step in story.steps:
        if step == "grant" and r.status == "granted":
            continue  # 无条件: granted by the data authority's approval, the provider has no say
        day = min(_weekday(day + dt.timedelta(days=1), forward=True), today)
        if step in ("approve", "reject"):
            why = WHY["approve"] if step == "approve" else req.reason
            services.review(uow, r.id, step == "approve", why, today=day)
        elif step in ("grant", "refuse"):
            why = WHY["grant"] if step == "grant" else req.reason
            services.decide(uow, r.id, step == "grant", why, today=day)
        elif step == "dispute":
            services.dispute(uow, r.id, req.dispute)
        elif step in ("uphold", "dismiss"):
            services.settle(uow, r.id, step == "uphold", req.settle)
        elif step == "revoke":
            grant = uow.session.scalar(select(SharingGrant).where(SharingGrant.request_id == r.id))
            services.revoke(uow, grant.id, req.revoke)


def _authority(db: Database, orgs: dict[str, Any]) -> tuple[dict[str, str], int]:
    """The data authority's reviewer: a member of 南京市数据局 reviewing over the whole city, as
    docs/sharing.md advises. Brought back to the printed password, active, with the role, like the other
    demo users. Returns its login and how many changes that took."""
    username, display = AUTHORITY
    with unit_of_work(db, ACTOR) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            data = UserIn(
                username=username, display_name=display, password=DEMO_PASSWORD, org_id=orgs["data_authority"]
            )
            user = auth.create_user(uow, data)
        else:
            if not auth.check_password(user.password_hash, DEMO_PASSWORD):
                auth.set_password(uow, user.id, DEMO_PASSWORD)
            if not user.active:
                auth.set_active(uow, user.id, True)
        auth.grant_role(uow, user.id, GrantIn(role="data_authority", org_id=orgs["city"]))
        org = uow.session.get(Org, user.org_id) if user.org_id else None
        login = {
            "username": username,
            "password": DEMO_PASSWORD,
            "role": "data_authority",
            "org": org.name if org else "",
        }
        return login, uow.audited


def summary(db: Database, orgs: dict[str, Any], today: dt.date) -> dict[str, Any]:
    with db.read() as s:
        status = SharingRequest.status
        by_status = dict(s.execute(select(status, func.count()).group_by(status)).all())
        escalated = s.scalar(select(func.count()).where(SharingRequest.escalated_at.is_not(None)))
        grants = dict(
            s.execute(select(SharingGrant.status, func.count()).group_by(SharingGrant.status)).all()
        )
        readable = None
        res = s.scalar(
            select(Resource).where(
                Resource.provider_org_id == orgs[READABLE[0]], Resource.name == READABLE[1]
            )
        )
        grant = res and queries.active_grant(s, orgs["data_authority"], res.id, today)
        if grant:
            readable = {
                "id": res.id,
                "code": res.code,
                "name": res.name,
                "items": list(grant.items),
                "grant_id": grant.id,
                "valid_until": grant.valid_until.isoformat(),
            }
    return {
        "requests": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "escalated": escalated,
        "grants": sum(grants.values()),
        "active_grants": grants.get("active", 0),
        "revoked_grants": grants.get("revoked", 0),
        "readable_resource": readable,
    }


def _org(orgs: dict[str, Any], key: str) -> int:
    district, _, dept = key.rpartition(".")
    return orgs["districts"][district][dept] if district else orgs[key]


def _resource(s: Session, provider: int, name: str) -> int:
    found = s.scalar(
        select(Resource.id).where(
            Resource.provider_org_id == provider, Resource.name == name, Resource.status == "published"
        )
    )
    if found is None:  # the demo catalog and these requests are out of step: a bug to fix, not to skip
        raise LookupError(f"demo resource {name!r} of org {provider} is not in the catalog")
    return found


def _shareable(uow: UnitOfWork, res: Resource) -> list[str]:
    q = select(ResourceItem.name).where(ResourceItem.resource_id == res.id, ResourceItem.share_type != "none")
    return list(uow.session.scalars(q.order_by(ResourceItem.id)))


def _weekday(day: dt.date, forward: bool = False) -> dt.date:
    """The nearest Monday–Friday on or before (after) `day`: offices file and answer on weekdays."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if forward else -1)
    return day


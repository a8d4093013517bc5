"""The demo's people: citizens and enterprises (parties), console users for every role, a system's token.

Everything is derived from a fixed seed, so a second `demo load` produces the same numbers and finds them
already there. The passwords and the token secret are public on purpose: this is a demo instance, and
`demo load` refuses to run when ZHICHENG_ENV=production.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from stdnum.cn import ric

from zhicheng.demo import codes
from zhicheng.demo.city import DISTRICTS

DEMO_PASSWORD = "Demo-2026!"
# zc_<key>_<secret>: a fixed token so the printed value stays the same across runs
TOKEN_KEY = "demo2026exchange"
TOKEN_SECRET = "demo-token-secret-not-for-production"
SEED = "zhicheng-demo-city-2026"


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: str | None
    org: str | None  # key in the info's "orgs" (or "districts:<code>"); None: no organization


LOGINS: tuple[Login, ...] = (
    Login("admin", "王建国", "admin", "province"),
    Login("cityadmin", "李明华", "org_admin", "city"),
    Login("xuanwu", "周晓燕", "org_admin", "xuanwu"),
    Login("auditor", "赵文静", "auditor", "city"),
    Login("calendar", "孙立新", "calendar_keeper", "city"),
    Login("clerk", "陈思远", "clerk", "market_regulation"),
    Login("dataclerk", "刘海波", "clerk", "data_authority"),
    Login("nobody", "吴一凡", None, None),
)


@dataclass(frozen=True)
class SystemToken:
    name: str
    org: str
    roles: tuple[str, ...]
    days: int = 3650  # the demo token outlives any demo

    @property
    def raw(self) -> str:
        return f"zc_{TOKEN_KEY}_{TOKEN_SECRET}"


TOKEN = SystemToken("数据共享交换系统", "data_authority", ("clerk",))


@dataclass(frozen=True)
class Person:
    kind: str  # citizen | enterprise
    name: str
    id_number: str
    phone: str


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
MALE_GIVEN = (
    "建国",
    "志强",
    "海涛",
    "俊杰",
    "浩然",
    "子轩",
    "宇航",
    "文博",
    "明辉",
    "永刚",
    "国栋",
    "振华",
    "晓东",
    "天佑",
    "嘉豪",
    "立军",
    "家乐",
    "思源",
    "博文",
    "一鸣",
    "卫东",
    "德明",
    "广平",
    "金陵",
    "承志",
)
FEMALE_GIVEN = (
    "秀英",
    "丽娟",
    "晓燕",
    "雨桐",
    "欣怡",
    "梓涵",
    "静怡",
    "佳琪",
    "婉婷",
    "玉兰",
    "春梅",
    "淑芬",
    "若曦",
    "雅婷",
    "思琪",
    "慧敏",
    "晨曦",
    "紫薇",
    "梦瑶",
    "诗涵",
    "美玲",
    "桂英",
    "雪梅",
    "可欣",
    "语嫣",
)
MOBILE_PREFIXES = ("138", "139", "150", "151", "152", "158", "159", "182", "187", "188", "135", "136", "177")
# codes of counties that preceded today's districts, for people born before a district existed (GB/T 2260)
PREDECESSORS = {"320115": "320121", "320116": "320123", "320117": "320124", "320118": "320125"}

# (name, district code, registered since 2015 so carrying an "MA" organization code)
ENTERPRISES: tuple[tuple[str, str, bool], ...] = (
    ("南京钟山数据科技有限公司", "320102", True),
    ("南京玄武湖餐饮管理有限公司", "320102", False),
    ("南京秦淮灯彩文化发展有限公司", "320104", True),
    ("南京夫子庙商贸有限公司", "320104", False),
    ("南京河西金融信息服务有限公司", "320105", True),
    ("南京奥体会展服务有限公司", "320105", True),
    ("南京鼓楼智慧医疗科技有限公司", "320106", True),
    ("南京颐和路建筑设计有限公司", "320106", False),
    ("南京浦口汤泉温泉旅游有限公司", "320111", False),
    ("南京江浦现代农业发展有限公司", "320111", True),
    ("南京仙林软件技术有限公司", "320113", True),
    ("南京栖霞山物流有限公司", "320113", False),
    ("南京雨花软件谷信息技术有限公司", "320114", True),
    ("南京梅山钢材加工有限公司", "320114", False),
    ("南京江宁智能制造有限公司", "320115", True),
    ("南京禄口航空服务有限公司", "320115", False),
    ("南京六合雨花石工艺品有限公司", "320116", True),
    ("南京溧水天生桥农业科技有限公司", "320117", True),
    ("南京高淳螃蟹养殖专业合作社", "320118", False),
    ("南京固城湖水产品有限公司", "320118", True),
)
CITIZENS = 50


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _birthplace(rng: random.Random, born: dt.date) -> str:
    """A demo district valid in the birth year (or the county it grew out of), as the ID number carries it."""
    counties = list(DISTRICTS)
    while True:
        county = rng.choice(counties)
        for place in (county, PREDECESSORS.get(county)):
            probe = place and codes.resident_id(place, born, 1, True)
            if probe and ric.is_valid(probe):
                return place  # type: ignore[return-value]


def citizens(count: int = CITIZENS) -> list[Person]:
    """`count` citizens with checksum-valid resident ID numbers, born 1958–2004 in the demo city."""
    rng = random.Random(SEED + ":citizens")
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        male = rng.random() < 0.5
        name = rng.choice(SURNAMES) + rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
        born = dt.date(1958, 1, 1) + dt.timedelta(days=rng.randrange(47 * 365))
        number = codes.resident_id(_birthplace(rng, born), born, rng.randrange(1, 499), male)
        if number in seen or name in {p.name for p in people}:
            continue
        seen.add(number)
        people.append(Person("citizen", name, number, _mobile(rng)))
    return people


def enterprises() -> list[Person]:
    rng = random.Random(SEED + ":enterprises")
    return [
        Person("enterprise", name, codes.credit_code(codes.ENTERPRISE, county, name, modern), _mobile(rng))
        for name, county, modern in ENTERPRISES
    ]

"""The rows behind the exchange demo's resources: synthetic, but every value valid for its item.

Resident ID numbers carry their GB 11643 check digit and a birthplace code that existed in the birth year
(stdnum.cn.ric accepts each one); credit codes carry their GB 11714 and GB 32100 check characters; phones
are mobile numbers; addresses are the demo city's districts, streets and communities with illustrative roads
and house numbers; coordinates fall inside each district. The 50 citizens and 20 enterprises the core demo
registers as parties, and the demo city's government bodies, appear here with the same numbers, so the base
libraries and the party register agree. Everything is drawn from generators seeded with fixed strings: every
demo database gets the same rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from stdnum.cn import ric

from zhicheng.demo import city, codes, people

SEED = "zhicheng-exchange-demo"
RESIDENTS = 5000
ENTERPRISES = 400
ADDRESSES_PER_COMMUNITY = 6
BORN_FROM, BORN_DAYS = dt.date(1940, 1, 1), 84 * 365  # residents born 1940–2023
AS_OF = dt.date(2026, 6, 30)  # registrations up to this day: a fixed day keeps the rows the same every run

# illustrative roads of each district (the house numbers and estates are invented)
ROADS: dict[str, tuple[str, ...]] = {
    "320102": ("中山路", "北京东路", "珠江路", "太平北路", "龙蟠路", "长江路", "成贤街", "后宰门街"),
    "320104": ("中华路", "太平南路", "建康路", "瑞金路", "大光路", "长乐路", "白下路", "御道街"),
    "320105": ("江东中路", "河西大街", "应天大街", "集庆门大街", "庐山路", "嘉陵江东街", "所街"),
    "320106": ("中山北路", "北京西路", "湖南路", "汉中路", "广州路", "草场门大街", "虎踞路", "宁海路"),
    "320111": ("浦珠路", "文德路", "龙华路", "凤凰大街", "浦口大道", "雨山路"),
    "320113": ("仙林大道", "文苑路", "尧佳路", "马群街", "栖霞大道", "学海路"),
    "320114": ("雨花大道", "软件大道", "宁南大道", "安德门大街", "小行路", "铁心桥街"),
    "320115": ("双龙大道", "天元中路", "胜太路", "格致路", "竹山路", "上元大街"),
    "320116": ("雄州南路", "龙津路", "延安北路", "泰山路", "六合大道"),
    "320117": ("珍珠南路", "天生桥大道", "秦淮大街", "通济街", "宝塔路"),
    "320118": ("淳溪路", "宝塔路", "汶溪路", "北岭路", "双湖路"),
}
# roughly the middle of each district (CGCS2000 degrees) and how far addresses spread around it
CENTRES: dict[str, tuple[float, float, float]] = {
    "320102": (118.797, 32.049, 0.02),
    "320104": (118.794, 32.020, 0.015),
    "320105": (118.732, 32.004, 0.02),
    "320106": (118.770, 32.066, 0.02),
    "320111": (118.628, 32.059, 0.06),
    "320113": (118.909, 32.096, 0.05),
    "320114": (118.779, 31.991, 0.03),
    "320115": (118.840, 31.953, 0.08),
    "320116": (118.822, 32.323, 0.07),
    "320117": (119.028, 31.651, 0.06),
    "320118": (118.892, 31.328, 0.05),
}
ESTATES = ("花园", "新村", "公寓", "小区", "家园", "名苑", "雅居", "嘉园")
ETHNIC = (
    ("汉族", 0.975), ("回族", 0.012), ("满族", 0.004), ("蒙古族", 0.003), ("壮族", 0.003), ("苗族", 0.003),
)  # fmt: skip
SOURCES = (
    ("南京市公安局", 0.78),
    ("南京市卫生健康委员会", 0.08),
    ("南京市民政局", 0.06),
    ("南京市人力资源和社会保障局", 0.08),
)
# where floating residents are registered: (code, address prefix); ric checks the code per birth year
ELSEWHERE = (
    ("340102", "安徽省合肥市瑶海区"),
    ("340104", "安徽省合肥市蜀山区"),
    ("341002", "安徽省黄山市屯溪区"),
    ("342401", "安徽省六安市金安区"),
    ("320321", "江苏省徐州市丰县"),
    ("320582", "江苏省张家港市"),
    ("320981", "江苏省东台市"),
    ("320902", "江苏省盐城市亭湖区"),
    ("410102", "河南省郑州市中原区"),
    ("420106", "湖北省武汉市武昌区"),
    ("370102", "山东省济南市历下区"),
    ("330106", "浙江省杭州市西湖区"),
    ("510104", "四川省成都市锦江区"),
)
FLOATING_SHARE = 0.22

# enterprises: trade names, lines of business with their 经营范围, and legal forms
TRADE_NAMES = (
    "紫金", "金陵", "石城", "龙蟠", "虎踞", "莫愁", "长干", "汤山", "牛首", "幕府", "清凉", "乌衣", "朱雀",
    "白鹭", "梧桐", "银杏", "同创", "恒信", "博远", "瑞丰", "华泰", "德诚", "嘉禾", "启航", "智联", "云帆",
    "鼎盛", "安和", "汇通", "天元", "正和", "宏图", "聚力", "新锐", "远景", "润泽", "思源", "卓越", "明德",
    "众诚",
)  # fmt: skip
LINES = (
    ("软件科技", "软件开发；信息技术咨询服务；数据处理和存储支持服务"),
    ("信息技术", "信息系统集成服务；计算机软硬件及辅助设备零售；网络技术服务"),
    ("餐饮管理", "餐饮服务；食品销售；餐饮管理"),
    ("建筑工程", "建设工程施工；建筑材料销售；园林绿化工程施工"),
    ("商贸", "日用百货销售；五金产品批发；服装服饰零售"),
    ("物流", "道路货物运输（不含危险货物）；普通货物仓储服务；国内货物运输代理"),
    ("医疗器械", "第二类医疗器械销售；医疗设备租赁；技术服务、技术开发"),
    ("文化传媒", "广告设计、代理；组织文化艺术交流活动；会议及展览服务"),
    ("物业管理", "物业管理；停车场服务；家政服务"),
    ("环保科技", "大气污染治理；水污染治理；环境保护专用设备销售"),
    ("教育咨询", "教育咨询服务（不含涉许可审批的教育培训活动）；文化用品销售"),
    ("新能源科技", "太阳能发电技术服务；储能技术服务；新能源汽车换电设施销售"),
    ("智能制造", "智能基础制造装备制造；工业机器人制造；金属制品销售"),
    ("农业科技", "农作物种植；水产养殖；食用农产品初加工、销售"),
    ("旅游开发", "旅游业务；酒店管理；会议及展览服务"),
    ("航空服务", "航空商务服务；航空运输货物打包服务；票务代理服务"),
)
# the core demo's enterprises: a word of the name → its line of business
KEYWORDS = (
    ("数据", "软件科技"), ("软件", "软件科技"), ("信息", "信息技术"), ("医疗", "医疗器械"),
    ("餐饮", "餐饮管理"), ("文化", "文化传媒"), ("工艺", "文化传媒"), ("会展", "旅游开发"),
    ("旅游", "旅游开发"), ("商贸", "商贸"), ("钢材", "商贸"), ("物流", "物流"), ("航空", "航空服务"),
    ("建筑", "建筑工程"), ("制造", "智能制造"), ("农", "农业科技"), ("养殖", "农业科技"),
    ("水产", "农业科技"),
)  # fmt: skip
FORMS = (
    ("有限责任公司（自然人投资或控股）", "有限公司", 0.62),
    ("有限责任公司（自然人独资）", "有限公司", 0.16),
    ("有限责任公司（法人独资）", "有限公司", 0.12),
    ("股份有限公司（非上市、自然人投资或控股）", "股份有限公司", 0.10),
)
CAPITALS = (10.0, 50.0, 100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 5000.0)  # 万元
STATES = (("存续", 0.86), ("在业", 0.04), ("注销", 0.07), ("吊销", 0.03))
ALIVE = ("存续", "在业")


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _day(rng: random.Random, start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(days))


# --- addresses ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    code: str  # community code (12) + a 4-digit serial
    full: str  # 江苏省南京市玄武区梅园新村街道长江路社区中山路18号
    county: str
    street: str
    community: str
    number: str
    lon: float
    lat: float

    @property
    def district(self) -> str:
        return city.DISTRICTS[self.county][0]


def addresses() -> list[Address]:
    """Door plates in every community of the demo city, a few per community."""
    rng = random.Random(SEED + ":addresses")
    names = {d.code: d.name for d in city.divisions()}
    out: list[Address] = []
    for div in city.divisions():
        if len(div.code) != 12:
            continue
        county, street = div.code[:6], names[div.code[:9]]
        lon0, lat0, spread = CENTRES[county]
        used: set[str] = set()
        for serial in range(1, ADDRESSES_PER_COMMUNITY + 1):
            while True:
                road = rng.choice(ROADS[county])
                number = f"{rng.randrange(1, 400)}号"
                if road + number not in used:
                    used.add(road + number)
                    break
            full = f"{city.PROVINCE[1]}{city.CITY[1]}{names[county]}{street}{div.name}{road}{number}"
            out.append(
                Address(
                    code=f"{div.code}{serial:04d}",
                    full=full,
                    county=county,
                    street=street,
                    community=div.name,
                    number=road + number,
                    lon=round(lon0 + rng.uniform(-spread, spread), 6),
                    lat=round(lat0 + rng.uniform(-spread, spread), 6),
                )
            )
    return out


def address_rows(places: list[Address]) -> list[dict[str, Any]]:
    return [
        {
            "地址编码": a.code,
            "标准地址": a.full,
            "行政区划代码": a.county,
            "街道": a.street,
            "社区": a.community,
            "门牌号": a.number,
            "经度": a.lon,
            "纬度": a.lat,
        }
        for a in places
    ]


def _dwelling(rng: random.Random, a: Address) -> str:
    estate = a.number.split("路")[0].split("街")[0].split("大道")[0][:2] + rng.choice(ESTATES)
    building, unit = rng.randrange(1, 30), rng.randrange(1, 4)
    return f"{a.full}{estate}{building}幢{unit}单元{rng.randrange(1, 19)}0{rng.randrange(1, 5)}室"


# --- residents ---------------------------------------------------------------------------------------


def _name(rng: random.Random, male: bool) -> str:
    return rng.choice(people.SURNAMES) + rng.choice(people.MALE_GIVEN if male else people.FEMALE_GIVEN)


def _mobile(rng: random.Random) -> str:
    return rng.choice(people.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


@cache
def _valid_in(place: str, year: int) -> bool:
    """Whether a birthplace code existed in a year (ric's lookup is slow: asked once per pair)."""
    return ric.is_valid(codes.resident_id(place, dt.date(year, 6, 1), 1, True))


def _local_birthplace(rng: random.Random, born: dt.date) -> str:
    """A demo district valid in the birth year, or the county it grew out of (as people.py does)."""
    counties = list(city.DISTRICTS)
    while True:
        county = rng.choice(counties)
        for place in (county, people.PREDECESSORS.get(county)):
            if place and _valid_in(place, born.year):
                return place


def _elsewhere(rng: random.Random, born: dt.date) -> tuple[str, str]:
    return rng.choice([p for p in ELSEWHERE if _valid_in(p[0], born.year)])


def residents(count: int = RESIDENTS, places: list[Address] | None = None) -> list[dict[str, Any]]:
    """全市实有人口基础信息: the core demo's 50 citizens first (same numbers and phones), then residents
    drawn from the seed; about a fifth are floating residents registered elsewhere."""
    rng = random.Random(SEED + ":residents")
    places = places or addresses()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for p in people.citizens():
        rows.append(_resident(rng, p.name, p.id_number, p.phone, places, floating=False))
        seen.add(p.id_number)
    while len(rows) < count:
        male = rng.random() < 0.5
        born = _day(rng, BORN_FROM, BORN_DAYS)
        floating = rng.random() < FLOATING_SHARE and born.year < 2008
        place = _elsewhere(rng, born)[0] if floating else _local_birthplace(rng, born)
        number = codes.resident_id(place, born, rng.randrange(1, 499), male)
        if number in seen:
            continue
        seen.add(number)
        rows.append(_resident(rng, _name(rng, male), number, _mobile(rng), places, floating))
    return rows


def _resident(
    rng: random.Random, name: str, number: str, phone: str, places: list[Address], floating: bool
) -> dict[str, Any]:
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    home = rng.choice(places)
    if floating:
        registered = dict(ELSEWHERE).get(number[:6]) or _elsewhere(rng, born)[1]
        road = rng.choice(("人民路", "解放路", "建设路", "和平路"))
        household = f"{registered}{road}{rng.randrange(1, 300)}号"
    else:
        household = rng.choice(places).full
    return {
        "姓名": name,
        "公民身份号码": number,
        "性别": "男" if int(number[16]) % 2 else "女",
        "民族": _pick(rng, ETHNIC),
        "出生日期": born,
        "户籍地址": household,
        "居住地址": _dwelling(rng, home),
        "联系电话": phone,
        "人口类型": "流动人口" if floating else "户籍人口",
        "数据来源部门": "南京市公安局" if floating else _pick(rng, SOURCES),
    }


def moves(rows: list[dict[str, Any]], places: list[Address], count: int = 30) -> list[dict[str, Any]]:
    """Residents who moved within the city: the same people with a new 居住地址 (an incremental load)."""
    rng = random.Random(SEED + ":moves")
    moved = []
    for row in rng.sample(rows, count):
        moved.append({**row, "居住地址": _dwelling(rng, rng.choice(places))})
    return moved


# --- legal units -------------------------------------------------------------------------------------


def enterprises(count: int = ENTERPRISES, places: list[Address] | None = None) -> list[dict[str, Any]]:
    """企业登记注册信息: the core demo's 20 enterprises (same credit codes), then more from the seed."""
    rng = random.Random(SEED + ":enterprises")
    places = places or addresses()
    by_county: dict[str, list[Address]] = {}
    for a in places:
        by_county.setdefault(a.county, []).append(a)
    today = AS_OF
    rows: list[dict[str, Any]] = []
    names: set[str] = set()
    for (name, county, modern), party in zip(people.ENTERPRISES, people.enterprises(), strict=True):
        word = next(line for key, line in KEYWORDS if key in name)
        line = next(ln for ln in LINES if ln[0] == word)
        founded = _day(rng, dt.date(2015, 6, 1), 3000) if modern else _day(rng, dt.date(1998, 1, 1), 6000)
        form = FORMS[0] if "有限公司" in name else ("农民专业合作社", "合作社", 0)
        rows.append(_enterprise(rng, name, party.id_number, county, line, form, founded, by_county, today))
        names.add(name)
    while len(rows) < count:
        county = rng.choice(list(city.DISTRICTS))
        district = city.DISTRICTS[county][0]
        line = rng.choice(LINES)
        form = _pick(rng, tuple((f, f[2]) for f in FORMS))
        name = f"南京{rng.choice(TRADE_NAMES)}{line[0]}{form[1]}"
        if name in names:
            name = f"南京{district[:2]}{rng.choice(TRADE_NAMES)}{line[0]}{form[1]}"
        if name in names:
            continue
        names.add(name)
        founded = _day(rng, dt.date(1996, 1, 1), (today - dt.date(1996, 1, 1)).days - 30)
        number = codes.credit_code(codes.ENTERPRISE, county, name, founded.year >= 2015)
        rows.append(_enterprise(rng, name, number, county, line, form, founded, by_county, today))
    return rows


def _enterprise(
    rng: random.Random,
    name: str,
    number: str,
    county: str,
    line: tuple[str, str],
    form: tuple[str, str, float],
    founded: dt.date,
    by_county: dict[str, list[Address]],
    today: dt.date,
) -> dict[str, Any]:
    seat = rng.choice(by_county[county])
    big = rng.random() < 0.15
    authority = "南京市市场监督管理局" if big else f"{city.DISTRICTS[county][0]}市场监督管理局"
    state = _pick(rng, STATES)
    approved = founded + dt.timedelta(days=rng.randrange(max(1, (today - founded).days)))
    return {
        "统一社会信用代码": number,
        "企业名称": name,
        "企业类型": form[0],
        "法定代表人姓名": _name(rng, rng.random() < 0.7),
        "注册资本": rng.choice(CAPITALS[3:] if big else CAPITALS),
        "成立日期": founded,
        "住所": f"{seat.full}{rng.randrange(1, 20)}层{rng.randrange(1, 30):02d}室",
        "经营范围": line[1],
        "登记机关": authority,
        "登记状态": state,
        "核准日期": approved,
    }


UNIT_TYPES = {
    "enterprise": "企业法人",
    "department": "机关法人",
    "government": "机关法人",
    "institution": "事业单位法人",
}


def legal_units(firms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """法人单位基础信息: the enterprises still registered, and the demo city's government bodies with the
    credit codes the core demo gave them (codes.credit_code of their names)."""
    rng = random.Random(SEED + ":legal-units")
    rows = [
        {
            "统一社会信用代码": f["统一社会信用代码"],
            "单位名称": f["企业名称"],
            "单位类型": UNIT_TYPES["enterprise"],
            "法定代表人姓名": f["法定代表人姓名"],
            "注册地址": f["住所"],
            "成立日期": f["成立日期"],
            "登记机关": f["登记机关"],
            "经营状态": f["登记状态"],
        }
        for f in firms
        if f["登记状态"] in ALIVE
    ]
    for name, kind, division in _bodies():
        prefix = codes.INSTITUTION if kind == "institution" else codes.ORGAN
        rows.append(
            {
                "统一社会信用代码": codes.credit_code(prefix, division, name),
                "单位名称": name,
                "单位类型": UNIT_TYPES[kind],
                "法定代表人姓名": _name(rng, rng.random() < 0.75),
                "注册地址": f"{city.PROVINCE[1]}{city.CITY[1]}{city.DISTRICTS.get(division, ('',))[0]}"
                f"{rng.choice(ROADS.get(division, ROADS['320102']))}{rng.randrange(1, 300)}号",
                "成立日期": _day(rng, dt.date(1980, 1, 1), 9000),
                "登记机关": "南京市机构编制委员会办公室",
                "经营状态": "正常",
            }
        )
    return rows


def _bodies() -> Iterator[tuple[str, str, str]]:
    """(name, kind, division) of the city government, its 委办局 and the district governments."""
    yield f"{city.CITY[1]}人民政府", "government", city.CITY[0]
    for d in city.CITY_DEPARTMENTS:
        yield d.name, d.kind, city.CITY[0]
    for code, (name, _key, _streets) in city.DISTRICTS.items():
        yield f"{name}人民政府", "government", code

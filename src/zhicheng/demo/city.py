"""The demo city's geography and government: 江苏省 → 南京市 → its eleven districts → streets → communities.

Province, city, district and street codes are the real GB/T 2260 / 统计用区划代码 codes. Community codes
follow the same scheme (street code + 3 digits: 0xx for 社区居委会, 2xx for 村委会); their names are
realistic but illustrative, not an official list.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = ("320000", "江苏省")
CITY = ("320100", "南京市")

# county code → (name, pinyin key used in the returned info, {street code suffix: (street name, communities)})
DISTRICTS: dict[str, tuple[str, str, dict[str, tuple[str, tuple[str, ...]]]]] = {
    "320102": (
        "玄武区",
        "xuanwu",
        {
            "002": ("梅园新村街道", ("长江路社区", "大行宫社区", "碑亭巷社区", "梅园社区")),
            "003": ("新街口街道", ("丰富路社区", "文昌巷社区", "慧园社区", "估衣廊社区")),
            "005": ("玄武门街道", ("湖北路社区", "高楼门社区", "台城社区")),
            "007": ("锁金村街道", ("锁金一村社区", "锁金二村社区", "樱铁村社区")),
            "008": ("红山街道", ("红山社区", "和燕路社区", "童家巷社区")),
            "009": ("孝陵卫街道", ("孝陵卫社区", "钟灵社区", "卫岗社区", "中山门社区")),
        },
    ),
    "320104": (
        "秦淮区",
        "qinhuai",
        {
            "001": ("秦虹街道", ("秦虹社区", "虹苑社区", "晨光社区")),
            "002": ("夫子庙街道", ("钞库街社区", "平江府社区", "贡院社区", "乌衣巷社区")),
            "004": ("双塘街道", ("双塘社区", "饮马巷社区", "长乐路社区")),
            "006": ("中华门街道", ("中华门社区", "雨花路社区", "长干里社区")),
            "008": ("洪武路街道", ("洪武路社区", "常府街社区", "户部街社区")),
            "011": ("瑞金路街道", ("瑞金北村社区", "瑞金新村社区", "解放路社区")),
        },
    ),
    "320105": (
        "建邺区",
        "jianye",
        {
            "006": ("兴隆街道", ("奥体社区", "兴隆社区", "华新社区")),
            "007": ("南苑街道", ("南苑社区", "吉庆社区", "庐山路社区")),
            "008": ("双闸街道", ("双闸社区", "江山社区", "渡江社区")),
            "009": ("沙洲街道", ("沙洲社区", "新城社区", "滨湖社区")),
            "010": ("江心洲街道", ("江心洲社区", "洲岛社区")),
            "011": ("莫愁湖街道", ("莫愁湖社区", "南湖社区", "文体社区", "清凉门社区")),
        },
    ),
    "320106": (
        "鼓楼区",
        "gulou",
        {
            "001": ("宁海路街道", ("宁海路社区", "颐和路社区", "北京西路社区", "江苏路社区")),
            "002": ("华侨路街道", ("华侨路社区", "汉中门社区", "五台山社区")),
            "003": ("湖南路街道", ("湖南路社区", "马台街社区", "青云巷社区")),
            "004": ("中央门街道", ("中央门社区", "福建路社区", "南瑞路社区")),
            "005": ("挹江门街道", ("挹江门社区", "西桥社区", "阅江楼社区")),
            "006": ("江东街道", ("江东社区", "草场门社区", "龙江社区")),
        },
    ),
    "320111": (
        "浦口区",
        "pukou",
        {
            "004": ("江浦街道", ("江浦社区", "珠江社区", "浦园社区")),
            "005": ("桥林街道", ("桥林社区", "林蒲社区", "石碛村")),
            "006": ("汤泉街道", ("汤泉社区", "九龙社区", "瓦殿村")),
            "008": ("星甸街道", ("星甸社区", "九华村", "后圩村")),
            "009": ("永宁街道", ("永宁社区", "侯冲村", "大桥村")),
        },
    ),
    "320113": (
        "栖霞区",
        "qixia",
        {
            "001": ("尧化街道", ("尧化门社区", "尧林社区", "新尧社区")),
            "002": ("马群街道", ("马群社区", "百水社区", "花岗社区")),
            "003": ("迈皋桥街道", ("迈皋桥社区", "华电社区", "寅春社区")),
            "004": ("燕子矶街道", ("燕子矶社区", "吉祥庵社区", "和燕社区")),
            "005": ("仙林街道", ("仙鹤社区", "文苑社区", "仙林湖社区")),
            "007": ("龙潭街道", ("龙潭社区", "营防社区", "靖安社区")),
        },
    ),
    "320114": (
        "雨花台区",
        "yuhuatai",
        {
            "002": ("赛虹桥街道", ("赛虹桥社区", "凤台南路社区", "小行社区")),
            "003": ("雨花街道", ("雨花新村社区", "共青团社区", "花神庙社区")),
            "004": ("西善桥街道", ("西善桥社区", "岱山社区", "油坊桥社区")),
            "005": ("板桥街道", ("板桥社区", "新林社区", "三山社区")),
            "006": ("铁心桥街道", ("铁心桥社区", "韩府山社区", "大定坊社区")),
            "008": ("梅山街道", ("梅山第一社区", "梅山第二社区")),
        },
    ),
    "320115": (
        "江宁区",
        "jiangning",
        {
            "001": ("东山街道", ("东山社区", "竹山社区", "上坊社区", "百家湖社区")),
            "004": ("禄口街道", ("禄口社区", "机场社区", "曹村村")),
            "006": ("麒麟街道", ("麒麟社区", "泉水社区", "锁石村")),
            "008": ("江宁街道", ("江宁社区", "牧龙社区", "花塘村")),
            "010": ("汤山街道", ("汤山社区", "阜庄社区", "孟墓社区")),
            "011": ("秣陵街道", ("秣陵社区", "殷巷社区", "将军山社区")),
        },
    ),
    "320116": (
        "六合区",
        "luhe",
        {
            "001": ("龙池街道", ("龙池社区", "新集社区", "长城村")),
            "002": ("雄州街道", ("雄州社区", "园林社区", "灵岩社区")),
            "003": ("横梁街道", ("横梁社区", "新篁社区", "石柱林村")),
            "004": ("金牛湖街道", ("金牛湖社区", "八百河社区", "大圣村")),
            "007": ("龙袍街道", ("龙袍社区", "赵坝村", "长江村")),
        },
    ),
    "320117": (
        "溧水区",
        "lishui",
        {
            "001": ("永阳街道", ("永阳社区", "中山社区", "秦淮社区")),
            "002": ("柘塘街道", ("柘塘社区", "乌山社区", "孙家巷村")),
            "003": ("东屏街道", ("东屏社区", "白鹿村", "长乐村")),
            "004": ("石湫街道", ("石湫社区", "明觉村", "向阳村")),
            "101": ("白马镇", ("白马社区", "石头寨村", "曹家桥村")),
        },
    ),
    "320118": (
        "高淳区",
        "gaochun",
        {
            "001": ("淳溪街道", ("淳溪社区", "宝塔社区", "石臼湖社区")),
            "002": ("古柏街道", ("古柏社区", "武家嘴村", "新桥村")),
            "003": ("漆桥街道", ("漆桥社区", "双游村", "茅山村")),
            "004": ("固城街道", ("固城社区", "花联村", "漆塘村")),
            "101": ("阳江镇", ("阳江社区", "薛城村", "永宁村")),
        },
    ),
}


@dataclass(frozen=True)
class Div:
    code: str
    name: str
    parent: str | None


def divisions() -> list[Div]:
    """Every division of the demo, parents before children."""
    out = [Div(*PROVINCE, None), Div(*CITY, PROVINCE[0])]
    for county, (name, _key, _streets) in DISTRICTS.items():
        out.append(Div(county, name, CITY[0]))
    for county, (_name, _key, streets) in DISTRICTS.items():
        for suffix, (street, communities) in streets.items():
            code = county + suffix
            out.append(Div(code, street, county))
            villages = residents = 0
            for community in communities:
                # 村委会 take 2xx, 社区居委会 0xx, as in the statistical division codes
                if community.endswith("村"):
                    villages += 1
                    out.append(Div(f"{code}{200 + villages:03d}", community, code))
                else:
                    residents += 1
                    out.append(Div(f"{code}{residents:03d}", community, code))
    return out


@dataclass(frozen=True)
class Dept:
    key: str  # stable name in the returned info
    name: str
    short: str
    kind: str = "department"  # department | institution
    parent: str | None = None  # key of the 块 parent when it is not the government itself


# 委办局 of the city government. `key` names them in the info dict that later modules read.
CITY_DEPARTMENTS: tuple[Dept, ...] = (
    Dept("development_reform", "南京市发展和改革委员会", "市发展改革委"),
    Dept("education", "南京市教育局", "市教育局"),
    Dept("science_technology", "南京市科学技术局", "市科技局"),
    Dept("industry_it", "南京市工业和信息化局", "市工信局"),
    Dept("public_security", "南京市公安局", "市公安局"),
    Dept("civil_affairs", "南京市民政局", "市民政局"),
    Dept("justice", "南京市司法局", "市司法局"),
    Dept("finance", "南京市财政局", "市财政局"),
    Dept("human_resources", "南京市人力资源和社会保障局", "市人社局"),
    Dept("natural_resources", "南京市规划和自然资源局", "市规划资源局"),
    Dept("ecology_environment", "南京市生态环境局", "市生态环境局"),
    Dept("urban_rural_construction", "南京市城乡建设委员会", "市建委"),
    Dept("housing", "南京市住房保障和房产局", "市房产局"),
    Dept("transport", "南京市交通运输局", "市交通运输局"),
    Dept("water", "南京市水务局", "市水务局"),
    Dept("agriculture", "南京市农业农村局", "市农业农村局"),
    Dept("commerce", "南京市商务局", "市商务局"),
    Dept("culture_tourism", "南京市文化和旅游局", "市文旅局"),
    Dept("health", "南京市卫生健康委员会", "市卫健委"),
    Dept("emergency", "南京市应急管理局", "市应急管理局"),
    Dept("audit_office", "南京市审计局", "市审计局"),
    Dept("market_regulation", "南京市市场监督管理局", "市市场监管局"),
    Dept("city_management", "南京市城市管理局", "市城管局"),
    Dept("medical_security", "南京市医疗保障局", "市医保局"),
    Dept("taxation", "国家税务总局南京市税务局", "市税务局"),
    Dept("data_authority", "南京市数据局", "市数据局"),
    Dept("approval_bureau", "南京市政务服务管理办公室", "市政务办"),
    Dept("hotline", "南京市12345政务服务便民热线中心", "12345热线中心", "institution", "approval_bureau"),
    Dept("data_center", "南京市大数据中心", "市大数据中心", "institution", "data_authority"),
)

# departments every district government has; `line` is the key of the city department above it (条)
DISTRICT_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("public_security", "南京市公安局{short}分局", "public_security"),
    ("market_regulation", "{name}市场监督管理局", "market_regulation"),
    ("city_management", "{name}城市管理局", "city_management"),
    ("civil_affairs", "{name}民政局", "civil_affairs"),
    ("approval_bureau", "{name}政务服务管理办公室", "approval_bureau"),
    ("data_authority", "{name}数据局", "data_authority"),
)


def district_department_name(pattern: str, district: str) -> str:
    # "玄武区" → short "玄武" for the police branch (南京市公安局玄武分局)
    return pattern.format(name=district, short=district[:-1])

"""The data of the one-stop services demo (approvals/demo.py): certificate types, flows, service items, logins
and the stories of the demo cases. Departments are named by their keys in zhicheng/demo/city.py.

Legal bases cite the real laws and regulations; limits are in working days (承诺时限 ≤ 法定时限, as Nanjing's
政务服务 guide lists them, rounded); codes follow the shape 320100-<type>-<number> (the city's division, the
type's initials, a serial). Items marked `bureau` are taken over by the approval bureau (市政务办 signs and
seals them, `org_id`), the department still decides (`deciding_org_id`): the catalog shows who really decides.
"""

from __future__ import annotations

from dataclasses import dataclass

BUREAU = "approval_bureau"
# the four departments of the construction permit's joint review (工程建设项目审批制度改革: 并联审批)
JOINT = ("urban_rural_construction", "natural_resources", "emergency", "water")

# 电子证照类型: (code, name, holder kind, validity years, printed fields = form keys of the items issuing it)
CERT_TYPES: tuple[tuple[str, str, str, int | None, tuple[str, ...]], ...] = (
    ("JZSGXK", "建筑工程施工许可证", "enterprise", None, ("project", "site")),
    ("JSYDGHXK", "建设用地规划许可证", "enterprise", None, ("project", "site")),
    ("JSGCGHXK", "建设工程规划许可证", "enterprise", None, ("project", "site")),
    ("JZYQYZZ", "建筑业企业资质证书", "enterprise", 5, ("business", "scope")),
    ("SPFYSXK", "商品房预售许可证", "enterprise", None, ("project", "site")),
    ("SPJYXK", "食品经营许可证", "enterprise", 5, ("business", "address", "scope")),
    ("YYZZ", "营业执照", "enterprise", None, ("business", "address", "scope")),
    ("TZSBSYDJ", "特种设备使用登记证", "enterprise", None, ("business", "address", "scope")),
    ("YLJGZYXK", "医疗机构执业许可证", "enterprise", 5, ("business", "address", "scope")),
    ("GGCSWSXK", "公共场所卫生许可证", "enterprise", 4, ("business", "address", "scope")),
    ("RLZYFWXK", "人力资源服务许可证", "enterprise", None, ("business", "address", "scope")),
    ("SHTTDJ", "社会团体法人登记证书", "any", 5, ("business", "address", "scope")),
    ("MBFQYDJ", "民办非企业单位登记证书", "any", 5, ("business", "address", "scope")),
    ("DLYSJYXK", "道路运输经营许可证", "enterprise", 4, ("business", "address", "scope")),
    ("PSXK", "城镇污水排入排水管网许可证", "enterprise", 5, ("business", "address", "scope")),
    ("QSXK", "取水许可证", "enterprise", 5, ("project", "site")),
    ("PWXK", "排污许可证", "enterprise", 5, ("business", "address", "scope")),
    ("JSZGZS", "教师资格证书", "citizen", None, ("level", "subject")),
    ("MBXXBXXK", "民办学校办学许可证", "any", 5, ("business", "address", "scope")),
    ("LXSYWJYXK", "旅行社业务经营许可证", "enterprise", None, ("business", "address", "scope")),
    ("WHPJYXK", "危险化学品经营许可证", "enterprise", 3, ("business", "address", "scope")),
    ("JZLJCZHZ", "城市建筑垃圾处置核准文件", "enterprise", 1, ("project", "site")),
    ("NYJYXK", "农药经营许可证", "enterprise", 5, ("business", "address", "scope")),
)


def flows(org: dict[str, int]) -> list[tuple[str, str, dict]]:
    """(code, name, definition) of the demo's flows; every case is accepted at the bureau's one window."""
    window = org[BUREAU]

    def accept(nxt: str) -> dict:
        return {
            "id": "accept",
            "kind": "accept",
            "name": "综合窗口受理",
            "days": 1,
            "org_id": window,
            "next": nxt,
        }

    decide = {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"}
    deliver = {"id": "deliver", "kind": "deliver", "name": "出件送达", "days": 3, "org_id": window}
    return [
        (
            "construction",
            "建筑工程施工许可并联审批",
            {
                "stages": [
                    accept("joint"),
                    {
                        "id": "joint",
                        "kind": "joint_review",
                        "name": "多部门并联审查",
                        "days": 8,
                        "departments": [org[k] for k in JOINT],
                        "on_reject": {"action": "reject"},
                        "next": "decide",
                    },
                    decide,
                    deliver,
                ]
            },
        ),
        (
            "general",
            "一般审批（审查、决定）",
            {
                "stages": [
                    accept("review"),
                    {"id": "review", "kind": "review", "days": 3, "next": "decide"},
                    decide,
                    deliver,
                ]
            },
        ),
        (
            "twostep",
            "两级审查（初审、复审，复审不通过退回初审）",
            {
                "stages": [
                    accept("first"),
                    {"id": "first", "kind": "review", "name": "初审", "days": 4, "next": "second"},
                    {
                        "id": "second",
                        "kind": "review",
                        "name": "复审",
                        "days": 3,
                        "on_reject": {"action": "return", "to": "first"},
                        "next": "decide",
                    },
                    decide,
                    deliver,
                ]
            },
        ),
        (
            "inspect",
            "现场核查审批（审查含现场核查、决定）",
            {
                "stages": [
                    accept("review"),
                    {
                        "id": "review",
                        "kind": "review",
                        "name": "审查与现场核查",
                        "days": 13,
                        "next": "decide",
                    },
                    decide,
                    deliver,
                ]
            },
        ),
        (
            "instant",
            "即办件（受理即决定）",
            {
                "stages": [
                    accept("decide"),
                    {"id": "decide", "kind": "decide", "name": "即时办结", "days": 1, "next": "deliver"},
                    deliver,
                ]
            },
        ),
    ]


# forms: the fields an applicant fills in (key, label, type); certificates print some of them
FORMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "project": (
        ("project", "项目名称", "text"),
        ("site", "建设地点", "text"),
        ("investment", "合同价格（万元）", "number"),
        ("phone", "联系电话", "phone"),
    ),
    "business": (
        ("business", "单位名称", "text"),
        ("address", "经营（办公）场所", "text"),
        ("scope", "申请事项（经营项目、业务范围）", "text"),
        ("phone", "联系电话", "phone"),
    ),
    "teacher": (
        ("level", "资格种类", "text"),
        ("subject", "任教学科", "text"),
        ("phone", "联系电话", "phone"),
    ),
    "person": (("purpose", "申请事由", "text"), ("phone", "联系电话", "phone")),
}

# materials: (code, name, flags): core 主审要件 · rq 容缺 · opt 非必需
MATERIALS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "project": (
        ("form", "申请表（加盖单位公章）", "core"),
        ("land", "用地批准手续", "core"),
        ("drawings", "施工图设计文件审查合格书", "rq"),
        ("contract", "中标通知书及施工合同", ""),
        ("photo", "项目现场照片", "opt"),
    ),
    "business": (
        ("form", "申请书", "core"),
        ("license", "营业执照或法人登记证书", "core"),
        ("premises", "经营场所使用证明（产权证明或租赁合同）", "rq"),
        ("plan", "场所平面布局图", ""),
        ("photo", "场所照片", "opt"),
    ),
    "teacher": (
        ("form", "教师资格认定申请表", "core"),
        ("degree", "学历证书", "core"),
        ("health", "体检合格证明", "rq"),
        ("mandarin", "普通话水平测试等级证书", ""),
    ),
    "person": (
        ("form", "申请表", "core"),
        ("id", "居民身份证", "core"),
        ("proof", "相关证明材料", "rq"),
        ("photo", "本人近期照片", "opt"),
    ),
}


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    kind: str  # Chinese type name (行政许可, ...)
    dept: str  # city.py key of the department that decides
    bureau: bool  # taken over by the approval bureau (it implements, the department decides)
    basis: str
    statutory: int
    promised: int
    flow: str
    form: str
    cert: str | None = None  # certificate type code
    fee: str = "不收费"
    conditions: str = ""
    result: str = ""


# fmt: off
ITEMS: tuple[Item, ...] = (
    # 住建 (市建委)
    Item("320100-XK-0001", "建筑工程施工许可证核发", "行政许可", "urban_rural_construction", True,
         "《中华人民共和国建筑法》第七条、第八条；《建筑工程施工许可管理办法》第二条", 15, 10, "construction",
         "project", "JZSGXK",
         conditions="已办理用地批准手续；依法应当办理建设工程规划许可证的，已取得规划许可证；施工图设计文件已审查合格；"
                    "有满足施工需要的资金安排、施工图纸及技术资料"),
    Item("320100-QR-0002", "房屋建筑和市政基础设施工程竣工验收备案", "行政确认", "urban_rural_construction",
         False,
         "《建设工程质量管理条例》第四十九条；《房屋建筑和市政基础设施工程竣工验收备案管理办法》", 15, 5,
         "general", "project", result="竣工验收备案表"),
    Item("320100-XK-0003", "建筑业企业资质核准（施工总承包三级）", "行政许可", "urban_rural_construction",
         False,
         "《中华人民共和国建筑法》第十三条；《建筑业企业资质管理规定》第十条", 20, 15, "twostep", "business",
         "JZYQYZZ"),
    # 规划资源
    Item("320100-XK-0004", "建设用地规划许可证核发", "行政许可", "natural_resources", True,
         "《中华人民共和国城乡规划法》第三十七条、第三十八条", 20, 10, "general", "project", "JSYDGHXK"),
    Item("320100-XK-0005", "建设工程规划许可证核发", "行政许可", "natural_resources", True,
         "《中华人民共和国城乡规划法》第四十条；《江苏省城乡规划条例》第四十一条", 20, 12, "twostep",
         "project", "JSGCGHXK"),
    Item("320100-GG-0006", "不动产登记资料查询", "公共服务", "natural_resources", False,
         "《不动产登记暂行条例》第二十七条；《不动产登记资料查询暂行办法》", 5, 1, "instant", "person",
         result="不动产登记资料查询结果证明"),
    # 市场监管
    Item("320100-XK-0007", "食品经营许可（新办）", "行政许可", "market_regulation", True,
         "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》第九条", 20, 10, "twostep",
         "business", "SPJYXK",
         conditions="具有与经营的食品品种、数量相适应的经营场所和设施；有专职或者兼职的食品安全管理人员和保证食品安全的规章制度"),
    Item("320100-XK-0008", "企业设立登记", "行政许可", "market_regulation", False,
         "《中华人民共和国市场主体登记管理条例》第三条、第十九条", 3, 1, "instant", "business", "YYZZ"),
    Item("320100-QR-0009", "特种设备使用登记", "行政确认", "market_regulation", False,
         "《中华人民共和国特种设备安全法》第三十三条；《特种设备使用管理规则》", 15, 5, "general", "business",
         "TZSBSYDJ"),
    # 卫健
    Item("320100-XK-0010", "医疗机构执业登记", "行政许可", "health", True,
         "《医疗机构管理条例》第十五条、第十六条", 45, 15, "inspect", "business", "YLJGZYXK"),
    Item("320100-XK-0011", "公共场所卫生许可", "行政许可", "health", False,
         "《公共场所卫生管理条例》第八条；《公共场所卫生管理条例实施细则》第二十二条", 20, 7, "general",
         "business", "GGCSWSXK"),
    Item("320100-GG-0012", "生育登记服务", "公共服务", "health", False,
         "《中华人民共和国人口与计划生育法》；《江苏省人口与计划生育条例》", 5, 1, "instant", "person",
         result="生育登记服务单"),
    # 人社
    Item("320100-XK-0013", "经营性人力资源服务机构设立许可", "行政许可", "human_resources", True,
         "《人力资源市场暂行条例》第十八条", 20, 10, "general", "business", "RLZYFWXK"),
    Item("320100-QR-0014", "就业困难人员认定", "行政确认", "human_resources", False,
         "《中华人民共和国就业促进法》第五十二条；《江苏省就业促进条例》", 10, 5, "general", "person",
         result="就业困难人员认定结果"),
    Item("320100-GF-0015", "失业保险金申领", "行政给付", "human_resources", False,
         "《中华人民共和国社会保险法》第四十五条；《失业保险条例》第十四条", 10, 5, "general", "person",
         result="失业保险金核定通知"),
    # 民政
    Item("320100-XK-0016", "社会团体成立登记", "行政许可", "civil_affairs", False,
         "《社会团体登记管理条例》第十一条、第十二条", 60, 20, "twostep", "business", "SHTTDJ"),
    Item("320100-XK-0017", "民办非企业单位成立登记", "行政许可", "civil_affairs", False,
         "《民办非企业单位登记管理暂行条例》第八条、第十一条", 60, 20, "twostep", "business", "MBFQYDJ"),
    Item("320100-GF-0018", "最低生活保障审核确认", "行政给付", "civil_affairs", False,
         "《社会救助暂行办法》第十一条；《江苏省最低生活保障工作规程》", 30, 20, "inspect", "person",
         result="最低生活保障审核确认决定"),
    # 交通运输
    Item("320100-XK-0019", "道路货物运输经营许可", "行政许可", "transport", True,
         "《中华人民共和国道路运输条例》第二十四条；《道路货物运输及站场管理规定》", 20, 7, "general",
         "business", "DLYSJYXK"),
    Item("320100-XK-0020", "出租汽车驾驶员从业资格注册", "行政许可", "transport", False,
         "《巡游出租汽车经营服务管理规定》；《出租汽车驾驶员从业资格管理规定》第十八条", 10, 3, "instant",
         "person", result="从业资格注册记录"),
    # 水务
    Item("320100-XK-0021", "城镇污水排入排水管网许可", "行政许可", "water", True,
         "《城镇排水与污水处理条例》第二十一条；《城镇污水排入排水管网许可管理办法》", 20, 7, "general",
         "business", "PSXK"),
    Item("320100-XK-0022", "取水许可", "行政许可", "water", False,
         "《中华人民共和国水法》第四十八条；《取水许可和水资源费征收管理条例》第二十一条", 45, 15, "inspect",
         "project", "QSXK", fee="依法缴纳水资源费（税）"),
    # 生态环境
    Item("320100-XK-0023", "建设项目环境影响报告表审批", "行政许可", "ecology_environment", True,
         "《中华人民共和国环境影响评价法》第二十二条", 30, 15, "twostep", "project",
         result="环境影响报告表批复"),
    Item("320100-XK-0024", "排污许可证核发", "行政许可", "ecology_environment", False,
         "《排污许可管理条例》第二条、第十一条", 20, 15, "inspect", "business", "PWXK"),
    # 教育
    Item("320100-XK-0025", "教师资格认定", "行政许可", "education", False,
         "《中华人民共和国教师法》第十三条；《教师资格条例》第十三条", 30, 15, "general", "teacher",
         "JSZGZS"),
    Item("320100-XK-0026", "民办学校办学许可（实施学历教育）", "行政许可", "education", False,
         "《中华人民共和国民办教育促进法》第十二条、第十七条", 60, 20, "twostep", "business", "MBXXBXXK"),
    # 文旅
    Item("320100-XK-0027", "旅行社业务经营许可", "行政许可", "culture_tourism", True,
         "《旅行社条例》第六条、第七条", 20, 12, "general", "business", "LXSYWJYXK",
         fee="不收费（取得许可后依法缴纳旅游服务质量保证金）"),
    Item("320100-XK-0028", "营业性演出审批", "行政许可", "culture_tourism", False,
         "《营业性演出管理条例》第十三条", 3, 2, "instant", "business", result="营业性演出批准文件"),
    # 应急
    Item("320100-XK-0029", "危险化学品经营许可证核发", "行政许可", "emergency", True,
         "《危险化学品安全管理条例》第三十三条、第三十五条；《危险化学品经营许可证管理办法》", 30, 15,
         "inspect", "business", "WHPJYXK"),
    # 城管
    Item("320100-XK-0030", "城市建筑垃圾处置核准", "行政许可", "city_management", True,
         "《国务院对确需保留的行政审批项目设定行政许可的决定》第101项；《城市建筑垃圾管理规定》第七条", 20, 7,
         "general", "project", "JZLJCZHZ"),
    Item("320100-XK-0031", "设置大型户外广告审批", "行政许可", "city_management", False,
         "《国务院对确需保留的行政审批项目设定行政许可的决定》第107项；《南京市户外广告设施和店招标牌管理办法》",
         20, 10, "general", "business", result="户外广告设置许可决定书"),
    # 医保
    Item("320100-GG-0032", "异地就医备案", "公共服务", "medical_security", False,
         "《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》"
         "（医保发〔2022〕22号）",
         5, 1, "instant", "person", result="异地就医备案回执"),
    # 房产
    Item("320100-XK-0033", "商品房预售许可", "行政许可", "housing", True,
         "《中华人民共和国城市房地产管理法》第四十五条；《城市商品房预售管理办法》第七条", 10, 7, "general",
         "project", "SPFYSXK"),
    # 农业农村
    Item("320100-XK-0034", "农药经营许可", "行政许可", "agriculture", False,
         "《农药管理条例》第二十四条；《农药经营许可管理办法》第十条", 20, 10, "general", "business",
         "NYJYXK"),
    # 商务
    Item("320100-QR-0035", "对外贸易经营者备案登记", "行政确认", "commerce", False,
         "《中华人民共和国对外贸易法》第九条", 5, 2, "instant", "business", result="备案登记表"),
    # 司法
    Item("320100-GG-0036", "法律援助申请", "公共服务", "justice", False,
         "《中华人民共和国法律援助法》第三十八条、第四十三条", 7, 3, "instant", "person",
         result="给予法律援助决定书"),
)
# fmt: on

# logins of one-stop services (password people.DEMO_PASSWORD): (username, display name, role, org key)
# `citizen` is linked to the first demo citizen (people.citizens()[0]) and applies in the city
LOGINS: tuple[tuple[str, str, str, str], ...] = (
    ("citizen", "", "applicant", "city"),
    ("window", "钱晓雯", "approvals_window", BUREAU),
    ("review_zj", "孙建平", "approvals_reviewer", "urban_rural_construction"),
    ("review_gh", "何志远", "approvals_reviewer", "natural_resources"),
    ("review_xf", "冯立新", "approvals_reviewer", "emergency"),
    ("review_sw", "蒋文涛", "approvals_reviewer", "water"),
    ("decider", "马国华", "approvals_decider", "urban_rural_construction"),
    ("supervisor", "韩雪梅", "approvals_supervisor", "city"),
    ("items", "曹静宜", "approvals_manager", BUREAU),
)
# where each login belongs when the role is granted higher up (the supervisor sits in the bureau)
LOGIN_HOME = {"supervisor": BUREAU}

# the enterprise on the credit blacklist: no 容缺 for it
BLACKLISTED = 19  # index in people.enterprises()
BLACKLIST_REASON = "因拖欠农民工工资被列入拖欠农民工工资失信联合惩戒对象名单，惩戒期内不适用容缺受理"

# a case: (key, item code, applicant, working days ago it was submitted, steps)
# applicant: "me" (the `citizen` login), "c<n>" a demo citizen, "e<n>" a demo enterprise.
# steps, one working day apart (wait:N skips N): submit | submit-rq (without its 容缺 material) |
# correct (the window asks for corrections) | supply (the applicant hands in what was asked or missing) |
# refuse | accept | accept-rq | accept-rq3 (3 days to supplement) | approve[:dept,...] (review tasks of the
# stage: all, or those of these departments) | reject:<dept> | pause | decide | deny |
# deliver:<online|window|mail> | wait:N
# fmt: off
CASES: tuple[tuple[str, str, str, int, tuple[str, ...]], ...] = (
    # the construction permit: a joint review by 4 departments
    ("jz-new", "320100-XK-0001", "e0", 0, ("submit",)),
    ("jz-correct", "320100-XK-0001", "e1", 1, ("submit", "correct")),
    ("jz-half", "320100-XK-0001", "e2", 3, ("submit", "accept",
                                            "approve:urban_rural_construction,natural_resources")),
    ("jz-rongque", "320100-XK-0001", "e3", 3, ("submit-rq", "accept-rq", "approve:natural_resources")),
    ("jz-lapsed", "320100-XK-0001", "e4", 12, ("submit-rq", "accept-rq3", "approve:water,emergency")),
    ("jz-rejected", "320100-XK-0001", "e5", 6, ("submit", "accept", "approve:urban_rural_construction,water",
                                               "reject:emergency", "approve:natural_resources")),
    ("jz-decide", "320100-XK-0001", "e6", 3, ("submit", "accept", "approve")),
    ("jz-completed", "320100-XK-0001", "e7", 12, ("submit", "accept", "approve", "wait:1", "decide",
                                                  "deliver:mail")),
    ("jz-delivering", "320100-XK-0001", "e8", 9, ("submit", "accept", "wait:5", "approve", "decide")),
    ("jz-overdue", "320100-XK-0001", "e9", 15, ("submit", "accept",
                                                "approve:urban_rural_construction,natural_resources")),
    ("jz-supplied", "320100-XK-0001", "e10", 14, ("submit-rq", "accept-rq", "approve", "wait:2", "supply",
                                                  "decide", "deliver:window")),
    ("jz-blacklisted", "320100-XK-0001", "e19", 1, ("submit-rq", "correct")),
    # other departments
    ("food-new", "320100-XK-0007", "e11", 0, ("submit",)),
    ("food-returned", "320100-XK-0007", "e12", 5, ("submit", "accept", "approve",
                                                   "reject:market_regulation")),
    ("clinic-paused", "320100-XK-0010", "e13", 6, ("submit", "accept", "wait:2", "pause")),
    ("hr-refused", "320100-XK-0013", "e14", 4, ("submit", "refuse")),
    ("teacher-me", "320100-XK-0025", "me", 16, ("submit", "accept", "wait:3", "approve", "decide",
                                               "deliver:online")),
    ("teacher-c1", "320100-XK-0025", "c1", 2, ("submit", "accept")),
    ("teacher-c3", "320100-XK-0025", "c3", 20, ("submit", "accept", "wait:4", "approve", "decide",
                                               "deliver:mail")),
    ("birth-me", "320100-GG-0012", "me", 30, ("submit", "accept", "decide", "deliver:online")),
    ("jobless-me", "320100-QR-0014", "me", 1, ("submit", "correct")),
    ("permit-yellow", "320100-XK-0024", "e15", 14, ("submit", "accept", "wait:11", "approve")),
    ("water-red", "320100-XK-0022", "e16", 19, ("submit", "accept")),
    ("freight-done", "320100-XK-0019", "e17", 10, ("submit", "accept", "approve", "decide",
                                                   "deliver:window")),
    ("travel-late", "320100-XK-0027", "e18", 30, ("submit", "accept", "wait:14", "approve", "decide",
                                                  "deliver:online")),
    ("hazchem-done", "320100-XK-0029", "e19", 25, ("submit", "accept", "wait:8", "approve", "decide",
                                                   "deliver:mail")),
    ("waste-decide", "320100-XK-0030", "e0", 3, ("submit", "accept", "approve")),
    ("presale-review", "320100-XK-0033", "e1", 2, ("submit", "accept")),
    ("society-denied", "320100-XK-0016", "c2", 15, ("submit", "accept", "approve", "approve", "deny")),
    ("medins-done", "320100-GG-0032", "c4", 6, ("submit", "accept", "decide", "deliver:online")),
    ("property-new", "320100-GG-0006", "c5", 0, ("submit",)),
    ("dibao-review", "320100-GF-0018", "c6", 4, ("submit", "accept", "wait:1")),
    ("company-done", "320100-XK-0008", "e2", 8, ("submit", "accept", "decide", "deliver:window")),
    ("landuse-done", "320100-XK-0004", "e3", 18, ("submit", "accept", "wait:2", "approve", "decide",
                                                  "deliver:online")),
    ("plan-second", "320100-XK-0005", "e4", 4, ("submit", "accept", "approve")),
    ("eia-done", "320100-XK-0023", "e5", 20, ("submit", "accept", "approve", "wait:2", "approve", "decide",
                                             "deliver:online")),
    ("boiler-done", "320100-QR-0009", "e6", 9, ("submit", "accept", "approve", "decide", "deliver:window")),
    ("hygiene-delivering", "320100-XK-0011", "e7", 5, ("submit", "accept", "wait:1", "approve", "decide")),
    ("drain-done", "320100-XK-0021", "e8", 12, ("submit", "accept", "approve", "decide", "deliver:online")),
    ("legalaid-done", "320100-GG-0036", "c7", 3, ("submit", "accept", "decide", "deliver:window")),
)
# fmt: on

# the escalation the supervisor has answered (督办意见), by case key
ACKED = ("jz-overdue", "请市应急管理局、市水务局于 2 个工作日内出具并联审查意见，逾期按效能问责规定处理")

PAUSE_NOTE = "申请人执业科目涉及医学影像，需组织专家对设备配置和人员资质进行评审"
CORRECTION = {  # material or field to correct, by form template, and what the window wrote
    "project": (
        "contract",
        "施工合同未加盖双方公章且缺少合同价款页，请补正后重新上传完整的中标通知书及施工合同",
    ),
    "business": ("plan", "场所平面布局图未标注各功能区面积和操作流程走向，请按要求重新绘制并上传"),
    "teacher": ("mandarin", "普通话水平测试等级证书扫描件不清晰，无法核验证书编号，请重新上传清晰的扫描件"),
    "person": ("proof", "相关证明材料缺少原单位出具的解除劳动合同证明，请补充后一并上传"),
}
BLACKLISTED_CORRECTION = (
    "申请人列入失信联合惩戒对象名单，不适用容缺受理；请补齐施工图设计文件审查合格书后再受理"
)
REFUSAL = "申请人拟设立机构的办公场所为住宅，不符合《人力资源市场暂行条例》关于固定场所的要求，依法不予受理"
REJECTIONS = {
    "emergency": "消防设计文件中疏散楼梯的宽度和数量不满足《建筑设计防火规范》要求，消防审查不予通过",
    "market_regulation": "初审意见未对专间设置和操作流程作出核查结论，请补充现场核查记录后重新审查",
    "deny": "拟设立社会团体的业务范围与已登记的南京市摄影家协会高度重复，"
    "依据《社会团体登记管理条例》第十三条不予登记",
}
DISTRICTS = ("江北新区", "江宁区", "栖霞区", "雨花台区")
ROADS = ("浦滨路", "秣周东路", "仙林大道", "软件大道")
STREETS = ("玄武区中山路", "秦淮区中华路", "鼓楼区中央路", "建邺区江东中路")


def form_values(form: str, n: int, who: str) -> dict[str, str]:
    """What the applicant `who` filled in, varied by the case's serial `n`."""
    if form == "project":
        return {
            "project": f"{who.replace('有限公司', '')}研发中心{n}号楼工程",
            "site": f"南京市{DISTRICTS[n % 4]}{ROADS[n % 4]}{100 + n * 7}号",
            "investment": str(3000 + n * 415),
            "phone": f"025{84200000 + n * 173:08d}",
        }
    if form == "business":
        return {
            "business": who,
            "address": f"南京市{STREETS[n % 4]}{20 + n * 3}号",
            "scope": "热食类食品制售、冷食类食品制售" if n % 2 else "按许可范围开展经营活动",
            "phone": f"025{86600000 + n * 191:08d}",
        }
    if form == "teacher":
        subject = ("数学", "语文", "物理")[n % 3]
        return {"level": "高级中学教师资格", "subject": subject, "phone": "13851234567"}
    return {"purpose": "本人申请办理，材料真实有效", "phone": "13951234567"}


# 好差评: (case key, level 5…1, who rates: "me" the applicant online, "window" the window's device, comment)
RATINGS: tuple[tuple[str, int, str, str], ...] = (
    ("teacher-me", 5, "me", "网上提交材料，全程没有跑窗口，证书电子版当天就能下载"),
    ("birth-me", 4, "me", "办理很快，希望手机端也能查看进度"),
    ("jz-completed", 5, "window", "并联审查一次提交，四个部门同时审，比原来快了一半"),
    ("jz-supplied", 4, "window", "容缺受理解决了图审合格书晚到的问题"),
    ("freight-done", 5, "window", ""),
    ("company-done", 5, "window", "即来即办"),
    ("boiler-done", 4, "window", ""),
    ("drain-done", 3, "window", "排水方案被要求修改两次，希望一次性告知"),
    ("medins-done", 5, "window", ""),
    ("legalaid-done", 4, "window", ""),
    ("hazchem-done", 5, "window", "现场核查的工作人员很专业"),
    ("landuse-done", 4, "window", ""),
    ("eia-done", 5, "window", ""),
    ("teacher-c3", 5, "window", ""),
    ("society-denied", 3, "window", "不予登记的理由讲得清楚"),
    ("travel-late", 2, "window", "办理超过承诺时限，多次电话询问进度都没有答复"),
    ("hr-refused", 1, "window", "办公场所不符合要求应在咨询时一次性告知，白跑了两趟"),
)
# the rectification of the bad rating of travel-late: the department's answer and the follow-up visit
RECTIFIED = (
    "travel-late",
    "已约谈审查人员并通报批评；旅行社许可已纳入超期预警，审查满 5 个工作日未办结的由科长督办，"
    "咨询电话改由专人接听并在 1 个工作日内回复",
    "回访申请人，对整改措施表示满意",
)

"""The city operations demo's data: where the grids lie, the 部件/事件 classes (CJ/T 214 names), the routing
to the demo city's departments, the channels' typical reports, and the stories the demo cases follow.

Grids are a lattice of 0.01° rectangles (about 945 m × 1,110 m) per district, one column per street and one
row per community, each district's block placed near its real position in Nanjing (WGS-84) without touching
another's. Every community has a grid (`<community code>001`); the first community of each of the nine
streets in `SECOND_GRID` gets a second one (`…002`), 200 grids in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zhicheng.demo import city

CELL = 0.01  # degrees, both ways
BUILD = "urban_rural_construction"  # 市建委: roads, bridges, gas, construction sites

# district code → the south-west corner of its block of grids (WGS-84); the blocks never overlap
CORNERS: dict[str, tuple[float, float]] = {
    "320102": (118.79, 32.04),  # 玄武: 6 streets × up to 5 rows
    "320104": (118.78, 31.98),  # 秦淮
    "320105": (118.70, 31.99),  # 建邺
    "320106": (118.72, 32.06),  # 鼓楼
    "320111": (118.58, 32.04),  # 浦口
    "320113": (118.88, 32.08),  # 栖霞
    "320114": (118.70, 31.92),  # 雨花台
    "320115": (118.80, 31.88),  # 江宁
    "320116": (118.80, 32.30),  # 六合
    "320117": (119.00, 31.62),  # 溧水
    "320118": (118.85, 31.30),  # 高淳
}
# streets whose first community has a second grid
SECOND_GRID = (
    "320102002",
    "320102003",
    "320104002",
    "320105011",
    "320106001",
    "320106003",
    "320113005",
    "320114005",
    "320115001",
)

# roads for addresses, per district
ROADS: dict[str, tuple[str, ...]] = {
    "320102": ("中山路", "长江路", "北京东路", "龙蟠路", "珠江路", "太平北路"),
    "320104": ("中华路", "建康路", "龙蟠中路", "集庆路", "白下路", "升州路"),
    "320105": ("江东中路", "应天大街", "庐山路", "河西大街", "嘉陵江东街"),
    "320106": ("中山北路", "北京西路", "虎踞路", "湖南路", "汉中路", "草场门大街"),
    "320111": ("浦口大道", "文德路", "江浦路", "浦珠路", "沿山大道"),
    "320113": ("和燕路", "仙林大道", "马群街", "尧新大道", "迈尧路"),
    "320114": ("雨花西路", "宁南大道", "软件大道", "凤台南路", "西善花苑路"),
    "320115": ("双龙大道", "天元中路", "胜太路", "竹山路", "秣周东路"),
    "320116": ("雄州路", "龙池路", "延安路", "园林路", "六合大道"),
    "320117": ("天生桥大道", "珍珠路", "通济街", "中大街", "秦淮大道"),
    "320118": ("淳溪路", "宝塔路", "镇兴路", "双高路", "北岭路"),
}


@dataclass(frozen=True)
class Cls:
    kind: str  # part | event
    code: str
    major: str
    name: str
    dispatch_days: int
    handle_days: int
    problem: str  # what a report typically says
    standard: str = ""  # 结案标准; the major class's when empty
    dept: str | None = None  # city department key that handles it city-wide; None: the district's (see RULES)


# 结案标准 of each 大类, unless a class has its own
STANDARDS = {
    ("part", "01"): "部件完好、归位、平稳，无缺失、破损或安全隐患",
    ("part", "02"): "设施完好可用，标识清晰，无安全隐患",
    ("part", "03"): "设施完好、整洁，满足正常使用",
    ("part", "04"): "绿化设施完好，缺株补植到位，无倒伏隐患",
    ("part", "05"): "设施完好，无安全隐患",
    ("part", "06"): "隐患消除或已落实防护措施",
    ("event", "01"): "现场整洁，问题清除，无复发",
    ("event", "02"): "广告、张贴物清除干净，墙面、设施恢复原貌",
    ("event", "03"): "施工符合文明施工要求，遗撒、扬尘问题消除",
    ("event", "04"): "险情排除，设施恢复正常运行，现场设置警示至修复完毕",
    ("event", "05"): "现场秩序恢复，违规行为已纠正",
}

# fmt: off
CLASSES: tuple[Cls, ...] = (
    # 部件 01 公用设施
    Cls("part", "0101", "公用设施", "上水井盖", 1, 2, "上水井盖破损松动，车辆碾压有响声", dept="water"),
    Cls("part", "0102", "公用设施", "污水井盖", 1, 2, "污水井盖缺失，井口敞开无警示", dept="water"),
    Cls("part", "0103", "公用设施", "雨水井盖", 1, 2, "雨水井盖下沉，与路面高差明显", dept="water"),
    Cls("part", "0104", "公用设施", "雨水箅子", 1, 2, "雨水箅子被垃圾堵塞，下雨积水", dept="water"),
    Cls("part", "0105", "公用设施", "电力井盖", 1, 3, "电力井盖破损，边缘翘起"),
    Cls("part", "0106", "公用设施", "路灯井盖", 1, 3, "路灯井盖缺失"),
    Cls("part", "0107", "公用设施", "通讯井盖", 1, 3, "通讯井盖破裂"),
    Cls("part", "0111", "公用设施", "燃气井盖", 0, 1, "燃气井盖破损，有异味",
        "井盖更换完毕，燃气设施检测无泄漏", dept=BUILD),
    Cls("part", "0117", "公用设施", "消防栓", 1, 3, "消防栓被撞倒，漏水", dept="water"),
    Cls("part", "0118", "公用设施", "路灯", 1, 3, "路灯夜间不亮，路段漆黑"),
    Cls("part", "0119", "公用设施", "地灯", 1, 5, "地灯灯罩破碎，电线外露"),
    Cls("part", "0120", "公用设施", "景观灯", 1, 5, "景观灯不亮"),
    Cls("part", "0123", "公用设施", "高压线铁塔", 1, 5, "铁塔附近堆放易燃杂物"),
    # 部件 02 道路交通
    Cls("part", "0201", "道路交通", "停车场", 1, 5, "停车场出入口道闸损坏", dept="transport"),
    Cls("part", "0203", "道路交通", "公交站亭", 1, 3, "公交站亭玻璃破碎", dept="transport"),
    Cls("part", "0205", "道路交通", "交通标志牌", 1, 3, "交通标志牌倾斜，被树枝遮挡", dept="public_security"),
    Cls("part", "0207", "道路交通", "交通信号灯", 0, 1, "路口信号灯不亮，交通混乱", dept="public_security"),
    Cls("part", "0210", "道路交通", "过街天桥", 1, 5, "过街天桥台阶破损", dept=BUILD),
    Cls("part", "0211", "道路交通", "地下通道", 1, 5, "地下通道照明损坏、有积水", dept=BUILD),
    Cls("part", "0216", "道路交通", "道路隔离护栏", 1, 3, "隔离护栏被撞倒，侵占车道", dept="transport"),
    Cls("part", "0219", "道路交通", "非机动车停放架", 1, 5, "非机动车停放架损坏"),
    # 部件 03 市容环境
    Cls("part", "0301", "市容环境", "公共厕所", 1, 2, "公共厕所冲水故障，卫生差"),
    Cls("part", "0303", "市容环境", "垃圾间（楼）", 1, 2, "垃圾房门损坏，垃圾外溢"),
    Cls("part", "0306", "市容环境", "垃圾箱", 1, 2, "垃圾箱破损、满溢"),
    Cls("part", "0307", "市容环境", "广告牌匾", 1, 5, "广告牌匾松动，有坠落风险"),
    Cls("part", "0308", "市容环境", "报刊亭", 1, 5, "报刊亭废弃，外观破旧"),
    # 部件 04 园林绿化
    Cls("part", "0401", "园林绿化", "古树名木", 1, 5, "古树枝干枯死，有折断风险"),
    Cls("part", "0402", "园林绿化", "行道树", 1, 3, "行道树倾斜，树枝影响通行"),
    Cls("part", "0403", "园林绿化", "护树设施", 1, 5, "树池箅子缺失"),
    Cls("part", "0405", "园林绿化", "绿地", 1, 5, "绿地被踩踏，黄土裸露"),
    Cls("part", "0407", "园林绿化", "街头座椅", 1, 5, "街头座椅损坏"),
    # 部件 05 房屋土地
    Cls("part", "0501", "房屋土地", "宣传栏", 1, 5, "宣传栏玻璃破损", dept="housing"),
    Cls("part", "0502", "房屋土地", "人防工事", 1, 5, "人防工事出入口被占用", dept="housing"),
    # 部件 06 其他设施
    Cls("part", "0602", "其他设施", "工地", 1, 3, "工地围挡破损倒塌", dept=BUILD),
    Cls("part", "0603", "其他设施", "水域附属设施", 1, 5, "河道护栏缺失", dept="water"),
    # 事件 01 市容环境
    Cls("event", "0101", "市容环境", "私搭乱建", 1, 5, "沿街私自搭建彩钢棚", "违法建设拆除，场地清理干净"),
    Cls("event", "0102", "市容环境", "暴露垃圾", 1, 1, "路边堆放生活垃圾，无人清运"),
    Cls("event", "0103", "市容环境", "积存垃圾渣土", 1, 2, "空地积存大量建筑渣土"),
    Cls("event", "0104", "市容环境", "道路不洁", 1, 1, "路面油污、泥土未清扫"),
    Cls("event", "0105", "市容环境", "水域不洁", 1, 3, "河面漂浮垃圾和水草", dept="water"),
    Cls("event", "0106", "市容环境", "绿地脏乱", 1, 2, "绿地内垃圾杂物较多"),
    Cls("event", "0107", "市容环境", "废弃家具设备", 1, 2, "人行道上丢弃旧沙发、床垫"),
    Cls("event", "0109", "市容环境", "占道经营", 1, 1, "流动摊贩占用人行道经营"),
    Cls("event", "0111", "市容环境", "油烟污染", 1, 5, "餐饮店油烟直排，周边居民反映强烈"),
    Cls("event", "0112", "市容环境", "乱堆物料", 1, 2, "人行道上乱堆建材杂物"),
    Cls("event", "0113", "市容环境", "露天焚烧", 0, 1, "露天焚烧垃圾树叶，烟雾较大"),
    # 事件 02 宣传广告
    Cls("event", "0201", "宣传广告", "非法小广告", 1, 2, "墙面、电箱上张贴大量小广告"),
    Cls("event", "0202", "宣传广告", "违规张贴悬挂", 1, 3, "沿街违规悬挂横幅"),
    Cls("event", "0203", "宣传广告", "占道广告牌", 1, 2, "店门口摆放落地广告牌占道"),
    Cls("event", "0204", "宣传广告", "街头散发广告", 1, 1, "路口有人散发广告传单"),
    # 事件 03 施工管理
    Cls("event", "0301", "施工管理", "施工扰民", 1, 2, "工地夜间施工噪声扰民", dept=BUILD),
    Cls("event", "0302", "施工管理", "工地扬尘", 1, 2, "工地裸土未覆盖，扬尘严重", dept=BUILD),
    Cls("event", "0303", "施工管理", "道路遗撒", 0, 1, "渣土车沿路遗撒"),
    Cls("event", "0304", "施工管理", "施工废弃料", 1, 3, "施工结束后废弃料未清运", dept=BUILD),
    Cls("event", "0305", "施工管理", "施工占道", 1, 3, "施工围挡超范围占用车道", dept=BUILD),
    Cls("event", "0306", "施工管理", "无证掘路", 0, 2, "未经许可开挖道路", dept=BUILD),
    # 事件 04 突发事件
    Cls("event", "0401", "突发事件", "路面塌陷", 0, 1, "路面出现塌陷坑，车辆绕行",
        "塌陷处回填修复，路面平整，警示撤除", dept=BUILD),
    Cls("event", "0402", "突发事件", "自来水管破裂", 0, 1, "自来水管爆裂，路面冒水", dept="water"),
    Cls("event", "0403", "突发事件", "燃气管道破裂", 0, 1, "闻到燃气泄漏的气味", dept=BUILD),
    Cls("event", "0404", "突发事件", "下水道堵塞或破损", 0, 2, "下水道堵塞，污水外溢", dept="water"),
    Cls("event", "0406", "突发事件", "道路积水", 0, 1, "暴雨后道路积水深约 30 厘米", dept="water"),
    Cls("event", "0407", "突发事件", "道路积雪结冰", 0, 1, "桥面结冰，车辆打滑"),
    # 事件 05 街面秩序
    Cls("event", "0501", "街面秩序", "无照经营游商", 1, 1, "无照流动商贩沿街叫卖"),
    Cls("event", "0503", "街面秩序", "占道废品收购", 1, 2, "废品收购点占用人行道"),
    Cls("event", "0504", "街面秩序", "店外经营", 1, 1, "商铺将货架摆到店门外经营"),
    Cls("event", "0505", "街面秩序", "机动车乱停放", 1, 1, "机动车占用人行道停放"),
    Cls("event", "0506", "街面秩序", "非机动车乱停放", 1, 1, "共享单车在地铁口堆积，阻碍通行"),
    Cls("event", "0508", "街面秩序", "露天烧烤", 1, 1, "夜间露天烧烤，油烟扰民"),
    Cls("event", "0509", "街面秩序", "违规撑伞设摊", 1, 1, "路口撑伞设摊占道"),
)
# fmt: on

# classes whose cases the district's department of this key handles (a rule per district), not 城管
DISTRICT_ROUTES = {
    "event:0505": "public_security",  # 机动车乱停放: the district's police (交警)
    "event:0501": "market_regulation",  # 无照经营游商
    "event:0504": "market_regulation",  # 店外经营
}

# what each channel typically reports (category keys); hotline and grid workers report anything
CHANNEL_CLASSES: dict[str, tuple[str, ...]] = {
    "sensor": (
        "part:0101",
        "part:0102",
        "part:0103",
        "part:0111",
        "part:0117",
        "event:0402",
        "event:0404",
        "event:0406",
        "event:0403",
    ),
    "drone": (
        "event:0101",
        "event:0103",
        "event:0105",
        "event:0302",
        "event:0113",
        "event:0112",
        "part:0602",
        "part:0123",
    ),
    "video": (
        "event:0109",
        "event:0505",
        "event:0506",
        "event:0504",
        "event:0102",
        "event:0508",
        "event:0509",
        "event:0303",
    ),
    "open311": (
        "part:0118",
        "part:0306",
        "event:0102",
        "event:0201",
        "event:0107",
        "part:0402",
        "part:0203",
        "event:0104",
    ),
    "app": (
        "event:0102",
        "event:0111",
        "event:0301",
        "event:0505",
        "part:0118",
        "event:0201",
        "part:0301",
        "event:0107",
    ),
}
DEVICES = {
    "sensor": ("井盖倾斜传感器", "WGS"),
    "drone": ("无人机巡查 大疆 M300", "UAV"),
    "video": ("视频智能识别 雪亮工程摄像头", "CAM"),
}
SENSOR_TEXT = {
    "part:0111": "燃气浓度 2.1%LEL 超过阈值 1%LEL",
    "event:0402": "管网压力骤降 0.12 MPa，疑似爆管",
    "event:0404": "井下液位 1.8 m，超过阈值 1.5 m",
    "event:0406": "积水深度 32 cm，超过阈值 15 cm",
    "event:0403": "燃气浓度 3.4%LEL 超过阈值 1%LEL",
}

# the statuses every channel has cases in
STATES = (
    "reported",
    "registered",
    "cancelled",
    "dispatched",
    "handling",
    "handled",
    "returned",
    "disputed",
    "rework",
    "closed",
    "evaluated",
)
# stories beyond the statuses: an extension asked and pending, granted, refused; overdue (escalated); a case
# closed after rework; a merged report
EXTRA = (
    "extension_pending",
    "extension_granted",
    "extension_refused",
    "overdue",
    "overdue_registered",
    "reworked_closed",
)

CANCEL_REASONS = (
    "不属于城市管理案件受理范围，已告知转交相关部门",
    "现场核实问题不存在",
    "重复上报，已有案卷在办",
    "属于物业管理区域，由物业自行处理",
)
RETURN_REASONS = ("该问题不属于本部门职责，请改派", "点位位于相邻街道辖区，请核实后改派")
DISPUTE_REASONS = ("权属不清：设施产权单位尚未明确", "涉及多个部门职责，需指挥中心协调")
REJECT_REASONS = ("现场复核仍有残留，未达到结案标准", "处置后照片与现场不符，请重新处置")
CALLBACK_NOTES = (
    "市民表示问题已解决，对处理结果满意",
    "市民认可处理结果，建议加强日常巡查",
    "市民表示处理较慢，但结果满意",
    "市民对处理结果基本满意",
)
GIVEN = ("先生", "女士")


# --- the grid lattice -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridSpec:
    code: str
    name: str
    district: str  # the district's key in info["orgs"]["districts"]
    west: float
    south: float

    def polygon(self) -> dict[str, Any]:
        w, s, c = self.west, self.south, CELL
        ring = [[w, s], [w + c, s], [w + c, s + c], [w, s + c], [w, s]]
        return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}

    def point(self, fx: float, fy: float) -> tuple[float, float]:
        """A point inside the grid, away from its edges (fx, fy in [0, 1))."""
        return self.west + CELL * (0.05 + 0.9 * fx), self.south + CELL * (0.05 + 0.9 * fy)


def grid_specs() -> list[GridSpec]:
    """Every demo grid, a column per street and a row per community in its district's block."""
    out = []
    divisions = city.divisions()
    for county, (_name, key, streets) in city.DISTRICTS.items():
        west, south = CORNERS[county]
        for col, suffix in enumerate(streets):
            street = county + suffix
            communities = [d for d in divisions if d.parent == street]
            for row, community in enumerate(communities):
                out.append(
                    GridSpec(
                        f"{community.code}001",
                        f"{community.name}第1网格",
                        key,
                        west + col * CELL,
                        south + row * CELL,
                    )
                )
            if street in SECOND_GRID:
                first = communities[0]
                out.append(
                    GridSpec(
                        f"{first.code}002",
                        f"{first.name}第2网格",
                        key,
                        west + col * CELL,
                        south + len(communities) * CELL,
                    )
                )
    return out

"""Catalog search over 100,000 resources: latency of representative queries, on SQLite and PostgreSQL.

Migrates a throwaway database, creates 24 departments and a 类/项/目 classification through the services, then
bulk-inserts 100,000 resources with realistic names (district + subject + kind, e.g. 江宁区不动产登记信息),
summaries and 3-6 information items each (SQLAlchemy core executemany, not the ORM one by one), and builds the
search index with `search.reindex` — the code the migration runs (timed: what a full reindex costs). Then
N representative queries (single words, two words, phrases typed without spaces, with and without filters,
browsing with facets, a second page) are timed twice: through `search.search` in a fresh read session each,
and through `GET /api/v1/catalog/search` with an API token via an in-process TestClient (ASGI, no socket;
token check, validation and JSON included). Every search computes the six facets over its whole match set.

    .venv/bin/python bench/catalog_search.py [--resources 100000] [--queries 500] [--quick]
                                             [--db both|sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import time
from typing import Any

from sqlalchemy import insert, text

from tempdb import dialects, migrate, temp_database

CHUNK = 5000
DISTRICTS = (
    "全市 玄武区 秦淮区 建邺区 鼓楼区 浦口区 栖霞区 雨花台区 江宁区 六合区 溧水区 高淳区 江北新区".split()
)
KINDS = (
    "基础信息 登记信息 变更信息 统计数据 明细数据 年度报表 台账 核验信息 监测数据 办理结果 证照信息 许可信息"
).split()
# department: (subjects, information items)
DEPARTMENTS = {
    "南京市公安局": ("户籍人口 实有人口 流动人口 居住证 机动车 驾驶人 交通违法 出入境证件",
                     "姓名 公民身份号码 性别 出生日期 户籍地址 居住地址 联系电话"),
    "南京市市场监督管理局": ("企业登记 个体工商户 食品经营许可 特种设备 产品质量抽检 商标注册 行政处罚",
                             "统一社会信用代码 企业名称 法定代表人 注册资本 成立日期 经营范围 登记机关"),
    "南京市人力资源和社会保障局": ("社会保险参保 养老保险缴费 失业保险金 就业登记 职业技能证书 劳动合同备案",
                                   "姓名 公民身份号码 参保单位 缴费基数 缴费月份 险种 参保状态"),
    "南京市卫生健康委员会": ("医疗机构执业 出生医学证明 预防接种 医师执业注册 传染病报告",
                             "机构名称 执业地址 诊疗科目 床位数 医师姓名 执业类别 登记日期"),
    "南京市住房和城乡建设局": ("商品房预售许可 建筑施工许可 保障性住房 物业服务企业 建筑业企业资质",
                               "项目名称 开发企业 许可证号 建筑面积 套数 发证日期 项目地址"),
    "南京市规划和自然资源局": ("不动产登记 土地出让 建设用地规划许可 地籍调查 林地保护",
                               "不动产单元号 权利人 坐落 面积 用途 权利性质 登记日期"),
    "南京市民政局": ("婚姻登记 最低生活保障 社会组织登记 养老机构 殡葬服务",
                     "姓名 公民身份号码 登记类型 登记日期 登记机关 保障人数 月保障金额"),
    "南京市教育局": ("中小学学籍 学校基本情况 教师资格认定 幼儿园办学许可 招生入学",
                     "学校名称 学籍号 学生姓名 年级 班级 入学日期 学校地址"),
    "南京市交通运输局": ("道路运输经营许可 出租汽车驾驶员 公交线路 公共自行车 网约车平台",
                         "许可证号 经营者名称 车牌号码 线路名称 站点 运营里程 发证日期"),
    "南京市生态环境局": ("排污许可 环境影响评价审批 空气质量监测 水质自动监测 危险废物转移",
                         "排污单位名称 许可证编号 监测点位 监测时间 污染物 浓度 超标情况"),
    "南京市医疗保障局": ("医保参保 医保定点机构 医保结算 门诊慢特病 长期护理保险",
                         "姓名 公民身份号码 定点机构 结算日期 医疗总费用 统筹支付 个人自付"),
    "南京住房公积金管理中心": ("公积金缴存 公积金贷款 公积金提取 缴存单位",
                               "单位名称 职工姓名 公民身份号码 缴存基数 月缴存额 贷款金额 提取原因"),
    "国家税务总局南京市税务局": ("纳税人登记 纳税信用等级 发票开具 税收减免 欠税公告",
                                 "纳税人识别号 纳税人名称 税种 税额 所属期 信用等级 评价年度"),
    "南京市城市管理局": ("户外广告设置许可 渣土运输 城市道路照明 生活垃圾分类 占道经营",
                         "许可编号 设置单位 设置地点 规格 有效期 巡查日期 处置结果"),
    "南京市应急管理局": ("危险化学品经营许可 安全生产事故 应急避难场所 防汛物资 消防安全检查",
                         "企业名称 许可证编号 事故类型 发生时间 伤亡人数 场所名称 容纳人数"),
    "南京市文化和旅游局": ("旅行社经营许可 旅游景区 文物保护单位 公共图书馆 演出场所",
                           "单位名称 许可证号 景区等级 地址 开放时间 接待人数 联系电话"),
    "南京市农业农村局": ("农产品质量安全 农机购置补贴 家庭农场 农村土地承包 动物防疫",
                         "主体名称 产品名称 检测结果 补贴金额 承包面积 所在村组 检测日期"),
    "南京市司法局": ("律师执业 公证机构 人民调解 法律援助 司法鉴定",
                     "机构名称 执业证号 执业人员 案件类别 受理日期 办结日期 调解结果"),
    "南京市统计局": ("国民经济核算 人口抽样调查 规模以上工业企业 居民消费价格 固定资产投资",
                     "指标名称 统计时期 行政区划 数值 计量单位 同比增长 数据来源"),
    "南京市水务局": ("取水许可 河道水位 供水管网 排水许可 水土保持",
                     "许可证号 取水单位 取水量 监测站点 水位 监测时间 管网编号"),
    "南京市发展和改革委员会": ("固定资产投资项目 价格监测 公共信用 重点项目 能源消费",
                               "项目名称 项目代码 建设单位 总投资 建设地点 审批日期 信用评价"),
    "南京市商务局": ("外商投资企业 对外贸易经营者 单用途预付卡 成品油零售 商贸流通",
                     "企业名称 统一社会信用代码 备案号 投资总额 经营范围 备案日期 联系人"),
    "南京市退役军人事务局": ("退役军人 优抚对象 拥军优属 军休干部",
                             "姓名 公民身份号码 入伍时间 退役时间 优抚类别 抚恤金额 安置地"),
    "南京市数据局": ("政务数据目录 公共数据开放 电子证照 数据共享申请 政务信息系统",
                     "资源代码 资源名称 提供部门 共享类型 更新周期 证照类型 申请部门"),
}  # fmt: skip
FORMATS = ("database", "database", "database", "spreadsheet", "spreadsheet", "interface", "document")
SHARES = ("unconditional", "unconditional", "conditional", "conditional", "none")
CYCLES = ("realtime", "daily", "daily", "weekly", "monthly", "monthly", "quarterly", "yearly", "irregular")
GRADES = ("general", "general", "general", "important", "core")
CYCLE_LABEL = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "yearly": "每年",
    "irregular": "不定期",
}
# what people type (q, filters); "{org}" and "{cls}" are filled with a department id and a class code
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("人口", {}), ("企业", {}), ("不动产", {}), ("公积金", {}), ("驾驶人", {}), ("医疗机构", {}),
    ("排污许可", {}), ("婚姻登记", {}), ("学籍", {}), ("养老", {}), ("出租汽车", {}), ("空气质量", {}),
    ("律师", {}), ("河道", {}), ("税务", {}), ("营业执照", {}), ("社会保险", {}), ("最低生活保障", {}),
    ("企业 登记", {}), ("不动产 登记", {}), ("玄武区 人口", {}), ("江宁区 企业", {}), ("公积金 贷款", {}),
    ("医保 结算", {}), ("流动人口 居住", {}), ("企业登记信息", {}), ("流动人口登记", {}),
    ("江宁区不动产登记信息", {}), ("社会保险参保缴费", {}), ("统一社会信用代码", {}),
    ("人口", {"share_type": "conditional"}), ("企业", {"class_code": "2"}), ("许可", {"format": "database"}),
    ("监测", {"update_cycle": "realtime", "grade": "general"}), ("登记", {"provider_org_id": "{org}"}),
    ("", {"provider_org_id": "{org}"}), ("", {"class_code": "{cls}"}), ("", {}), ("信息", {}),
    ("数据", {"grade": "important"}), ("人口", {"offset": 40}), ("许可", {"offset": 20}),
]  # fmt: skip


def setup(url: str) -> dict[str, Any]:
    """Departments, the classification and a reader's API token, through the services (audited)."""
    from zhicheng.catalog import services
    from zhicheng.catalog.schemas import ClassIn
    from zhicheng.core.auth import services as auth
    from zhicheng.core.auth.schemas import TokenIn
    from zhicheng.core.db import Actor, Database, unit_of_work
    from zhicheng.core.orgs import services as orgs
    from zhicheng.core.orgs.schemas import DivisionIn, OrgIn

    db = Database(url)
    with unit_of_work(db, Actor(kind="cli", name="bench")) as uow:
        orgs.create_division(uow, DivisionIn(code="320000", name="江苏省"))
        orgs.create_division(uow, DivisionIn(code="320100", name="南京市", parent_code="320000"))
        city = orgs.create_org(uow, OrgIn(name="南京市人民政府", kind="government", division_code="320100"))
        depts = []  # (org id, 项 code, [(目 code, subject)], items)
        services.create_class(uow, ClassIn(code="2", name="主题信息资源"))
        for n, (name, (subjects, items)) in enumerate(DEPARTMENTS.items(), 1):
            org = orgs.create_org(
                uow, OrgIn(name=name, kind="department", division_code="320100", parent_id=city.id)
            )
            xiang = f"2{n:02d}"
            services.create_class(uow, ClassIn(code=xiang, name=name.removeprefix("南京市") + "主题"))
            mus = []
            for m, subject in enumerate(subjects.split(), 1):
                services.create_class(uow, ClassIn(code=f"{xiang}{m:03d}", name=subject))
                mus.append((f"{xiang}{m:03d}", subject))
            depts.append((org.id, xiang, mus, items.split()))
        _, secret = auth.create_token(uow, TokenIn(name="bench", org_id=city.id, roles=["clerk"]))
    db.dispose()
    return {"depts": depts, "token": secret}


def fill(url: str, count: int, depts: list) -> float:
    """Bulk-insert `count` resources and their items; returns seconds."""
    from zhicheng.catalog.models import Resource, ResourceItem
    from zhicheng.core.db import Database

    rnd = random.Random(20260101)
    db = Database(url)
    now = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
    seq: dict[str, int] = {}
    t0 = time.perf_counter()
    rid = 0
    for start in range(0, count, CHUNK):
        resources, items = [], []
        for _ in range(min(CHUNK, count - start)):
            rid += 1
            org_id, _, mus, names = depts[rnd.randrange(len(depts))]
            code, subject = mus[rnd.randrange(len(mus))]
            district, kind = rnd.choice(DISTRICTS), rnd.choice(KINDS)
            name = f"{district}{subject}{kind}"
            if rnd.random() < 0.2:
                name += f"（{rnd.randint(2015, 2025)}年）"
            mine = rnd.sample(names, rnd.randint(3, 6))
            cycle, share = rnd.choice(CYCLES), rnd.choice(SHARES)
            seq[code] = seq.get(code, 0) + 1
            resources.append(
                {
                    "id": rid,
                    "code": f"{code}/{seq[code]:06d}",
                    "name": name,
                    "class_code": code,
                    "provider_org_id": org_id,
                    "summary": f"{district}范围内{subject}的{kind}，包括{'、'.join(mine[:3])}等，"
                    f"{CYCLE_LABEL[cycle]}更新",
                    "format": rnd.choice(FORMATS),
                    "share_type": share,
                    "share_condition": "仅用于政务服务和监管协同" if share == "conditional" else None,
                    "share_basis": "《中华人民共和国个人信息保护法》" if share == "none" else None,
                    "share_mode": "api",
                    "open_type": "none",
                    "update_cycle": cycle,
                    "grade": rnd.choice(GRADES),
                    "published_on": dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randrange(365)),
                    "related_codes": [],
                    "keywords": [subject] if rnd.random() < 0.5 else [],
                    "status": "published" if rnd.random() < 0.97 else "retired",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for pos, item in enumerate(mine, 1):
                items.append(
                    {
                        "resource_id": rid,
                        "position": pos,
                        "name": item,
                        "data_type": "string",
                        "description": "",
                        "sensitivity": "none",
                        "share_type": "none" if share == "none" else share,
                    }
                )
        with db.engine.begin() as c:
            c.execute(insert(Resource.__table__), resources)
            c.execute(insert(ResourceItem.__table__), items)
    if db.dialect == "postgresql":  # the ids were given: move the sequence past them
        with db.engine.begin() as c:
            c.execute(
                text("SELECT setval('catalog_resource_id_seq', (SELECT max(id) FROM catalog_resource))")
            )
    seconds = time.perf_counter() - t0
    db.dispose()
    return seconds


def reindex(url: str) -> float:
    from zhicheng.catalog import search
    from zhicheng.core.db import Database

    db = Database(url)
    t0 = time.perf_counter()
    search.reindex_all(db)
    seconds = time.perf_counter() - t0
    with db.engine.connect() as c:  # fresh statistics, as autovacuum/ANALYZE would have after a load
        c.execute(text("ANALYZE"))
        c.commit()
    db.dispose()
    return seconds


def workload(n: int, depts: list) -> list[tuple[str, dict[str, Any]]]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        q, f = QUERIES[i % len(QUERIES)]
        org_id, xiang, _, _ = rnd.choice(depts)
        filled = {k: org_id if v == "{org}" else xiang if v == "{cls}" else v for k, v in f.items()}
        out.append((q, filled))
    rnd.shuffle(out)
    return out


def _percentiles(ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": statistics.median(ms), "p95": cuts[94], "p99": cuts[98], "max": max(ms)}


def time_function(url: str, work: list, cache: bool) -> dict[str, Any]:
    from zhicheng.catalog import search
    from zhicheng.core.db import Database

    search._answers.clear()
    search.CACHE_SIZE = 512 if cache else 0
    db = Database(url)
    for q, f in work[:20]:  # warm up: jieba's dictionary, the pool, the caches
        with db.read() as s:
            search.search(s, q, {k: v for k, v in f.items() if k != "offset"}, offset=f.get("offset", 0))
    ms, totals, by_query = [], [], {}
    for q, f in work:
        t0 = time.perf_counter()
        with db.read() as s:
            found = search.search(
                s, q, {k: v for k, v in f.items() if k != "offset"}, offset=f.get("offset", 0)
            )
        ms.append((time.perf_counter() - t0) * 1000)
        totals.append(found.total)
        by_query.setdefault((q, tuple(sorted(f))), []).append(ms[-1])
    db.dispose()
    slowest = sorted(((statistics.median(v), k) for k, v in by_query.items()), reverse=True)[:3]
    return {**_percentiles(ms), "median_total": statistics.median(totals), "slowest": slowest}


def time_http(url: str, work: list, token: str) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from zhicheng.app import create_app
    from zhicheng.catalog import search, search_api
    from zhicheng.core.db import Database
    from zhicheng.settings import Settings

    search._answers.clear()
    search.CACHE_SIZE = 512
    app = create_app(Settings(env="test", database_url=url, embedded_worker=False), db=Database(url))
    if not any(getattr(r, "path", None) == "/api/v1/catalog/search" for r in app.routes):
        app.include_router(search_api.router)  # until app.py includes it
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ms = []
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        for q, f in work[:20]:
            c.get("/api/v1/catalog/search", params={"q": q, **f})
        for q, f in work:
            t0 = time.perf_counter()
            r = c.get("/api/v1/catalog/search", params={"q": q, **f})
            ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
    app.state.db.dispose()
    return _percentiles(ms)


def run_one(dialect: str, resources: int, queries: int) -> dict[str, Any]:
    with temp_database(dialect) as url:
        migrate(url)
        made = setup(url)
        insert_s = fill(url, resources, made["depts"])
        index_s = reindex(url)
        work = workload(queries, made["depts"])
        uncached = time_function(url, work, cache=False)
        function = time_function(url, work, cache=True)
        http = time_http(url, work, made["token"])
    return {
        "dialect": dialect,
        "resources": resources,
        "queries": queries,
        "insert_s": insert_s,
        "index_s": index_s,
        "uncached": uncached,
        "function": function,
        "http": http,
    }


def report(r: dict[str, Any]) -> None:
    print(
        f"  {r['dialect']}: {r['resources']:,} resources inserted in {r['insert_s']:.1f} s, "
        f"indexed (search.reindex_all) in {r['index_s']:.1f} s; {r['queries']} queries, "
        f"median {r['uncached']['median_total']:,.0f} matches"
    )
    for label, key in (
        ("search(), no cache", "uncached"),
        ("search(), cache", "function"),
        ("HTTP API", "http"),
    ):
        f = r[key]
        print(
            f"    {label:<18} p50 {f['p50']:6.1f} ms  p95 {f['p95']:6.1f} ms  p99 {f['p99']:6.1f} ms  "
            f"max {f['max']:6.1f} ms"
        )
    slow = "; ".join(
        f"{q or '(browse)'}{' + ' + ','.join(keys) if keys else ''}: {m:.0f} ms"
        for m, (q, keys) in r["uncached"]["slowest"]
    )
    print(f"    slowest without the cache (median): {slow}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="10,000 resources, 200 queries")
    ap.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    args = ap.parse_args(argv)
    resources, queries = (10_000, 200) if args.quick else (args.resources, args.queries)
    print(f"catalog search: {queries} queries over {resources:,} resources")
    results = []
    for dialect in dialects(args.db):
        results.append(run_one(dialect, resources, queries))
        report(results[-1])
    return results


if __name__ == "__main__":
    main()

"""Catalogue import and export: .xlsx and CSV (UTF-8 and GBK) with Chinese headers, a row-by-row report, good
resources saved and bad ones never half-written, round trips that change nothing, and who may do it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from urllib.parse import unquote

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import personas
from zhicheng.catalog import cli, importer, services, transfer
from zhicheng.catalog.models import Resource, ResourceItem, ResourceVersion
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Invalid

ME = Actor(kind="cli", name="tester")
CLASSES = [
    ("1", "基础信息资源"),
    ("101", "人口基础信息"),
    ("101001", "户籍人口"),
    ("2", "主题信息资源"),
    ("201", "市场监管"),
    ("201001", "企业登记"),
]
HEAD = ["资源名称", "资源分类代码", "资源代码", "资源格式", "共享类型", "共享条件", "更新周期", "信息项名称"]
HEAD += ["信息项数据类型", "敏感类别", "信息项共享类型"]


def make_classes(db: Database) -> None:
    with unit_of_work(db, ME) as uow:
        for code, name in CLASSES:
            services.create_class(uow, ClassIn(code=code, name=name))


@pytest.fixture
def classes(db) -> None:  # noqa: ANN001
    make_classes(db)


def people(**over) -> ResourceIn:  # noqa: ANN003
    body = {
        "name": "全市实有人口基础信息",
        "class_code": "101001",
        "provider_org_id": personas.WORLD.market,
        "summary": "=全市实有人口的身份与居住信息",  # starts like a formula: must stay text
        "format": "数据库",
        "share_type": "有条件共享",
        "share_condition": "仅用于政务服务身份核验",
        "share_mode": "api",
        "open_type": "不予开放",
        "update_cycle": "每日",
        "grade": "重要数据",
        "published_on": dt.date(2024, 3, 1),
        "keywords": ["人口", "户籍"],
        "items": [
            {"name": "姓名", "data_type": "字符型", "sensitivity": "姓名", "description": "-与证件一致"},
            {"name": "公民身份号码", "data_type": "字符型", "sensitivity": "证件号码"},
            {"name": "联系电话", "data_type": "字符型", "sensitivity": "电话号码", "share_type": "不予共享"},
        ],
    }
    body.update(over)
    return ResourceIn.model_validate(body)


def catalogue(db: Database) -> list[Resource]:
    """Two resources of 市场监督管理局, the second related to the first."""
    with unit_of_work(db, ME) as uow:
        a = services.create_resource(uow, people())
        b = services.create_resource(
            uow,
            people(
                name="企业登记信息",
                class_code="201001",
                share_type="无条件共享",
                share_condition=None,
                related_codes=[a.code],
                summary="",
                items=[{"name": "统一社会信用代码"}, {"name": "企业名称", "description": "含\n换行"}],
            ),
        )
    return [a, b]


def csv_bytes(rows: list[list[str]], head: list[str] = HEAD, encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([head, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], head: list[str] = HEAD) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [head, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(name: str, item: str, **over: str) -> list[str]:
    """A data row under HEAD."""
    values = dict(
        zip(HEAD, [name, "201001", "", "电子表格", "无条件共享", "", "每月", item, "", "", ""], strict=True)
    )
    values.update(over)
    return [values[h] for h in HEAD]


def run_import(db: Database, data: bytes, filename: str = "x.csv", dry_run: bool = False, **kw) -> dict:  # noqa: ANN003
    sheet = transfer.read_file(data, filename)
    return importer.import_sheet(db, ME, kw.get("provider", personas.WORLD.market), sheet, dry_run)


def upload(client, data: bytes, filename: str, provider: int | None = None, dry_run: bool = False):  # noqa: ANN001, ANN201
    return client.send(
        "POST",
        "/api/v1/catalog/import",
        files={"file": (filename, data, "application/octet-stream")},
        data={"provider_org_id": str(provider or personas.WORLD.market), "dry_run": str(dry_run).lower()},
    )


def counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {
            m.__name__: s.scalar(select(func.count()).select_from(m))
            for m in (Resource, ResourceItem, ResourceVersion, AuditRecord)
        }


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_changes_nothing(db, classes, as_user, fmt) -> None:  # noqa: ANN001
    a, b = catalogue(db)
    admin = as_user("cityadmin")
    r = admin.get("/api/v1/catalog/export", params={"provider_org_id": personas.WORLD.market, "format": fmt})
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;") and f'filename="catalog-{personas.WORLD.market}-' in disposition
    )
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("数据资源目录-南京市市场监督管理局-")
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(r.content)).active
        rows = [[c.value for c in line] for line in sheet.iter_rows()]
        assert sheet.title == "资源目录" and rows[0] == transfer.HEADERS
        first = dict(zip(rows[0], rows[1], strict=True))
        assert sheet["D2"].data_type == "s"  # the summary "=…" is text, not a formula
    else:
        assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first["摘要"] == "'=全市实有人口的身份与居住信息"  # guarded against formula injection
    assert len(rows) == 1 + 3 + 2  # one row per item
    assert (first["资源代码"], first["共享类型"], first["数据分级"], first["敏感类别"]) == (
        a.code,
        "有条件共享",
        "重要数据",
        "姓名",
    )
    assert first["关键词"] == "人口；户籍" and first["提供方"] == "南京市市场监督管理局"

    before = counts(db)
    report = upload(admin, r.content, f"目录.{fmt}").json()
    assert report["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}, report
    assert report["ok"] and report["problems"] == [] and report["file"]["format"] == fmt
    assert counts(db) == before  # no version, no audit record


def test_csv_in_utf8_with_bom_and_gbk_imports_the_same(db, classes) -> None:  # noqa: ANN001
    rows = [row("个体工商户登记信息", "经营者姓名", 敏感类别="姓名"), row("个体工商户登记信息", "经营场所")]
    made = []
    for n, encoding in enumerate(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]):
        named = [[f"{r[0]}{n}", *r[1:]] for r in rows]
        if encoding == "utf-16":  # Excel's "Unicode text": UTF-16 with BOM, tab-separated
            data = "\r\n".join("\t".join(r) for r in [HEAD, *named]).encode("utf-16")
        else:
            data = csv_bytes(named, encoding=encoding)
        report = run_import(db, data)
        assert report["counts"]["created"] == 1, report
        expect = {"gbk": "gb18030", "utf-8-sig": "utf-8"}.get(encoding, encoding)
        assert report["file"]["encoding"] == expect
        made.append(report["resources"][0]["code"])
    with db.read() as s:
        for n, code in enumerate(made):
            res = s.scalar(select(Resource).where(Resource.code == code))
            assert res.name == f"个体工商户登记信息{n}" and res.update_cycle == "monthly"
            items = s.scalars(
                select(ResourceItem).where(ResourceItem.resource_id == res.id).order_by(ResourceItem.position)
            ).all()
            assert [(i.name, i.sensitivity) for i in items] == [("经营者姓名", "name"), ("经营场所", "none")]


def test_a_file_in_no_known_encoding_is_refused(db, classes) -> None:  # noqa: ANN001
    broken = csv_bytes([row("企业年报信息", "企业名称")]) + b"\xff\x80\xfe\n"
    with pytest.raises(Invalid) as caught:
        run_import(db, broken)
    assert "GBK" in caught.value.detail_zh


def test_good_rows_are_saved_and_bad_ones_reported(db, classes, as_user) -> None:  # noqa: ANN001
    data = xlsx_bytes(
        [
            row("企业登记信息", "统一社会信用代码"),  # 2  good
            row("", "企业名称"),  # 3  continues the resource above (merged cells)
            row("企业年报信息", "年报年度", 共享类型="随便共享"),  # 4  bad vocabulary
            row("企业年报信息", "", 共享类型=""),  # 5  item without a name
            row("行政处罚信息", "处罚决定书文号", 共享类型="有条件共享"),  # 6  conditional without condition
            row(
                "抽查检查信息", "检查结果", 资源分类代码="999001"
            ),  # 7  unknown class (known to the database)
            row(
                "股权出质信息", "出质人", 信息项共享类型="无条件共享", 共享类型="不予共享"
            ),  # 8 item too loose
            row("经营异常名录", "列入原因", 信息项数据类型="日期型"),  # 9  good
            row("经营异常名录", "列入日期", 更新周期="每周"),  # 10 disagrees with row 9
            row("食品经营许可信息", "许可证编号"),  # 11 good
        ]
    )
    admin = as_user("cityadmin")
    before = counts(db)
    r = upload(admin, data, "目录.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 5}
    found = {(p["row"], p["column"]) for p in report["problems"]}
    assert found == {
        (4, "共享类型"),
        (5, "信息项名称"),
        (6, "共享条件"),
        (7, "资源分类代码"),
        (8, "共享依据"),
        (8, "信息项共享类型"),
        (10, "更新周期"),
    }, report["problems"]
    vocab_problem = next(p for p in report["problems"] if p["row"] == 4)
    assert vocab_problem["cell"] == "E4" and vocab_problem["value"] == "随便共享"
    assert "无条件共享" in vocab_problem["zh"] and "unconditional" in vocab_problem["en"]
    assert [r["rows"] for r in report["resources"] if r["outcome"] == "created"] == [[2, 3], [11]]
    with db.read() as s:
        names = set(s.scalars(select(Resource.name)))
        assert names == {"企业登记信息", "食品经营许可信息"}
        good = s.scalar(select(Resource).where(Resource.name == "企业登记信息"))
        items = s.scalars(
            select(ResourceItem.name)
            .where(ResourceItem.resource_id == good.id)
            .order_by(ResourceItem.position)
        ).all()
        assert list(items) == ["统一社会信用代码", "企业名称"]
    after = counts(db)
    assert after["Resource"] - before["Resource"] == 2 and after["ResourceItem"] - before["ResourceItem"] == 3


def test_update_by_code_makes_a_version_and_a_second_import_creates_no_twin(db, classes) -> None:  # noqa: ANN001
    first = run_import(db, csv_bytes([row("企业登记信息", "统一社会信用代码")]))
    code = first["resources"][0]["code"]
    assert first["counts"]["created"] == 1 and code == "201001/000001"
    again = run_import(db, csv_bytes([row("企业登记信息", "统一社会信用代码")]))
    assert again["counts"]["failed"] == 1
    assert again["problems"][0]["column"] == "资源名称" and code in again["problems"][0]["zh"]
    changed = [
        row("企业登记信息", "统一社会信用代码", 资源代码=code, 更新周期="每日"),
        row("", "企业名称", 更新周期=""),  # blank: the resource's value from the row above
        row("不存在的资源", "x", 资源代码="201001/999999"),
    ]
    report = run_import(db, csv_bytes(changed))
    assert report["counts"] == {"created": 0, "updated": 1, "unchanged": 0, "failed": 1}
    assert [(p["row"], p["column"]) for p in report["problems"]] == [(4, "资源代码")]
    with db.read() as s:
        res = s.scalar(select(Resource).where(Resource.code == code))
        assert (res.version, res.update_cycle) == (2, "daily")
        latest = s.scalar(
            select(ResourceVersion).where(ResourceVersion.resource_id == res.id, ResourceVersion.version == 2)
        )
        assert set(latest.changed_fields) == {"update_cycle", "items"} and latest.note == "表格导入"


def test_a_resource_of_another_department_cannot_be_updated_by_code(db, classes) -> None:  # noqa: ANN001
    a, _ = catalogue(db)
    data = csv_bytes([row(a.name, "姓名", 资源代码=a.code, 资源分类代码="101001")])
    report = run_import(db, data, provider=personas.WORLD.data_bureau)
    assert report["counts"]["failed"] == 1 and report["problems"][0]["column"] == "资源代码"


def test_dry_run_reports_and_writes_nothing(db, classes, as_user) -> None:  # noqa: ANN001
    a, _ = catalogue(db)
    data = csv_bytes(
        [
            row(a.name, "姓名", 资源代码=a.code, 资源分类代码="101001", 共享类型="无条件共享"),
            row("企业年报信息", "年报年度"),
        ]
    )
    admin = as_user("cityadmin")
    before = counts(db)
    r = upload(admin, data, "x.csv", dry_run=True)
    report = r.json()
    assert r.status_code == 200 and report["dry_run"] is True
    assert report["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "failed": 0}, report
    assert counts(db) == before


@pytest.mark.parametrize(
    "data, filename, says",
    [
        (b"", "x.csv", "the file is empty"),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "x.xls", ".xls"),
        (b"not a zip", "x.xlsx", "not a valid .xlsx"),
        (b"PK\x03\x04broken", "x.xlsx", "cannot read the .xlsx"),
        ("\n\n资源名称\n".encode(), "x.csv", "row 1 must be the header"),
        (csv_bytes([]), "x.csv", "no data rows"),
        (csv_bytes([["a", "b"]], head=["资源名称", "信息项名称"]), "x.csv", "lacks required columns"),
        (csv_bytes([["a"]], head=["资源名称", "资源名称"]), "x.csv", "appears twice"),
        (csv_bytes([]) + b"\xff\xfe\x80\n", "x.csv", "unknown text encoding"),
        (csv_bytes([row(f"r{n}", "x") for n in range(transfer.MAX_ROWS + 1)]), "x.csv", "more than 20000"),
        (b"x" * (transfer.MAX_BYTES + 1), "x.csv", "larger than 10 MB"),
    ],
)
def test_unreadable_files_are_422(db, classes, as_user, data, filename, says) -> None:  # noqa: ANN001
    admin = as_user("cityadmin")  # logging in is audited: count after it
    before = counts(db)
    r = upload(admin, data, filename)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert says in r.json()["messages"]["en"]
    assert counts(db) == before


def test_who_may_import_and_export(db, classes, as_user, as_system) -> None:  # noqa: ANN001
    data = csv_bytes([row("个体工商户登记信息", "经营者姓名")])
    assert upload(as_user("clerk"), data, "x.csv").status_code == 403
    assert upload(as_user("district_admin"), data, "x.csv").status_code == 403  # a city department
    own = upload(as_user("district_admin"), data, "x.csv", provider=personas.WORLD.district_dept)
    assert own.status_code == 200 and own.json()["counts"]["created"] == 1
    assert as_user("outsider").get("/api/v1/catalog/export").status_code == 403
    assert as_user("clerk").get("/api/v1/catalog/export", params={"format": "csv"}).status_code == 200
    assert as_system.get("/api/v1/catalog/export").status_code == 200
    assert as_user("cityadmin").get("/api/v1/catalog/export", params={"format": "pdf"}).status_code == 422


def test_xlsx_dates_codes_as_numbers_and_template_headers(db, classes) -> None:  # noqa: ANN001
    head = [h + ("*" if h in transfer.REQUIRED else "") for h in HEAD] + ["发布日期", "关联资源代码", "备注"]
    data = xlsx_bytes(
        [
            [
                *row("企业登记信息", "统一社会信用代码", 资源分类代码=201001),
                dt.datetime(2024, 5, 6),
                "",
                "随意",
            ],
            [*row("企业年报信息", "年报年度"), "2024年5月7日", "", ""],
            [*row("抽查检查信息", "检查结果"), "5月7日", "", ""],
        ],
        head=head,
    )
    report = run_import(db, data, "目录.xlsx")
    assert report["ignored_columns"] == ["备注"]
    assert report["counts"]["created"] == 2 and report["problems"][0]["column"] == "发布日期"
    with db.read() as s:
        dates = dict(s.execute(select(Resource.name, Resource.published_on)).all())
    assert dates == {"企业登记信息": dt.date(2024, 5, 6), "企业年报信息": dt.date(2024, 5, 7)}


def test_dates_in_the_ways_people_write_them() -> None:
    expect = dt.date(2024, 1, 31)
    for text in [
        "2024-01-31",
        "2024/1/31",
        "2024.1.31",
        "2024年1月31日",
        "20240131",
        "2024-01-31 08:00",
        "45322",
    ]:
        assert importer.parse_date(text) == expect, text
    for text in ["2024-02-30", "31/01/2024", "明天"]:
        assert importer.parse_date(text) is None


def test_cli_import_dry_run_then_import_then_export_round_trip(fresh_url, tmp_path) -> None:  # noqa: ANN001
    db = Database(fresh_url)
    make_classes(db)
    src = tmp_path / "目录.csv"
    src.write_bytes(csv_bytes([row("企业登记信息", "统一社会信用代码"), row("", "企业名称")], encoding="gbk"))
    env = {"ZHICHENG_DATABASE_URL": fresh_url}
    runner = CliRunner()
    market = str(personas.WORLD.market)
    dry = runner.invoke(cli.app, ["import", str(src), "--provider", market, "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["counts"]["created"] == 1
    assert counts(db)["Resource"] == 0
    done = runner.invoke(cli.app, ["import", str(src), "--provider", market], env=env)
    assert done.exit_code == 0 and "新建 1" in done.stdout and "created 1" in done.stdout
    out = tmp_path / "导出.xlsx"
    exported = runner.invoke(cli.app, ["export", "--provider", market, "--output", str(out)], env=env)
    assert exported.exit_code == 0 and "2 rows" in exported.stdout
    back = runner.invoke(cli.app, ["import", str(out), "--provider", market, "--json"], env=env)
    assert back.exit_code == 0 and json.loads(back.stdout)["counts"]["unchanged"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row("企业年报信息", "年报年度", 更新周期="每十年")]))
    failed = runner.invoke(cli.app, ["import", str(bad), "--provider", market], env=env)
    assert failed.exit_code == 1 and "第 2 行 更新周期 [G2]" in failed.output
    db.dispose()


def test_anonymous_and_outsider_are_refused(client, as_user) -> None:  # noqa: ANN001
    outsider = as_user("outsider")
    for method, path in [("POST", "/api/v1/catalog/import"), ("GET", "/api/v1/catalog/export")]:
        assert client.request(method, path).status_code == 401
        assert outsider.send(method, path).status_code == 403

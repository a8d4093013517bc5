"""The catalogue import/export page: a provider's catalogue clerk downloads the catalogue and the template,
dry-runs a sheet and reads the row-by-row report, then imports it for real; unreadable files come back as
readable messages on the page; a clerk without catalog.manage, another department's clerk and the outsider
are refused."""

from __future__ import annotations

import csv
import html as entities
import io
import re
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import personas
from zhicheng.catalog import services, transfer
from zhicheng.catalog.models import Resource, ResourceItem
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work

ME = Actor(kind="cli", name="tester")
HEAD = ["资源名称", "资源分类代码", "资源代码", "资源格式", "共享类型", "共享条件", "更新周期", "信息项名称"]


def catalog_clerk(db: Database, username: str = "catclerk", org: str = "market") -> str:
    """A 数据资源编目员 of a persona department: catalog.manage over that department only."""
    org_id = getattr(personas.WORLD, org)
    with unit_of_work(db, ME) as uow:
        u = auth.create_user(
            uow, UserIn(username=username, display_name="钱编目", password=personas.PASSWORD, org_id=org_id)
        )
        auth.grant_role(uow, u.id, GrantIn(role="catalog_clerk", org_id=org_id))
    return username


def row(name: str, item: str, **over: str) -> list[str]:
    values = dict(zip(HEAD, [name, "201001", "", "电子表格", "无条件共享", "", "每月", item], strict=True))
    values.update(over)
    return [values[h] for h in HEAD]


def sheet(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEAD, *rows])
    return out.getvalue().encode(encoding)


# row 2-3: one good resource with two items; row 4: a sharing type that does not exist
MIXED = [
    row("企业登记信息", "统一社会信用代码"),
    row("", "企业名称"),
    row("企业年报信息", "年报年度", 共享类型="随便共享"),
]


def upload(  # noqa: ANN201
    client,  # noqa: ANN001
    data: bytes,
    filename: str = "目录.csv",
    provider: int | str | None = None,
    dry_run: bool = False,
    csrf: bool = True,
    **kw,  # noqa: ANN003
):
    form = {"provider_org_id": str(personas.WORLD.market if provider is None else provider)}
    if csrf:
        form["csrf_token"] = client.csrf
    if dry_run:
        form["dry_run"] = "1"
    files = {"file": (filename, data, "text/csv")}
    return client.http.post("/catalog/transfer", data=form, files=files, follow_redirects=False, **kw)


def main(html: str) -> str:
    return html.split("<main>", 1)[1]


def count(db: Database, model: type = Resource) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def cells(html: str, testid: str) -> dict[str, str]:
    """The counts table: outcome key → the number shown."""
    return dict(re.findall(rf'data-testid="{testid}-(\w+)">(\d+)<', html))


def report_rows(html: str) -> dict[str, str]:
    """The problems table: row number → the row's cells as text."""
    table = html.split('data-testid="report"', 1)[1].split("</table>", 1)[0]
    found = re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', table, re.S)
    return {n: entities.unescape(re.sub(r"<[^>]+>", "|", body)) for n, body in found}


def test_clerk_dry_runs_reads_the_report_then_imports(db, classes, as_user) -> None:  # noqa: ANN001
    clerk = as_user(catalog_clerk(db))
    page = clerk.get("/catalog/transfer")
    assert page.status_code == 200
    assert 'href="/catalog/transfer"' in page.text.split("<main>")[0]  # the navigation entry
    # the chooser offers only the clerk's own department, already chosen
    options = re.findall(r'<option value="(\d*)" ?(selected)?>', main(page.text).split("</select>")[0])
    assert options == [(str(personas.WORLD.market), "selected")]

    before = (count(db), count(db, AuditRecord))
    r = upload(clerk, sheet(MIXED), dry_run=True)
    assert r.status_code == 200, r.text
    html = main(r.text)
    assert 'data-dry-run="true"' in html and "试运行结果（未写入任何数据）" in html
    assert cells(html, "count") == {"created": "1", "updated": "0", "unchanged": "0", "failed": "1"}
    problems = report_rows(html)
    assert list(problems) == ["4"]
    assert "共享类型" in problems["4"] and "E4" in problems["4"] and "随便共享" in problems["4"]
    assert "“随便共享”不是可选值，可选：无条件共享、有条件共享、不予共享" in problems["4"]
    assert "南京市市场监督管理局" in html and "UTF-8" in html
    assert 'name="dry_run" value="1" checked' in html  # the choice survives the round trip
    assert (count(db), count(db, AuditRecord)) == before  # a dry run writes nothing

    r = upload(clerk, sheet(MIXED))
    html = main(r.text)
    assert r.status_code == 200 and 'data-dry-run="false"' in html and "导入结果" in html
    assert cells(html, "count") == {"created": "1", "updated": "0", "unchanged": "0", "failed": "1"}
    assert list(report_rows(html)) == ["4"]
    with db.read() as s:
        made = s.scalar(select(Resource).where(Resource.name == "企业登记信息"))
        assert made is not None and made.provider_org_id == personas.WORLD.market
        items = s.scalars(select(ResourceItem.name).where(ResourceItem.resource_id == made.id)).all()
        assert sorted(items) == ["企业名称", "统一社会信用代码"]
        assert s.scalar(select(Resource).where(Resource.name == "企业年报信息")) is None
    outcome = re.search(r'<tr data-outcome="created">(.*?)</tr>', html, re.S)[1]
    assert "2–3" in outcome and made.code in outcome and "新建" in outcome

    # the same file again: the good resource is refused as a twin, with its code named
    again = main(upload(clerk, sheet(MIXED[:2])).text)
    assert cells(again, "count")["failed"] == "1" and made.code in report_rows(again)["2"]


def test_the_report_speaks_english(db, classes, as_user) -> None:  # noqa: ANN001
    clerk = as_user(catalog_clerk(db))
    html = main(upload(clerk, sheet(MIXED), dry_run=True, params={"lang": "en"}).text)
    problem = report_rows(html)["4"]
    assert "Sharing type" in problem and "'随便共享' is not one of: unconditional" in problem
    assert "Dry run result (nothing was written)" in html and ">Rejected<" in html
    assert "不是可选值" not in html


def test_a_gbk_file_and_a_clean_dry_run(db, classes, as_user) -> None:  # noqa: ANN001
    clerk = as_user(catalog_clerk(db))
    data = sheet([row("个体工商户登记信息", "经营者姓名")], encoding="gbk")
    html = main(upload(clerk, data, dry_run=True).text)
    assert "GB18030" in html and cells(html, "count")["created"] == "1"
    assert "每一行都通过了校验" in html and "全部通过" in html
    assert count(db) == 0
    html = main(upload(clerk, data).text)
    assert cells(html, "count")["created"] == "1" and count(db) == 1


def test_export_and_template_download(db, classes, as_user) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        body = {
            "name": "企业登记信息",
            "class_code": "201001",
            "provider_org_id": personas.WORLD.market,
            "format": "电子表格",
            "share_type": "无条件共享",
            "update_cycle": "每月",
            "items": [{"name": "统一社会信用代码"}, {"name": "企业名称"}],
        }
        code = services.create_resource(uow, ResourceIn.model_validate(body)).code
    clerk = as_user(catalog_clerk(db))
    market = personas.WORLD.market
    r = clerk.get("/catalog/transfer/export", params={"provider_org_id": market, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it right
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == transfer.HEADERS and len(rows) == 3 and rows[1][2] == code
    name = unquote(r.headers["content-disposition"].split("filename*=UTF-8''")[1])
    assert name.startswith("数据资源目录-南京市市场监督管理局-") and name.endswith(".csv")

    r = clerk.get("/catalog/transfer/export", params={"provider_org_id": market, "format": "xlsx"})
    book = load_workbook(io.BytesIO(r.content))
    assert book.active.title == "资源目录" and book.active.max_row == 3

    # the exported file imports back with nothing changed
    html = main(upload(clerk, r.content, filename="导出.xlsx").text)
    assert cells(html, "count") == {"created": "0", "updated": "0", "unchanged": "1", "failed": "0"}

    for fmt in ("xlsx", "csv"):
        t = clerk.get("/catalog/transfer/template", params={"format": fmt})
        assert t.status_code == 200
        assert f'filename="catalog-template.{fmt}"' in t.headers["content-disposition"]
    template = clerk.get("/catalog/transfer/template", params={"format": "csv"}).content
    assert list(csv.reader(io.StringIO(template.decode("utf-8-sig")))) == [transfer.HEADERS]
    book = load_workbook(io.BytesIO(clerk.get("/catalog/transfer/template").content))
    assert [c.value for c in next(book.active.iter_rows())] == transfer.HEADERS and book.active.max_row == 1

    bad = clerk.get("/catalog/transfer/export", params={"provider_org_id": market, "format": "pdf"})
    assert bad.status_code == 422 and "只能导出为 .xlsx 或 CSV" in bad.text
    assert clerk.get("/catalog/transfer/template", params={"format": "pdf"}).status_code == 422
    missing = clerk.get("/catalog/transfer/export", params={"format": "csv"})
    assert missing.status_code == 422 and "请选择部门" in missing.text


@pytest.mark.parametrize(
    "data, filename, says",
    [
        (b"%PDF-1.4 binary", "目录.pdf", "不支持的文件类型“目录.pdf”"),
        (b"PK\x03\x04not-a-sheet", "目录.docx", "不支持的文件类型"),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 64, "目录.xls", "不支持旧版 .xls 格式"),
        (b"not a zip", "目录.xlsx", "不是有效的 .xlsx 文件"),
        (sheet([row("企业年报信息", "年报年度")]) + b"\xff\x80\xfe\n", "目录.csv", "无法识别文件编码"),
        (b"x" * (transfer.MAX_BYTES + 1), "目录.csv", "文件超过 10 MB"),
        (b"", "目录.csv", "文件为空"),
        (sheet([]), "目录.csv", "没有数据行"),
        ("甲,乙\n1,2\n".encode(), "目录.csv", "表头缺少必填列"),
    ],
)
def test_unreadable_files_come_back_as_messages(db, classes, as_user, data, filename, says) -> None:  # noqa: ANN001
    clerk = as_user(catalog_clerk(db))
    before = count(db, AuditRecord)
    r = upload(clerk, data, filename=filename, dry_run=True)
    assert r.status_code == 422, r.text[:500]
    html = main(r.text)
    error = re.search(r'data-testid="error">(.*?)</div>', html, re.S)[1]
    assert says in error
    assert 'data-testid="result"' not in html and 'data-testid="form-import"' in html  # the form, to retry
    assert f'value="{personas.WORLD.market}" selected' in html
    assert count(db, AuditRecord) == before


def test_missing_file_or_department_and_english_messages(db, classes, as_user) -> None:  # noqa: ANN001
    clerk = as_user(catalog_clerk(db))
    r = clerk.http.post(
        "/catalog/transfer", data={"csrf_token": clerk.csrf, "provider_org_id": str(personas.WORLD.market)}
    )
    assert r.status_code == 422 and "请选择要导入的文件" in r.text
    for junk in ("", "abc"):
        r = upload(clerk, sheet(MIXED), provider=junk)
        assert r.status_code == 422 and "请选择部门" in r.text
    r = upload(clerk, sheet(MIXED), provider=999999)
    assert r.status_code == 422 and "机构 999999 不存在" in r.text
    r = upload(clerk, b"", params={"lang": "en"})
    assert r.status_code == 422 and "the file is empty" in r.text


def test_who_is_refused(db, classes, as_user, client) -> None:  # noqa: ANN001
    data = sheet(MIXED)
    # a clerk with catalog.read but not catalog.manage: neither the page nor the forms, nor the nav entry
    reader = as_user("clerk")
    assert 'href="/catalog/transfer"' not in reader.get("/").text
    assert reader.get("/catalog/transfer").status_code == 403
    assert upload(reader, data).status_code == 403
    params = {"provider_org_id": personas.WORLD.market, "format": "csv"}
    assert reader.get("/catalog/transfer/export", params=params).status_code == 403
    assert reader.get("/catalog/transfer/template").status_code == 403
    outsider = as_user("outsider")
    for url in ("/catalog/transfer", "/catalog/transfer/export", "/catalog/transfer/template"):
        assert outsider.get(url).status_code == 403
    assert upload(outsider, data).status_code == 403
    anonymous = client.get("/catalog/transfer", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    # the market bureau's clerk may not import into, nor export, another department's catalogue
    clerk = as_user(catalog_clerk(db))
    r = upload(clerk, data, provider=personas.WORLD.data_bureau)
    assert r.status_code == 403 and "无权操作该机构的数据" in r.text
    other = {**params, "provider_org_id": personas.WORLD.data_bureau}
    r = clerk.get("/catalog/transfer/export", params=other)
    assert r.status_code == 403 and "无权操作该机构的数据" in r.text
    # a district's administrator sees only the district's departments
    page = main(as_user("district_admin").get("/catalog/transfer").text)
    assert "玄武区市场监督管理局" in page and "南京市市场监督管理局" not in page
    # the form without its CSRF token
    assert upload(clerk, data, csrf=False).status_code == 403
    assert count(db) == 0

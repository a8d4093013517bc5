"""Catalogue import in a real browser: the market bureau's catalogue clerk opens 目录导入导出 from the
navigation, dry-runs a CSV with one bad row and reads that row in the report (nothing written), imports the
file for real and sees the counts, then downloads the department's catalogue as CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests import personas
from tests.browser.test_catalog import make_classes
from tests.browser.test_console import login, nav

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-catalog-transfer.png"
HEAD = ["资源名称", "资源分类代码", "资源代码", "资源格式", "共享类型", "更新周期", "信息项名称", "敏感类别"]


def clerk(new_page, tag: str) -> str:  # noqa: ANN001
    """As the administrator, through the API: a catalogue clerk of 南京市市场监督管理局."""
    page = new_page()
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    csrf = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    orgs = {o["name"]: o["id"] for o in page.request.get("/api/v1/orgs?limit=1000").json()}
    market = orgs["南京市市场监督管理局"]
    username = f"cataloguer-{tag}"
    body = {"username": username, "display_name": "孙编目", "password": personas.PASSWORD, "org_id": market}
    r = page.request.post("/api/v1/users", data=body, headers={"X-CSRF-Token": csrf})
    assert r.status == 201, r.text()
    grant = {"role": "catalog_clerk", "org_id": market}
    url = f"/api/v1/users/{r.json()['id']}/grants"
    r = page.request.post(url, data=grant, headers={"X-CSRF-Token": csrf})
    assert r.status == 201, r.text()
    return username


def catalogue_csv(tag: str) -> bytes:
    """Rows 2-3: a good resource with two items; row 4: a resource whose update cycle does not exist."""
    out = io.StringIO(newline="")
    csv.writer(out).writerows(
        [
            HEAD,
            [f"户籍人口迁入登记信息{tag}", "101001", "", "数据库", "无条件共享", "每日", "姓名", "姓名"],
            ["", "", "", "", "", "", "迁入日期", ""],
            [f"户籍人口迁出登记信息{tag}", "101001", "", "数据库", "无条件共享", "每十年", "姓名", "姓名"],
        ]
    )
    return out.getvalue().encode("utf-8-sig")


def choose(page: Page, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": "户籍目录.csv", "mimeType": "text/csv", "buffer": data}])


def test_clerk_dry_runs_then_imports_a_csv(new_page) -> None:  # noqa: ANN001
    make_classes(new_page())
    tag = uuid.uuid4().hex[:6]
    page = new_page()
    login(page, clerk(new_page, tag))
    expect(page.get_by_test_id("whoami")).to_have_text("孙编目")

    nav(page).get_by_role("link", name="目录导入导出").click()
    expect(page.locator("h1")).to_have_text("目录导入导出")
    # the chooser holds the clerk's one department, already chosen
    only = page.locator("#import_org option")
    expect(only).to_have_count(1)
    expect(only).to_have_text("南京市市场监督管理局")
    expect(page.locator("#import_org")).to_have_value(only.get_attribute("value"))

    # a dry run (the box is ticked by default): the bad row is reported, nothing is written
    data = catalogue_csv(tag)
    expect(page.locator("#dry_run")).to_be_checked()
    choose(page, data)
    page.get_by_role("button", name="导入目录").click()
    result = page.get_by_test_id("result")
    expect(result).to_have_attribute("data-dry-run", "true")
    expect(result.locator("h2")).to_have_text("试运行结果（未写入任何数据）")
    expect(page.get_by_test_id("count-created")).to_have_text("1")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    bad = page.get_by_test_id("report").locator("tr[data-row='4']")
    expect(bad).to_contain_text("更新周期")
    expect(bad).to_contain_text("F4")
    expect(bad).to_contain_text("“每十年”不是可选值")
    expect(page.get_by_test_id("report").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("outcomes").locator("tr[data-outcome='created']")).to_contain_text("—")

    # the real import: the good resource gets its code, the bad one stays out
    page.locator("#dry_run").uncheck()
    choose(page, data)
    page.get_by_role("button", name="导入目录").click()
    expect(result).to_have_attribute("data-dry-run", "false")
    expect(result.locator("h2")).to_have_text("导入结果")
    expect(page.get_by_test_id("count-created")).to_have_text("1")
    expect(page.get_by_test_id("count-updated")).to_have_text("0")
    expect(page.get_by_test_id("count-unchanged")).to_have_text("0")
    expect(page.get_by_test_id("count-failed")).to_have_text("1")
    created = page.get_by_test_id("outcomes").locator("tr[data-outcome='created']")
    expect(created).to_contain_text(f"户籍人口迁入登记信息{tag}")
    expect(created).to_contain_text("101001/")
    expect(page.get_by_test_id("report").locator("tr[data-row='4']")).to_contain_text("每十年")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # the department's catalogue as CSV now carries the imported resource
    with page.expect_download() as caught:
        page.get_by_test_id("form-export").get_by_role("button", name="下载 CSV").click()
    download = caught.value
    assert download.suggested_filename.startswith("数据资源目录-南京市市场监督管理局-")
    with open(download.path(), encoding="utf-8-sig") as f:
        names = [r[0] for r in csv.reader(f)]
    assert names.count(f"户籍人口迁入登记信息{tag}") == 2  # one row per information item
    assert f"户籍人口迁出登记信息{tag}" not in names

    # and the catalog lists it
    page.goto(f"/catalog?q=户籍人口迁入登记信息{tag}")
    expect(page.get_by_test_id("resources")).to_contain_text(f"户籍人口迁入登记信息{tag}")

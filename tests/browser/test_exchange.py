"""The exchange console in a real browser: the market bureau's catalogue clerk opens its hosted resource from
the navigation, uploads a small CSV with one bad row, reads the row report, finds the good rows masked in
the sample, and opens the usage page, where ECharts draws its chart."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from playwright.sync_api import Page, expect
from stdnum.cn import ric

from tests import personas
from tests.browser.test_catalog import make_classes
from tests.browser.test_console import login, nav

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-exchange.png"
ITEMS = [
    {"name": "姓名", "data_type": "字符型", "sensitivity": "姓名"},
    {"name": "公民身份号码", "data_type": "字符型", "sensitivity": "证件号码"},
    {"name": "联系电话", "data_type": "字符型", "sensitivity": "电话号码"},
    {"name": "出生日期", "data_type": "日期型"},
    {"name": "所属区县", "data_type": "字符型"},
]


def csrf(page: Page) -> str:
    return json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]


def post(page: Page, url: str, data: dict) -> dict:
    r = page.request.post(url, data=data, headers={"X-CSRF-Token": csrf(page)})
    assert r.status == 201, r.text()
    return r.json()


def setup(new_page) -> dict:  # noqa: ANN001
    """As the administrator, through the API: a resource of 南京市市场监督管理局 hosted on the platform, and
    a catalogue clerk of that bureau (fresh names: the live server is shared by the session)."""
    make_classes(new_page())
    page = new_page()
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    orgs = {o["name"]: o["id"] for o in page.request.get("/api/v1/orgs?limit=1000").json()}
    market = orgs["南京市市场监督管理局"]
    tag = uuid.uuid4().hex[:6]
    name = f"个体经营者登记信息{tag}"
    res = post(
        page,
        "/api/v1/catalog/resources",
        {
            "name": name,
            "class_code": "101001",
            "provider_org_id": market,
            "format": "数据库",
            "update_cycle": "每日",
            "share_type": "无条件共享",
            "items": ITEMS,
        },
    )
    hosted = post(page, f"/api/v1/exchange/resources/{res['code']}/dataset", {"key_item": "公民身份号码"})
    assert hosted["mode"] == "hosted"
    username = f"provider-{tag}"
    user = post(
        page,
        "/api/v1/users",
        {"username": username, "display_name": "钱编目", "password": personas.PASSWORD, "org_id": market},
    )
    post(page, f"/api/v1/users/{user['id']}/grants", {"role": "catalog_clerk", "org_id": market})
    return {"id": res["id"], "name": name, "user": username}


def resident(n: int, born: str) -> list[str]:
    body = f"32010219850601{n:03d}"
    number = body + ric.calc_check_digit(body + "0")  # stdnum's helper wants all 18 characters
    return [f"周{'一二三'[n % 3]}", number, f"1390000{n:04d}", born, "玄武区"]


def people_csv() -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow([i["name"] for i in ITEMS])
    w.writerows([resident(1, "1985-06-01"), resident(2, "1990-02-30"), resident(3, "1972-11-23")])
    return buf.getvalue().encode("utf-8-sig")


def test_provider_uploads_reads_the_report_and_sees_usage(new_page) -> None:  # noqa: ANN001
    w = setup(new_page)
    page = new_page()
    login(page, w["user"])
    expect(page.get_by_test_id("whoami")).to_have_text("钱编目")

    # the clerk's datasets, then the resource's page: hosted, still empty
    nav(page).get_by_role("link", name="数据挂接").click()
    page.get_by_test_id("datasets").get_by_role("link", name=w["name"]).click()
    expect(page.get_by_test_id("dataset")).to_have_attribute("data-mode", "hosted")
    expect(page.get_by_test_id("row-count")).to_have_text("0")
    expect(page.get_by_test_id("header")).to_have_text("姓名,公民身份号码,联系电话,出生日期,所属区县")

    # a CSV whose second data row (row 3 of the sheet) has a date that does not exist
    upload = {"name": "个体经营者.csv", "mimeType": "text/csv", "buffer": people_csv()}
    page.set_input_files("#file", files=[upload])
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.get_by_test_id("flash")).to_contain_text("读取 3 行，导入 2 行，拒绝 1 行")
    expect(page.get_by_test_id("rows-rejected")).to_have_text("1")
    bad = page.get_by_test_id("report").locator("tr[data-row='3']")
    expect(bad).to_contain_text("出生日期")
    expect(bad).to_contain_text("“1990-02-30”不是日期")

    # back on the resource's page: two rows, the load listed, the sample masked
    page.get_by_role("link", name=f"← {w['name']}").click()
    expect(page.get_by_test_id("row-count")).to_have_text("2")
    expect(page.get_by_test_id("loads").locator("tbody tr")).to_have_count(1)
    sample = page.get_by_test_id("sample-rows")
    expect(sample.locator("tbody tr")).to_have_count(2)
    expect(sample).to_contain_text("139****0001")
    expect(sample).not_to_contain_text("13900000001")
    expect(sample).to_contain_text("周*")

    # the usage page: the chart is drawn by ECharts on a canvas
    nav(page).get_by_role("link", name="使用统计").click()
    expect(page.locator("h1")).to_have_text("使用统计")
    canvas = page.get_by_test_id("usage-chart").locator("canvas")
    expect(canvas.first).to_be_visible()
    assert canvas.first.evaluate("c => c.width > 0 && c.height > 0")
    expect(page.get_by_test_id("usage-table")).to_be_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)

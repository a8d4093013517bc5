"""The catalog in a real browser: a department's data clerk catalogues a resource through the form, finds it
by a facet, edits it (the history shows both versions) and reads it in English."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_console import login, nav

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-catalog.png"
CLASSES = [("1", "基础信息资源"), ("101", "人口基础信息"), ("101001", "户籍人口")]
NAME = "南京市户籍人口变动信息"


def make_classes(page: Page) -> None:
    """The classification is the data authority's: the administrator adds it through the API."""
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    csrf = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    for code, name in CLASSES:
        r = page.request.post(
            "/api/v1/catalog/classes", data={"code": code, "name": name}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status in (201, 409), r.text()  # 409: another test of this live server made it already


def fill_item(page: Page, row: int, name: str, data_type: str, sensitivity: str, share: str = "") -> None:
    cells = page.locator("#item-rows tr").nth(row)
    cells.locator("[name=item_name]").fill(name)
    cells.locator("[name=item_data_type]").select_option(data_type)
    cells.locator("[name=item_sensitivity]").select_option(sensitivity)
    cells.locator("[name=item_share_type]").select_option(share)


def test_clerk_catalogues_finds_edits_and_reads_in_english(new_page) -> None:  # noqa: ANN001
    make_classes(new_page())
    page = new_page()
    login(page, "cityadmin")

    # catalogue through the form: a mistake first, then the fix
    nav(page).get_by_role("link", name="编目", exact=True).click()
    expect(page.locator("h1")).to_have_text("编目新资源")
    page.fill("#name", NAME)
    page.select_option("#provider_org_id", label="南京市市场监督管理局")
    page.select_option("#class_code", "101001")
    page.fill("#summary", "户籍人口的出生、死亡、迁入、迁出变动登记")
    page.select_option("#format", "database")
    page.select_option("#update_cycle", "quarterly")
    page.select_option("#share_type", "conditional")
    page.select_option("#grade", "important")
    page.fill("#keywords", "户籍 变动")
    fill_item(page, 0, "姓名", "string", "name")
    fill_item(page, 1, "公民身份号码", "string", "id_number")
    page.get_by_role("button", name="添加一行").click()  # a 4th row, although 3 blank ones came with the page
    expect(page.locator("#item-rows tr")).to_have_count(4)
    fill_item(page, 3, "联系电话", "string", "phone", "none")  # row 3 stays empty and is not saved
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("有条件共享须写明共享条件")
    expect(page.locator("#name")).to_have_value(NAME)  # what was typed survives the error
    expect(page.locator("#item-rows [name=item_name]").nth(2)).to_have_value(
        "联系电话"
    )  # rows come back packed
    page.fill("#share_condition", "仅用于政务服务中的户籍核验")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("flash")).to_contain_text("已编目：101001/")
    code = page.get_by_test_id("code").inner_text().strip()
    assert re.fullmatch(r"101001/\d{6}", code)
    expect(page.locator("h1")).to_contain_text(NAME)
    expect(page.get_by_test_id("class-path")).to_contain_text("基础信息资源 › 人口基础信息 › 户籍人口")
    expect(page.get_by_test_id("items").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("sample")).to_contain_text("暂无托管数据")

    # find it in the catalog, then narrow by a facet
    nav(page).get_by_role("link", name="数据资源目录").click()
    expect(page.get_by_test_id("resources")).to_contain_text(NAME)
    cycles = page.get_by_test_id("facets").locator("[data-facet=update_cycle]")
    cycles.get_by_role("link", name="每季度").click()
    expect(page).to_have_url(re.compile(r"/catalog\?.*update_cycle=quarterly"))
    expect(page.get_by_test_id("chosen")).to_contain_text("更新周期：每季度")
    rows = page.get_by_test_id("resources").locator("tbody tr")
    expect(rows.first).to_contain_text("每季度")
    assert all("每季度" in row for row in rows.all_inner_texts())
    page.get_by_role("link", name=NAME).click()

    # edit: a new version, and the history shows both
    page.get_by_test_id("edit").click()
    expect(page.locator("h1")).to_contain_text("修改编目")
    page.select_option("#update_cycle", "monthly")
    page.fill("#note", "变动登记改为每月汇总")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("flash")).to_contain_text("已保存为第 2 版")
    history = page.get_by_test_id("history").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("更新周期")
    expect(history.first).to_contain_text("变动登记改为每月汇总")
    expect(page.get_by_test_id("meta")).to_contain_text("每月")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # an old version as it was
    history.nth(1).get_by_role("link", name="查看此版本").click()
    expect(page.get_by_test_id("version-note")).to_contain_text("这是历史版本")
    expect(page.get_by_test_id("meta")).to_contain_text("每季度")
    page.go_back()

    # English labels on request
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Information items")).to_be_visible()
    expect(page.get_by_test_id("meta")).to_contain_text("Conditional sharing")
    expect(page.get_by_test_id("meta")).to_contain_text("Monthly")
    expect(page.get_by_test_id("items")).to_contain_text("ID number")
    expect(page.get_by_test_id("sample")).to_contain_text("No hosted data yet")
    expect(nav(page)).to_contain_text("Data resource catalog")
    page.goto("/catalog")
    expect(page.get_by_test_id("facets")).to_contain_text("Update cycle")

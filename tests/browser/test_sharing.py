"""Data sharing in a real browser: a clerk of the market bureau applies for a conditional resource of the data
bureau through the form, the data authority approves it from the inbox, the provider grants it, and both sides
find the grant on their grants page."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests import personas
from tests.browser.test_catalog import make_classes
from tests.browser.test_console import login, nav
from zhicheng.core.calendar.clock import today as shanghai_today

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-inbox.png"
ITEMS = [
    {"name": "统一社会信用代码", "data_type": "字符型"},
    {"name": "企业名称", "data_type": "字符型"},
    {"name": "法定代表人", "data_type": "字符型", "sensitivity": "姓名"},
    {"name": "内部评分", "data_type": "整数型", "share_type": "不予共享"},
]


def csrf(page: Page) -> str:
    return json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]


def post(page: Page, url: str, data: dict) -> dict:
    r = page.request.post(url, data=data, headers={"X-CSRF-Token": csrf(page)})
    assert r.status == 201, r.text()
    return r.json()


def setup(new_page) -> dict:  # noqa: ANN001
    """As the administrator, through the API: the classes, two resources of 南京市数据局 and a data
    authority reviewer over the city (a fresh user name: the live server is shared by the session)."""
    make_classes(new_page())
    page = new_page()
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    orgs = {o["name"]: o["id"] for o in page.request.get("/api/v1/orgs?limit=1000").json()}
    base = {
        "class_code": "101001",
        "provider_org_id": orgs["南京市数据局"],
        "format": "数据库",
        "update_cycle": "每日",
        "share_basis": "《政务数据共享管理办法》第十条",
        "items": ITEMS,
    }
    cond = post(
        page,
        "/api/v1/catalog/resources",
        {**base, "name": "企业信用评价信息", "share_type": "有条件共享", "share_condition": "仅限监管使用"},
    )
    open_ = post(
        page, "/api/v1/catalog/resources", {**base, "name": "企业登记基础信息", "share_type": "无条件共享"}
    )
    username = f"authority-{uuid.uuid4().hex[:8]}"
    user = post(
        page,
        "/api/v1/users",
        {
            "username": username,
            "display_name": "孙审核",
            "password": personas.PASSWORD,
            "org_id": orgs["南京市数据局"],
        },
    )
    post(
        page,
        f"/api/v1/users/{user['id']}/grants",
        {"role": "data_authority", "org_id": orgs["南京市人民政府"]},
    )
    return {"cond": cond["id"], "open": open_["id"], "authority": username}


def test_apply_review_grant_in_the_browser(new_page) -> None:  # noqa: ANN001
    w = setup(new_page)

    # the clerk applies for the conditional resource through the form
    clerk = new_page()
    login(clerk, "clerk")
    clerk.goto(f"/sharing/requests/new?resource={w['cond']}")
    expect(clerk.locator("h1")).to_have_text("申请使用数据资源")
    expect(clerk.locator("input[name=items][value=内部评分]")).to_be_disabled()
    expect(clerk.get_by_test_id("closed-reason")).to_contain_text("政务数据共享管理办法")
    clerk.fill("#purpose", "市场主体信用分类监管")
    clerk.fill("#scenario", "双随机抽查前核验企业信用等级")
    clerk.fill("#system_name", "南京市市场监管综合业务系统")
    clerk.get_by_role("button", name="提交申请").click()  # no item chosen: the server says so
    expect(clerk.get_by_role("alert")).to_contain_text("请至少选择一项")
    expect(clerk.locator("#purpose")).to_have_value("市场主体信用分类监管")
    clerk.get_by_label("统一社会信用代码").check()
    clerk.get_by_label("法定代表人").check()
    clerk.get_by_role("button", name="提交申请").click()
    expect(clerk.get_by_test_id("flash")).to_contain_text("已提交共享申请")
    expect(clerk.get_by_test_id("due").get_by_test_id("clock")).to_contain_text("个工作日")
    rid = re.search(r"/sharing/requests/(\d+)$", clerk.url).group(1)
    # a second, unconditional request through the API, so that the inbox lists two
    post(clerk, "/api/v1/sharing/requests", {
        "resource_id": w["open"], "purpose": "企业开办核验", "scenario": "企业开办一件事",
        "system_name": "南京市市场监管综合业务系统", "items": ["企业名称"],
        "valid_from": shanghai_today().isoformat(),  # the city's date, not the browser's UTC one
        "valid_until": (shanghai_today() + dt.timedelta(days=365)).isoformat(),
    })  # fmt: skip
    nav(clerk).get_by_role("link", name="共享申请").click()
    expect(clerk.get_by_test_id("requests").locator("tbody tr")).to_have_count(2)

    # the data authority finds it in the inbox and approves
    authority = new_page()
    login(authority, w["authority"])
    nav(authority).get_by_role("link", name="审核待办").click()
    review = authority.get_by_test_id("inbox-review")
    expect(review.locator("tbody tr")).to_have_count(2)
    expect(review).to_contain_text("企业信用评价信息")
    expect(review.get_by_test_id("clock").first).to_be_visible()
    authority.screenshot(path=SCREENSHOT, full_page=True)
    review.locator(f"tr[data-request='{rid}'] a").first.click()
    authority.get_by_role("button", name="通过", exact=True).click()
    expect(authority.get_by_test_id("flash")).to_contain_text("审核通过")
    expect(authority.locator("h1")).to_contain_text("待提供方答复")

    # the provider refuses too briefly, then grants
    provider = new_page()
    login(provider, "cityadmin")
    nav(provider).get_by_role("link", name="审核待办").click()
    provider.get_by_test_id("inbox-decide").locator(f"tr[data-request='{rid}'] a").first.click()
    provider.fill("#reason-decide", "不行")
    provider.get_by_role("button", name="不予共享").click()
    expect(provider.get_by_role("alert")).to_contain_text("至少 10 个字")
    provider.fill("#reason-decide", "同意在监管范围内使用")
    provider.get_by_role("button", name="同意共享").click()
    expect(provider.get_by_test_id("flash")).to_contain_text("授权已生成")
    timeline = provider.get_by_test_id("timeline")
    expect(timeline.locator("tbody tr")).to_have_count(3)
    expect(timeline).to_contain_text(f"user:{w['authority']}")
    nav(provider).get_by_role("link", name="我的授权").click()
    expect(provider.get_by_test_id("grants-provided")).to_contain_text("南京市市场监督管理局")

    # the clerk holds the grant
    nav(clerk).get_by_role("link", name="我的授权").click()
    mine = clerk.get_by_test_id("grants-mine")
    expect(mine).to_contain_text("企业信用评价信息")
    expect(mine).to_contain_text("统一社会信用代码、法定代表人")
    expect(mine).to_contain_text("生效中")

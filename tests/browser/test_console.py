"""A walk through the console in a real browser: login, organizations, users and grants, tokens, the audit
trail and its verification, the language switch and logout; and the outsider, who sees nothing."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests import personas

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-audit.png"


def login(page: Page, username: str, password: str = personas.PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("form[action='/login'] button[type=submit]").click()


def nav(page: Page):  # noqa: ANN201
    return page.locator("nav.side")


def test_wrong_password_is_readable(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "admin", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_admin_walks_the_console(new_page, live_server) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    expect(page.locator("h1")).to_contain_text("王管理")

    # organizations: the list, then a new department under the city government
    nav(page).get_by_role("link", name="机构", exact=True).click()
    expect(page.get_by_test_id("orgs")).to_contain_text("南京市市场监督管理局")
    page.get_by_role("link", name="新建机构").click()
    page.fill("#name", "南京市城市管理局")
    page.select_option("#kind", "department")
    page.select_option("#parent_id", label="南京市人民政府")
    page.select_option("#division_code", "320100")
    page.fill("#credit_code", "not-a-code")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_role("alert")).to_contain_text("统一社会信用代码无效")
    expect(page.locator("#name")).to_have_value("南京市城市管理局")  # what was typed survives the error
    page.fill("#credit_code", "")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_test_id("flash")).to_contain_text("已创建机构：南京市城市管理局")
    expect(page.locator("h1")).to_have_text("南京市城市管理局")

    # users: create one in the new department and grant it the clerk role there
    nav(page).get_by_role("link", name="用户", exact=True).click()
    page.get_by_role("link", name="新建用户").click()
    page.fill("#username", "xiaoming")
    page.fill("#display_name", "张小明")
    page.select_option("#org_id", label="南京市城市管理局")
    page.fill("#password", "Xiaoming-2026")
    page.fill("#password2", "Xiaoming-2026")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_test_id("flash")).to_contain_text("已创建用户：xiaoming")
    page.select_option("#role", label="业务经办人")
    page.select_option("#grant_org", label="南京市城市管理局")
    page.get_by_role("button", name="授予", exact=True).click()
    expect(page.get_by_test_id("grants")).to_contain_text("业务经办人")
    expect(page.get_by_test_id("grants")).to_contain_text("南京市城市管理局")

    # the new user signs in elsewhere and sees only what a clerk may
    other = new_page()
    login(other, "xiaoming", "Xiaoming-2026")
    expect(other.get_by_test_id("whoami")).to_have_text("张小明")
    expect(nav(other).get_by_role("link", name="机构", exact=True)).to_be_visible()
    expect(nav(other).get_by_role("link", name="用户", exact=True)).to_have_count(0)
    response = other.goto("/users")
    assert response is not None and response.status == 403
    expect(other.get_by_role("alert")).to_have_text("无权执行此操作")

    # tokens: the secret shows once, works, and stops working once revoked
    nav(page).get_by_role("link", name="系统令牌").click()
    page.fill("#name", "城市运行监测系统")
    page.select_option("#org_id", label="南京市城市管理局")
    page.get_by_label("业务经办人").check()
    page.get_by_role("button", name="创建令牌").click()
    expect(page.get_by_role("alert")).to_contain_text("唯一一次显示")
    secret = page.get_by_test_id("secret").inner_text().strip()
    assert secret.startswith("zc_")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{live_server}/api/v1/me", headers=bearer).json()["name"] == "城市运行监测系统"
    page.get_by_role("link", name="返回令牌列表").click()
    assert secret not in page.content()
    row = page.get_by_test_id("tokens").locator("tr", has_text="城市运行监测系统")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="吊销").click()
    expect(page.get_by_test_id("flash")).to_contain_text("已吊销令牌")
    expect(page.get_by_test_id("tokens").locator("tr", has_text="城市运行监测系统")).to_contain_text("已吊销")
    assert httpx.get(f"{live_server}/api/v1/me", headers=bearer).status_code == 401

    # the audit trail holds every one of these actions; filter, verify, look at it
    nav(page).get_by_role("link", name="审计记录").click()
    trail = page.get_by_test_id("audit")
    for tag in (
        "orgs:org:create",
        "auth:user:create",
        "auth:grant:create",
        "auth:token:create",
        "auth:token:revoke",
    ):
        expect(trail).to_contain_text(tag)
    page.fill("#tag", "auth:")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"/audit\?.*tag=auth"))  # the filtered page has loaded
    expect(page.get_by_test_id("tag").first).to_contain_text("auth:")
    tags = page.get_by_test_id("tag").all_inner_texts()
    assert tags and all(t.startswith("auth:") for t in tags)
    assert "orgs:org:create" not in tags
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("verdict")).to_contain_text("审计链完整")
    expect(page.locator("#tag")).to_have_value("auth:")  # the verified page keeps its filter
    expect(page).to_have_url(re.compile(r"/audit\?tag=auth"))  # htmx swapped it in place: no POST to reload
    expect(trail).not_to_contain_text("待封存")  # verifying sealed the pending records
    page.get_by_test_id("audit").locator("details").nth(1).locator("summary").click()  # open one change
    page.screenshot(path=SCREENSHOT, full_page=True)

    # English on request, then sign out
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Audit trail")
    expect(nav(page)).to_contain_text("Organizations")
    expect(page.get_by_test_id("verify")).to_have_text("Verify chain")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#password")).to_be_visible()
    page.goto("/audit")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_outsider_sees_no_administration(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "outsider")
    expect(page.get_by_test_id("whoami")).to_have_text("吴路人")
    expect(nav(page)).to_have_count(0)
    response = page.goto("/audit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_have_text("无权执行此操作")

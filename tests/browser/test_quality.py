"""Data corrections (数据纠错) in a real browser: a consumer reports a wrong value on a resource's quality
page form, the provider's catalogue clerk finds it in the quality inbox with its working-day deadline and
answers it, and the report shows as corrected."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import login
from tests.browser.test_exchange import setup

pytestmark = pytest.mark.browser


def test_report_then_answer_a_correction(new_page) -> None:  # noqa: ANN001
    world = setup(new_page)
    reporter = new_page()
    login(reporter, "admin")
    expect(reporter.get_by_test_id("whoami")).to_have_text("王管理")
    reporter.goto(f"/quality/corrections/new?resource={world['id']}")
    reporter.select_option("#item", "联系电话")
    reporter.fill("#record_key", "320102199002024561")
    reporter.fill("#problem", "联系电话已停用，应为新号码")
    reporter.fill("#suggested", "13900001111")
    reporter.locator("form:has(#record_key) button[type=submit]").click()
    expect(reporter).to_have_url(re.compile(r"/quality/corrections/\d+$"))
    number = reporter.url.rstrip("/").rsplit("/", 1)[1]

    provider = new_page()
    login(provider, world["user"])
    expect(provider.get_by_test_id("whoami")).to_have_text("钱编目")
    provider.goto("/quality/inbox")
    row = provider.locator(f"tr[data-correction='{number}']")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("clock")).to_contain_text("工作日")
    row.locator("a").first.click()
    provider.fill("#note", "已按新号码更正")
    provider.get_by_role("button", name="已更正").click()
    expect(provider.locator("[data-status='corrected']").first).to_be_visible()

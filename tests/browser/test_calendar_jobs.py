"""The calendar and jobs pages in a real browser: a clerk counts a deadline; the calendar keeper's work
(here the administrator's) enters next year's arrangement and publishes it; the jobs page shows the queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import login, nav

pytestmark = pytest.mark.browser


def test_clerk_counts_a_deadline_but_cannot_edit(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "clerk")
    nav(page).get_by_role("link", name="工作日历").click()
    expect(page.get_by_test_id("year-grid")).to_be_visible()
    page.goto("/calendar?year=2026")
    page.fill("#calc-start", "2026-09-28")
    page.fill("#calc-days", "10")
    page.locator("#calc-days").press("Enter")
    expect(page.get_by_test_id("calc-result")).to_contain_text("2026-10-16")
    expect(page.get_by_test_id("publish")).to_have_count(0)  # no edit forms for a clerk


def test_admin_enters_and_publishes_next_year(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "admin")
    page.goto("/calendar?year=2027")
    expect(page.get_by_test_id("provisional-banner")).to_be_visible()
    page.fill("#set-day", "2027-01-01")
    page.select_option("#set-kind", "holiday")
    page.fill("#set-name", "元旦")
    page.locator("form[action='/calendar/days'] button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text("元旦")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("published")).to_be_visible()
    expect(page.get_by_test_id("provisional-banner")).to_have_count(0)
    page.fill("#calc-start", "2026-12-31")
    page.fill("#calc-days", "1")
    page.locator("#calc-days").press("Enter")
    expect(page.get_by_test_id("calc-result")).to_contain_text("2027-01-04")  # 1 January is now a holiday


def test_jobs_page_for_the_auditor_only(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "auditor")
    nav(page).get_by_role("link", name="后台任务").click()
    expect(page).to_have_url(re.compile(r"/jobs"))
    expect(page.get_by_test_id("counts")).to_be_visible()
    # this live server runs no worker, and the page says so in plain words
    expect(page.get_by_text("没有工作进程在运行")).to_be_visible()
    clerk = new_page()
    login(clerk, "clerk")
    expect(nav(clerk).get_by_role("link", name="后台任务")).to_have_count(0)
    response = clerk.goto("/jobs")
    assert response is not None and response.status == 403

"""The city dashboard (城市运行体征) in a real browser: the administrator puts four grids of 秦淮区 and a
category on the live server, a 12345 report comes in, the dashboard draws the map of the grids (ECharts over
our own GeoJSON, no tiles) and its charts; a second report arrives and the auto-refresh shows it without a
reload."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_console import login
from tests.cityops.conftest import QINHUAI, SIZE, collection, feature, square

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/zc-cityops-dashboard.png"


def _csrf(page: Page) -> str:
    return json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]


def _send(page: Page, url: str, data: dict, status: tuple[int, ...] = (200, 201)) -> dict:
    r = page.request.post(
        url, data=json.dumps(data), headers={"X-CSRF-Token": _csrf(page), "Content-Type": "application/json"}
    )
    assert r.status in status, r.text()
    return r.json()


def _report(page: Page, n: int) -> None:
    x, y = QINHUAI[0] + 0.002 + n * 0.0015, QINHUAI[1] + 0.002
    body = {"category": "event:0999", "location": {"lng": x, "lat": y}, "description": f"仪表板测试 {n}"}
    _send(page, "/api/v1/cityops/reports?channel=hotline", body)


def test_dashboard_map_and_auto_refresh(new_page) -> None:  # noqa: ANN001
    page = new_page()
    login(page, "admin")
    expect(page.get_by_test_id("whoami")).to_have_text("王管理")
    grids = [
        feature(
            f"320104001001{r * 2 + c + 1:03d}",
            f"秦淮第{r * 2 + c + 1}网格",
            square(QINHUAI[0] + c * SIZE, QINHUAI[1] + r * SIZE),
        )
        for r in range(2)
        for c in range(2)
    ]
    _send(page, "/api/v1/cityops/grids/import?replace=true", collection(grids))
    category = {
        "kind": "event",
        "code": "0999",
        "major_name": "其他事件",
        "name": "仪表板测试",
        "dispatch_days": 1,
        "handle_days": 3,
    }
    _send(page, "/api/v1/cityops/categories/import", {"categories": [category], "rules": []})
    _report(page, 0)
    page.goto("/cityops/dashboard?refresh=2")
    expect(page.get_by_role("heading", name="城市运行体征", exact=True)).to_be_visible()
    expect(page.locator("#chart-map[data-ready='1']")).to_have_count(1)
    expect(page.locator("#chart-map canvas")).to_have_count(1)
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    expect(page.locator("#dash-chart-missing")).to_be_hidden()
    box = page.locator("#chart-map canvas").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    today = int(page.get_by_test_id("reported-today").inner_text())
    opened = int(page.get_by_test_id("open").inner_text())
    assert today >= 1
    stamp = page.get_by_test_id("generated-at").inner_text()
    _report(page, 1)
    expect(page.get_by_test_id("reported-today")).to_have_text(str(today + 1))
    expect(page.get_by_test_id("open")).to_have_text(str(opened + 1))
    expect(page.get_by_test_id("generated-at")).not_to_have_text(stamp)
    page.screenshot(path=SCREENSHOT, full_page=True)
    # the indicators page, from the navigation
    page.locator("nav.side").get_by_role("link", name="考核指标").click()
    expect(page.get_by_test_id("indicator-table")).to_be_visible()

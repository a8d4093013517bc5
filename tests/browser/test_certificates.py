"""Certificate verification in a real browser: an issuer issues a certificate, its holder's page shows the QR
code, and anyone — signed in or not — checks the number on the public verification page; a forged number
comes back invalid, never as an error page."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests import personas
from tests.browser.test_console import login

pytestmark = pytest.mark.browser


def test_issue_then_verify_publicly(new_page) -> None:  # noqa: ANN001
    admin = new_page()
    login(admin, "admin")
    token = json.loads(admin.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    headers = {"X-CSRF-Token": token}
    kind = {"code": "SPJYXK", "name": "食品经营许可证", "holder_kind": "any", "fields": [{"key": "经营场所"}]}
    assert admin.request.post("/api/v1/certificate-types", data=kind, headers=headers).ok
    issued = admin.request.post(
        "/api/v1/certificates",
        data={
            "type_code": "SPJYXK",
            "holder_name": "张三",
            "holder_id": "320102199002024561",  # a valid resident ID (check digit included)
            "issuer_org_id": personas.WORLD.market,
            "content": {"经营场所": "南京市玄武区中山路1号"},
        },
        headers=headers,
    )
    assert issued.status == 201, issued.text()
    number = issued.json()["number"]

    admin.goto(f"/certificates/{number}")
    expect(admin.locator("svg").first).to_be_visible()  # the QR code of the verification address

    public = new_page()  # nobody signed in
    public.goto(f"/verify/{number}")
    result = public.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-valid", "true")
    expect(result).to_contain_text("张*")  # the holder masked
    public.fill("#number", number[:-1] + ("X" if number[-1] != "X" else "Y"))
    public.get_by_role("button", name="核验").click()
    expect(public.get_by_test_id("verify-result")).to_have_attribute("data-valid", "false")

"""One-stop services end to end in a real browser (issue 4 §9): a citizen applies online for a construction
permit and is reminded of the missing 容缺 material while filling in; the window accepts with 容缺; the
citizen supplies the material; four departments review in parallel (the case waits until the fourth
concludes); the decider approves, the window mails the result, and the certificate the decision issued
verifies publicly while a forged number does not.

The world (tests/approvals/conftest.py `build_world`) is committed in the live server's own database; this
module only looks at its own case (found by its number), so other browser tests' data does not matter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.approvals.conftest import ME, PDF, W, build_world, item_body
from tests.browser.test_console import login
from zhicheng.approvals import items
from zhicheng.approvals.schemas import ItemIn
from zhicheng.certificates import services as certificates
from zhicheng.certificates.schemas import FieldIn, TypeIn
from zhicheng.core.auth.models import User
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import Conflict

pytestmark = pytest.mark.browser

CERT_TYPE = "JZSGXK"
REVIEWERS = [  # (login, department) of the joint review's four parallel tasks
    ("rv_housing", "南京市城乡建设委员会"),
    ("rv_planning", "南京市规划和自然资源局"),
    ("rv_fire", "南京市消防救援支队"),
    ("rv_civil", "南京市人防办"),
]
TRACKING = "SF1234567890"


def existing_world(db: Database) -> W:
    """The world another module built in this live database already (build_world refuses to run twice)."""
    staff = ("window", "rv_housing", "rv_planning", "rv_fire", "rv_civil")
    with db.read() as s:
        found = s.scalars(select(User).where(User.username.in_([*staff, "zhangsan", "company"])))
        users = {u.username: u for u in found}
    orgs = [users[name].org_id for name in staff]
    return W(*orgs, users["zhangsan"].party_id, users["company"].party_id)


@pytest.fixture(scope="module")
def world(live_db: Database) -> W:
    """build_world in the live database, committed; the permit item issues a catalogued certificate type."""
    try:
        w = build_world(live_db)
    except Conflict:
        w = existing_world(live_db)
    with unit_of_work(live_db, ME) as uow:
        certificates.define_type(
            uow,
            TypeIn(
                code=CERT_TYPE,
                name="建筑工程施工许可证",
                holder_kind="any",
                validity_years=3,
                fields=[FieldIn(key="project"), FieldIn(key="investment")],
            ),
        )
        items.update_item(uow, w.joint_item, ItemIn(**item_body(w, certificate_type=CERT_TYPE)))
    return w


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files to upload: valid PDFs per material, a text file posing as a PDF, and an executable."""
    d = tmp_path_factory.mktemp("approvals-files")
    out = {}
    for name in ("申请表", "用地批准", "施工图", "消防意见"):
        out[name] = d / f"{name}.pdf"
        out[name].write_bytes(PDF.replace(b"test material", name.encode()))
    out["fake"] = d / "用地批准-伪.pdf"
    out["fake"].write_bytes(b"just some text, not a PDF at all\n")
    out["exe"] = d / "setup.exe"
    out["exe"].write_bytes(b"MZ\x90\x00" + b"\x00" * 60)
    return out


def signed_in(new_page, username: str) -> Page:  # noqa: ANN001
    page = new_page()
    login(page, username)
    expect(page.get_by_test_id("whoami")).to_have_text(username)  # build_world's display names are the logins
    return page


def nav_to(page: Page, label: str) -> None:
    page.locator("nav.side").get_by_role("link", name=label, exact=True).click()
    expect(page.locator("h1")).to_contain_text(label)


# --- 1. the citizen applies online ----------------------------------------------------------------------


def citizen_applies(page: Page, w: W, files: dict[str, Path]) -> tuple[int, str]:
    nav_to(page, "办事指南")
    page.get_by_test_id("q").fill(w.joint_item)
    page.get_by_role("button", name="查询").click()
    row = page.get_by_test_id("items").locator(f"tr[data-code='{w.joint_item}']")
    expect(row).to_contain_text("南京市行政审批局")
    expect(row).to_contain_text("南京市城乡建设委员会")  # approval-bureau mode: who really decides
    row.get_by_role("link", name="建筑工程施工许可证核发").click()

    expect(page.locator("h1")).to_contain_text("建筑工程施工许可证核发")
    expect(page.get_by_test_id("decided-by")).to_contain_text("南京市城乡建设委员会")
    expect(page.get_by_test_id("guide-materials").locator("tr[data-code='fire']")).to_contain_text("可容缺")
    stages = page.get_by_test_id("stages")
    for dept in ("南京市城乡建设委员会", "南京市规划和自然资源局", "南京市消防救援支队", "南京市人防办"):
        expect(stages).to_contain_text(dept)
    page.get_by_test_id("apply").click()

    expect(page.locator("h1")).to_contain_text("在线申报")
    page.fill("#f_project", "鼓楼区某住宅项目（浏览器测试）")
    page.fill("#f_investment", "12000")
    page.fill("#f_phone", "13812345678")

    def upload(code: str, label: str, path: Path) -> None:
        # the previous upload's swap and live check must have settled, or its swap replaces the file input
        # this upload has just filled
        page.wait_for_function(
            "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )
        page.get_by_test_id(f"slot-{code}").get_by_label(label).set_input_files(path)

    upload("form", "建筑工程施工许可申请表", files["申请表"])
    expect(page.get_by_test_id("uploaded-form")).to_be_visible()
    # a text file named .pdf, then an executable: refused with a readable message, nothing kept
    upload("land", "用地批准手续", files["fake"])
    land = page.get_by_test_id("slot-land")
    expect(land.get_by_test_id("upload-error")).to_contain_text("文件内容与扩展名 .pdf 不符")
    expect(land.get_by_test_id("uploaded-land")).to_have_count(0)
    upload("land", "用地批准手续", files["exe"])
    expect(land.get_by_test_id("upload-error")).to_contain_text("不支持的文件类型“exe”")
    # while the land approval is missing, the reminders block submitting
    expect(page.get_by_test_id("check-blocking")).to_be_visible()
    expect(page.get_by_test_id("hint-m_land")).to_contain_text("缺少“用地批准手续”")
    upload("land", "用地批准手续", files["用地批准"])
    expect(page.get_by_test_id("uploaded-land")).to_be_visible()
    expect(land.get_by_test_id("upload-error")).to_have_count(0)
    upload("drawings", "施工图设计文件", files["施工图"])
    expect(page.get_by_test_id("uploaded-drawings")).to_be_visible()

    # the live reminder: only the 容缺-eligible fire opinion is missing, which does not block submitting
    expect(page.get_by_test_id("check-ok")).to_contain_text("缺少的可容缺材料可在受理后补交")
    expect(page.get_by_test_id("hint-m_fire")).to_contain_text(
        "缺少“消防设计审查意见”（可容缺受理，受理后补交）"
    )
    expect(page.get_by_test_id("hint-m_land")).to_have_text("")
    problems = page.get_by_test_id("problems")
    expect(problems.locator("li")).to_have_count(1)
    expect(problems.locator("li[data-code='fire']")).to_have_attribute("data-kind", "missing")

    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("flash")).to_contain_text("申请已提交，办件编号")
    expect(page).to_have_url(re.compile(r"/portal/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    number = page.get_by_test_id("case-number").inner_text().strip()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "submitted")
    expect(page.get_by_test_id("timeline").locator("tr[data-kind='submitted']")).to_contain_text("提交申请")

    nav_to(page, "我的办件")
    row = page.get_by_test_id("cases").locator(f"tr[data-id='{case_id}']")
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("待受理")
    row.get_by_role("link", name=number).click()
    expect(page.get_by_test_id("case-number")).to_have_text(number)
    expect(page.get_by_test_id("case-materials")).to_contain_text("用地批准.pdf")
    return case_id, number


# --- 2. the window accepts with 容缺 ----------------------------------------------------------------------


def window_accepts_with_rongque(page: Page, case_id: int, number: str) -> None:
    nav_to(page, "窗口受理")
    row = page.get_by_test_id("queue").locator(f"tr[data-id='{case_id}']")
    expect(row).to_contain_text("张三")
    row.get_by_role("link", name=number).click()

    expect(page.get_by_test_id("case-number")).to_have_text(number)
    expect(page.get_by_test_id("check").locator("li[data-code='fire']")).to_contain_text("消防设计审查意见")
    form = page.get_by_test_id("accept-form")
    missing = form.get_by_label("消防设计审查意见")
    expect(missing).to_be_checked()
    # the longest supplement deadline: 20 working days at most and 2 shorter than the promised 15
    expect(form.get_by_test_id("rongque-max")).to_contain_text("最长 13 个工作日")
    expect(form.get_by_test_id("supplement-days")).to_have_value("13")
    form.get_by_test_id("supplement-days").fill("10")
    form.get_by_role("button", name="容缺受理").click()

    expect(page.get_by_test_id("flash")).to_have_text("已容缺受理")
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "in_progress")
    expect(page.get_by_test_id("rongque")).to_contain_text("待补交：消防设计审查意见")
    expect(page.get_by_test_id("timeline").locator("tr[data-kind='accepted_rongque']")).to_be_visible()
    expect(page.get_by_test_id("accept-form")).to_have_count(0)


# --- 3. the citizen supplies the missing material --------------------------------------------------------


def citizen_supplies(page: Page, case_id: int, files: dict[str, Path]) -> None:
    page.goto(f"/portal/cases/{case_id}")
    expect(page.get_by_test_id("rongque")).to_contain_text("待补交：消防设计审查意见")
    needs = page.get_by_test_id("needs")
    expect(needs).to_contain_text("容缺受理的材料请于以下日期前补交")
    needs.get_by_label("消防设计审查意见").set_input_files(files["消防意见"])
    needs.get_by_role("button", name="提交补交材料").click()
    expect(page.get_by_test_id("flash")).to_have_text("材料已补交")
    expect(page.get_by_test_id("rongque")).to_contain_text("容缺材料已补齐")
    expect(page.get_by_test_id("needs")).to_have_count(0)
    expect(page.get_by_test_id("case-materials").locator("tr[data-code='fire']")).to_contain_text("补交")


# --- 4. four departments review in parallel ---------------------------------------------------------------


def department_approves(page: Page, number: str, dept: str, concluded_before: int) -> None:
    nav_to(page, "审查待办")
    row = page.get_by_test_id("review-inbox").locator("tr", has_text=number)
    expect(row).to_have_count(1)  # its own department's task only
    expect(row).to_contain_text(dept)
    row.get_by_role("link", name=number).click()

    expect(page.get_by_test_id("task-head")).to_contain_text(dept)
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "open")
    parallel = page.get_by_test_id("parallel-tasks")
    expect(parallel.locator("tr[data-status]")).to_have_count(4)
    expect(parallel.locator("tr[data-status='approved']")).to_have_count(concluded_before)
    form = page.get_by_test_id("conclude-form")
    form.get_by_label("同意", exact=True).check()
    form.get_by_role("button", name="提交审查意见").click()

    expect(page.get_by_test_id("flash")).to_have_text("已提交审查意见")
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("conclude-form")).to_have_count(0)
    parallel = page.get_by_test_id("parallel-tasks")
    expect(parallel.locator("tr[data-status='approved']")).to_have_count(concluded_before + 1)
    expect(parallel.locator("tr.current")).to_contain_text("同意")
    if concluded_before < 3:  # the others still review: the case waits in the joint review
        expect(parallel.locator("tr[data-status='open']")).to_have_count(3 - concluded_before)
        expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "in_progress")
        expect(page.get_by_test_id("other-tasks").locator("td", has_text="决定")).to_have_count(0)
    else:  # all four concluded: the case has moved on to the decision
        expect(page.get_by_test_id("other-tasks")).to_contain_text("决定")


# --- 5. the decision and the delivery ---------------------------------------------------------------------


def decider_approves(page: Page, number: str) -> None:
    nav_to(page, "审查待办")
    row = page.get_by_test_id("review-inbox").locator("tr", has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("决定")
    row.get_by_role("link", name=number).click()
    form = page.get_by_test_id("decide-form")
    form.get_by_label("准予许可").check()
    form.get_by_role("button", name="作出决定").click()
    expect(page.get_by_test_id("flash")).to_have_text("已作出审批决定")
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "delivering")
    expect(page.get_by_test_id("decide-form")).to_have_count(0)


def window_mails(page: Page, case_id: int, number: str) -> str:
    nav_to(page, "窗口受理")
    row = page.get_by_test_id("delivering").locator(f"tr[data-id='{case_id}']")
    expect(row).to_contain_text(number)
    row.get_by_role("link", name=number).click()
    form = page.get_by_test_id("deliver-form")
    certificate = page.get_by_test_id("actions").locator(f"a[href^='/certificates/{CERT_TYPE}-']")
    expect(certificate).to_be_visible()  # issued with the decision, before delivery
    cert_no = certificate.inner_text().strip()
    form.get_by_label("邮寄送达").check()
    form.get_by_test_id("tracking-no").fill(TRACKING)
    form.get_by_role("button", name="送达").click()
    expect(page.get_by_test_id("flash")).to_have_text("已送达，办件办结")
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("result").get_by_test_id("tracking")).to_have_text(TRACKING)
    return cert_no


# --- the walk ---------------------------------------------------------------------------------------------


def test_apply_accept_with_rongque_review_in_parallel_issue_and_verify(new_page, world: W, files) -> None:  # noqa: ANN001
    citizen = signed_in(new_page, "zhangsan")
    case_id, number = citizen_applies(citizen, world, files)

    # nobody else sees the citizen's case: another applicant, and the outsider without any role
    company = signed_in(new_page, "company")
    response = company.goto(f"/portal/cases/{case_id}")
    assert response is not None and response.status == 403
    expect(company.get_by_role("alert")).to_contain_text("只能查看本人（本单位）的办件")
    outsider = new_page()
    login(outsider, "outsider")
    expect(outsider.get_by_test_id("whoami")).to_have_text("吴路人")
    response = outsider.goto(f"/portal/cases/{case_id}")
    assert response is not None and response.status == 403
    expect(outsider.locator("nav.side").get_by_role("link", name="我的办件")).to_have_count(0)

    window = signed_in(new_page, "window")
    window_accepts_with_rongque(window, case_id, number)

    citizen_supplies(citizen, case_id, files)

    for n, (username, dept) in enumerate(REVIEWERS):
        department_approves(signed_in(new_page, username), number, dept, n)

    decider_approves(signed_in(new_page, "decider"), number)
    cert_no = window_mails(window, case_id, number)

    # 6. the citizen sees the result; anyone verifies the certificate
    citizen.goto(f"/portal/cases/{case_id}")
    expect(citizen.get_by_test_id("status")).to_have_attribute("data-status", "completed")
    result = citizen.get_by_test_id("result")
    expect(result).to_contain_text("准予许可")
    expect(result.get_by_test_id("certificate")).to_have_text(cert_no)
    expect(result.get_by_test_id("delivery")).to_contain_text("邮寄送达")
    expect(result.get_by_test_id("tracking")).to_have_text(TRACKING)
    timeline = citizen.get_by_test_id("timeline")
    for kind in ("submitted", "accepted_rongque", "supplied", "decided", "delivered"):
        expect(timeline.locator(f"tr[data-kind='{kind}']").first).to_be_visible()

    public = new_page()  # nobody signed in
    public.goto(f"/verify/{cert_no}")
    verdict = public.get_by_test_id("verify-result")
    expect(verdict).to_have_attribute("data-valid", "true")
    expect(verdict).to_contain_text("张*")  # the holder masked
    forged = cert_no[:-1] + ("7" if cert_no[-1] != "7" else "8")
    public.fill("#number", forged)
    public.get_by_role("button", name="核验").click()
    expect(public.get_by_test_id("verify-result")).to_have_attribute("data-valid", "false")
    public.goto(f"/verify/{CERT_TYPE}-FORGED-000001")
    expect(public.get_by_test_id("verify-result")).to_have_attribute("data-valid", "false")

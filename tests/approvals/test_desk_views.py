"""The window desk's console pages: the queue (oldest first, days waiting), a case with its materials and
check result, 受理 and 容缺受理 (the allowed maximum shown, the blacklist refused with the service's
message), 不予受理, 补正 then the applicant's supply from the portal, delivery by mail with a tracking
number, and 代为申报 for a walk-in applicant."""

from __future__ import annotations

import importlib.util
import io
import re

from sqlalchemy import select

from tests.approvals.conftest import CITIZEN2_ID, CITIZEN_ID, PDF, URL, W, apply
from zhicheng.approvals.models import Case

HX = {"HX-Request": "true"}


def case_row(db, case_id: int) -> Case:  # noqa: ANN001
    with db.read() as s:
        return s.get(Case, case_id)


def alert(html: str) -> str:
    return html.split('role="alert"')[1].split("</div>")[0] if 'role="alert"' in html else ""


def test_the_queue_lists_submitted_cases_oldest_first(world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    first, second = apply(c, world), apply(c, world, skip=("fire",))
    desk = as_user("window")
    r = desk.get("/desk")
    assert r.status_code == 200
    queue = r.text.split('data-testid="queue"')[1].split("</table>")[0]
    assert queue.index(first["number"]) < queue.index(second["number"])
    assert "0 个工作日" in queue.split(first["number"])[1].split("</tr>")[0]  # days waiting
    assert 'data-testid="clock"' in queue and "容缺" not in queue  # nothing accepted with 容缺 yet
    assert "窗口受理" in r.text  # the nav entry
    for who in ("outsider", "zhangsan", "rv_housing", "clerk"):
        assert as_user(who).get("/desk").status_code == 403, who
        assert as_user(who).get(f"/desk/cases/{first['id']}").status_code == 403, who


def test_the_case_page_shows_materials_and_the_check(world: W, as_user) -> None:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world, skip=("fire",))
    r = as_user("window").get(f"/desk/cases/{case['id']}")
    assert r.status_code == 200
    assert "鼓楼区某住宅项目" in r.text.split('data-testid="case-form"')[1].split("</table>")[0]
    links = re.findall(r'href="(/api/v1/approvals/cases/\d+/materials/\d+)"', r.text)
    assert len(links) == 3
    got = as_user("window").get(links[0])
    assert got.status_code == 200 and got.content == PDF
    check = r.text.split('data-testid="check"')[1].split("</div>")[0]
    assert "缺少“消防设计审查意见”" in check
    assert 'data-testid="rongque-max">最长 13 个工作日' in r.text  # promised 15: 15 - 2
    assert 'name="missing" value="fire"' in r.text
    en = as_user("window").get(f"/desk/cases/{case['id']}", params={"lang": "en"})
    assert en.status_code == 200 and "Materials and form check" in en.text


def test_accept_with_rongque_and_the_supplement_from_the_portal(db, world: W, as_user) -> None:  # noqa: ANN001
    applicant, desk = as_user("zhangsan"), as_user("window")
    case = apply(applicant, world, skip=("fire",))
    url = f"/desk/cases/{case['id']}/accept"
    too_long = desk.form(url, {"rongque": "1", "missing": "fire", "supplement_days": "14", "version": "1"})
    assert too_long.status_code == 422 and "补交期限最长 13 个工作日" in alert(too_long.text)
    unconfirmed = desk.form(url, {"rongque": "1", "supplement_days": "10"})
    assert unconfirmed.status_code == 422 and "逐项确认" in alert(unconfirmed.text)
    plain = desk.form(url, {})  # not 容缺: the service says what is missing
    assert plain.status_code == 422 and "可容缺材料" in alert(plain.text)
    r = desk.form(url, {"rongque": "1", "missing": "fire", "supplement_days": "10", "version": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"/desk/cases/{case['id']}"
    row = case_row(db, case["id"])
    assert (row.status, row.rongque, row.rongque_missing) == ("in_progress", True, ["fire"])
    assert "已容缺受理" in desk.get(r.headers["location"]).text
    # the applicant's page says what to hand in and by when, with a form for it
    page = applicant.get(f"/portal/cases/{case['id']}").text
    needs = page.split('data-testid="needs"')[1].split("</section>")[0]
    assert "消防设计审查意见" in needs and str(row.supplement_due_on) in needs
    bad = applicant.http.post(
        f"/portal/cases/{case['id']}/supply",
        files={"file_fire": ("fire.pdf", io.BytesIO(b"MZ fake"), "application/pdf")},
        headers={"X-CSRF-Token": applicant.csrf},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "不符" in alert(bad.text)
    ok = applicant.http.post(
        f"/portal/cases/{case['id']}/supply",
        files={"file_fire": ("fire.pdf", io.BytesIO(PDF), "application/pdf")},
        headers={"X-CSRF-Token": applicant.csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert case_row(db, case["id"]).supplements_done_on is not None
    after = applicant.get(f"/portal/cases/{case['id']}").text
    assert 'data-testid="needs"' not in after and "容缺材料已补齐" in after


def test_no_rongque_for_a_blacklisted_applicant(db, world: W, as_user) -> None:  # noqa: ANN001
    r = as_user("supervisor").send(
        "POST",
        f"{URL}/blacklist",
        json={"kind": "citizen", "id_number": CITIZEN_ID, "reason": "拒不履行法院生效判决，列入失信被执行人"},
    )
    assert r.status_code == 201
    case = apply(as_user("zhangsan"), world, skip=("fire",))
    r = as_user("window").form(f"/desk/cases/{case['id']}/accept", {"rongque": "1", "missing": "fire"})
    assert r.status_code == 422 and "信用黑名单" in alert(r.text)
    assert case_row(db, case["id"]).status == "submitted"


def test_refusal_needs_reasons(db, world: W, as_user) -> None:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world)
    desk = as_user("window")
    short = desk.form(f"/desk/cases/{case['id']}/refuse", {"reason": "不行"})
    assert short.status_code == 422 and "至少 10 个字" in alert(short.text)
    r = desk.form(
        f"/desk/cases/{case['id']}/refuse", {"reason": "申请事项不属于本机关职权范围，请向区住建局申请"}
    )
    assert r.status_code == 303
    assert case_row(db, case["id"]).status == "refused"
    mine = as_user("zhangsan").get(f"/portal/cases/{case['id']}").text
    assert "不属于本机关职权范围" in mine.split('data-testid="reason"')[1]
    # another window's clerk, or an applicant, may not refuse
    assert (
        as_user("zhangsan").form(f"/desk/cases/{case['id']}/refuse", {"reason": "x" * 12}).status_code == 403
    )


def test_corrections_then_supply_return_the_case_to_the_queue(db, world: W, as_user) -> None:  # noqa: ANN001
    applicant, desk = as_user("zhangsan"), as_user("window")
    case = apply(applicant, world)
    url = f"/desk/cases/{case['id']}/corrections"
    assert desk.form(url, {"materials": "drawings", "note": "太短"}).status_code == 422
    r = desk.form(
        url,
        {"materials": "drawings", "fields": "phone", "note": "施工图缺少消防专篇，联系电话无法接通，请补正"},
    )
    assert r.status_code == 303
    assert case_row(db, case["id"]).status == "correcting"
    queue = desk.get("/desk").text
    assert case["number"] in queue.split('data-testid="correcting"')[1].split("</table>")[0]
    page = applicant.get(f"/portal/cases/{case['id']}").text
    needs = page.split('data-testid="needs"')[1].split("</section>")[0]
    assert "施工图设计文件" in needs and 'name="f_phone"' in needs and "消防专篇" in needs
    r = applicant.http.post(
        f"/portal/cases/{case['id']}/supply",
        data={"f_phone": "13900001111"},
        files={"file_drawings": ("drawings.pdf", io.BytesIO(PDF), "application/pdf")},
        headers={"X-CSRF-Token": applicant.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    row = case_row(db, case["id"])
    assert (row.status, row.form["phone"]) == ("submitted", "13900001111")
    queue = desk.get("/desk").text.split('data-testid="queue"')[1].split("</table>")[0]
    assert case["number"] in queue and 'data-testid="returned"' in queue
    assert desk.form(f"/desk/cases/{case['id']}/accept", {}).status_code == 303


def _to_delivery(as_user, world: W) -> dict:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world)
    assert as_user("window").form(f"/desk/cases/{case['id']}/accept", {}).status_code == 303
    got = as_user("window").send("GET", f"{URL}/cases/{case['id']}").json()
    for who, task in zip(("rv_housing", "rv_planning", "rv_fire", "rv_civil"), got["tasks"], strict=True):
        r = as_user(who).send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True})
        assert r.status_code == 200, r.text
    r = as_user("decider").send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "delivering", r.text
    return case


def test_delivery_by_mail_with_a_tracking_number(db, world: W, as_user) -> None:  # noqa: ANN001
    case = _to_delivery(as_user, world)
    desk = as_user("window")
    listed = desk.get("/desk").text.split('data-testid="delivering"')[1].split("</table>")[0]
    assert case["number"] in listed
    page = desk.get(f"/desk/cases/{case['id']}").text
    assert 'data-testid="deliver-form"' in page
    url = f"/desk/cases/{case['id']}/deliver"
    r = desk.form(url, {"method": "mail"})
    assert r.status_code == 422 and "快递单号" in alert(r.text)
    assert desk.form(url, {"method": "pigeon"}).status_code == 422
    r = desk.form(url, {"method": "mail", "tracking_no": "SF1234567890"})
    assert r.status_code == 303
    row = case_row(db, case["id"])
    assert (row.status, row.delivery_method, row.tracking_no) == ("completed", "mail", "SF1234567890")
    mine = as_user("zhangsan").get(f"/portal/cases/{case['id']}")
    assert mine.status_code == 200
    result = mine.text.split('data-testid="result"')[1].split("</section>")[0]
    assert "邮寄送达" in result and "SF1234567890" in result and "准予许可" in result
    if importlib.util.find_spec("zhicheng.approvals.ratings_queries"):  # the 好差评 form, where installed
        assert 'data-testid="rating"' in mine.text


def test_apply_on_behalf_of_a_walk_in_applicant(db, world: W, as_user) -> None:  # noqa: ANN001
    desk = as_user("window")
    assert "选择事项" in desk.get("/desk/apply").text
    form_page = desk.get("/desk/apply", params={"item": world.simple_item})
    assert form_page.status_code == 200 and 'data-testid="applicant"' in form_page.text
    key = re.search(r'name="idempotency_key" value="(\w+)"', form_page.text).group(1)
    up = desk.http.post(
        f"/portal/items/{world.simple_item}/upload/report",
        files={"file_report": ("report.pdf", io.BytesIO(PDF), "application/pdf")},
        headers={"X-CSRF-Token": desk.csrf, **HX},
    )
    report = re.search(r'name="m_report" value="(\d+)"', up.text).group(1)
    body = {"idempotency_key": key, "f_project": "玄武区某办公楼", "m_report": report, "a_kind": "citizen"}
    bad = desk.form(
        f"/desk/apply/{world.simple_item}", {**body, "a_id_number": "320104198303159830", "a_name": "李四"}
    )
    assert bad.status_code == 422 and "身份证" in alert(bad.text)
    assert 'value="320104198303159830"' in bad.text  # what was typed stays
    r = desk.form(f"/desk/apply/{world.simple_item}", {**body, "a_id_number": CITIZEN2_ID, "a_name": "李四"})
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/cases/")
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert case_row(db, case_id).applicant_name == "李四"
    again = desk.form(
        f"/desk/apply/{world.simple_item}", {**body, "a_id_number": CITIZEN2_ID, "a_name": "李四"}
    )
    assert again.headers["location"] == r.headers["location"]
    with db.read() as s:
        assert len(s.scalars(select(Case).where(Case.client_token == key)).all()) == 1
    # an applicant cannot apply on someone else's behalf through the desk
    assert as_user("zhangsan").form(f"/desk/apply/{world.simple_item}", body).status_code == 403

"""The console pages of the closed loop: the full loop through the forms (supervision registers, command
dispatches to the routed department preselected, the department accepts, adds an after photo and feeds back,
supervision verifies with before/after photos side by side, evaluates and calls the 12345 caller back);
rework, return, dispute, extension; the queues sorted by due date with the clock's colours; the case list's
filters and keyset paging; the case page for a citizen (follow, comment, no one else's details); the
"someone else acted already" message on a 409; outsiders refused everywhere."""

from __future__ import annotations

import datetime as dt
import re

from tests.cityops.conftest import JPEG, MANHOLE, ME, report_body
from zhicheng.cityops import case_views, intake, loop
from zhicheng.cityops.models import Case
from zhicheng.cityops.schemas import ActionIn, HotlineIn, ReportIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work


def alert(html: str) -> str:
    return html.split('role="alert"')[1].split("</div>")[0] if 'role="alert"' in html else ""


def section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</table>")[0]


def new_case(db, channel: str = "hotline", **kw) -> int:  # noqa: ANN001, ANN003
    body = ReportIn(**report_body(**kw))
    if channel == "hotline":
        body.hotline = HotlineIn(work_order_no="GD1", caller_name="王来电", caller_phone="13800000001")
    with unit_of_work(db, ME) as uow:
        return intake.report(uow, body, channel=channel).case_id


def step(db, case_id: int, action: str, on: dt.date | None = None, **kw) -> None:  # noqa: ANN001, ANN003
    with unit_of_work(db, ME) as uow:
        loop.step(uow, case_id, action, ActionIn(**kw), on or shanghai_today())


def status(db, case_id: int) -> str:  # noqa: ANN001
    with db.read() as s:
        return s.get(Case, case_id).status


def test_the_full_loop_through_the_console(db, city, as_user) -> None:  # noqa: ANN001
    case_id = new_case(db)
    url = f"/cityops/cases/{case_id}"
    sup, cmd, handler = as_user("supervisor"), as_user("commander"), as_user("handler")
    # 监督中心: the case waits in 待立案
    queue = sup.get("/cityops/supervision")
    assert queue.status_code == 200 and f'data-case="{case_id}"' in section(queue.text, "rows-register")
    assert "监督中心" in queue.text and "指挥中心" not in queue.text.split("<main>")[0]  # nav by role
    page = sup.get(url).text
    assert 'data-testid="act-register"' in page and 'data-testid="act-dispatch"' not in page
    r = sup.form(f"{url}/act/register", {})
    assert r.status_code == 303 and r.headers["location"] == url
    assert status(db, case_id) == "registered"
    assert 'data-testid="flash">已立案<' in sup.get(url).text
    # 指挥中心: dispatch, the routed department preselected
    queue = cmd.get("/cityops/command").text
    row = section(queue, "rows-dispatch").split(f'data-case="{case_id}"')[1].split("</tr>")[0]
    assert "玄武区城市管理局" in row and 'data-testid="clock"' in row  # the rule's department, the clock
    page = cmd.get(url).text
    select_html = page.split('data-testid="dispatch-department"')[1].split("</select>")[0]
    assert f'<option value="{city["urban"]}" selected>' in select_html
    assert cmd.form(f"{url}/act/dispatch", {"department_id": str(city["urban"])}).status_code == 303
    # 部门处置: accept, an after photo, feedback
    assert f'data-case="{case_id}"' in section(handler.get("/cityops/department").text, "rows-accept")
    assert as_user("street_handler").form(f"{url}/act/accept", {}).status_code == 403
    assert handler.form(f"{url}/act/accept", {}).status_code == 303
    assert f'data-case="{case_id}"' in section(handler.get("/cityops/department").text, "rows-handling")
    no_photo = handler.form(f"{url}/act/feedback", {"note": "已拆除"})
    assert no_photo.status_code == 422 and "处置反馈须附处置后照片" in alert(no_photo.text)
    r = handler.form(f"{url}/photos", {"stage": "before"}, files={"photo": ("b.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 303
    r = handler.form(
        f"{url}/photos", {"stage": "after"}, files={"photo": ("a.jpg", JPEG + b"1", "image/jpeg")}
    )
    assert r.status_code == 303
    assert handler.form(f"{url}/act/feedback", {"note": "已拆除"}).status_code == 303
    assert status(db, case_id) == "handled"
    # 监督中心: verify with the photos side by side
    assert f'data-case="{case_id}"' in section(sup.get("/cityops/supervision").text, "rows-verify")
    page = sup.get(url).text
    photos = page.split('data-testid="verify-photos"')[1]
    before = photos.split('data-testid="photos-before"')[1].split('data-testid="photos-after"')[0]
    after = photos.split('data-testid="photos-after"')[1].split("</div>")[0]
    assert 'data-stage="before"' in before and 'data-stage="after"' in after
    assert sup.form(f"{url}/act/verify", {}).status_code == 303
    assert sup.form(f"{url}/act/evaluate", {"evaluation": "good"}).status_code == 303
    # 回访 for the 12345 case
    assert f'data-case="{case_id}"' in section(sup.get("/cityops/supervision").text, "rows-callback")
    r = sup.form(f"{url}/act/callback", {"satisfaction": "4", "note": "来电人表示满意"})
    assert r.status_code == 303
    with db.read() as s:
        case = s.get(Case, case_id)
        assert (case.status, case.evaluation, case.satisfaction) == ("evaluated", "good", 4)
    page = sup.get(url).text
    kinds = re.findall(r'<tr data-kind="(\w+)"', page.split('data-testid="timeline"')[1])
    assert kinds[:4] == ["reported", "register", "dispatch", "accept"] and kinds[-1] == "callback"
    assert 'data-testid="satisfaction">4<' in page
    assert f'data-case="{case_id}"' not in section(sup.get("/cityops/supervision").text, "rows-callback")


def test_rework_return_dispute_and_extension(db, city, as_user) -> None:  # noqa: ANN001
    case_id = new_case(db, channel="grid")
    step(db, case_id, "register")
    step(db, case_id, "dispatch")
    url = f"/cityops/cases/{case_id}"
    handler, cmd, sup = as_user("handler"), as_user("commander"), as_user("supervisor")
    # an extension: asked by the department, listed for the command centre, granted
    r = handler.form(f"{url}/act/extend", {"days": "3", "reason": "需协调拆除队伍"})
    assert r.status_code == 303 and 'data-testid="extension-pending"' in handler.get(url).text
    assert f'data-case="{case_id}"' in section(cmd.get("/cityops/command").text, "rows-extension")
    assert handler.form(f"{url}/act/extend", {"approve": "1"}).status_code == 403
    assert cmd.form(f"{url}/act/extend", {"approve": "1"}).status_code == 303
    with db.read() as s:
        assert s.get(Case, case_id).extension_days == 3
    # return → back to the command centre, which dispatches again
    missing = handler.form(f"{url}/act/return", {"reason": " "})
    assert missing.status_code == 422 and "请说明理由" in alert(missing.text)
    assert handler.form(f"{url}/act/return", {"reason": "不属于城管职责"}).status_code == 303
    queue = cmd.get("/cityops/command").text
    assert f'data-case="{case_id}"' in section(queue, "rows-redispatch")
    assert 'data-testid="case-reason">不属于城管职责' in cmd.get(url).text
    assert cmd.form(f"{url}/act/dispatch", {"department_id": str(city["urban"])}).status_code == 303
    # rework after a failed check
    handler.form(f"{url}/photos", {"stage": "after"}, files={"photo": ("a.jpg", JPEG, "image/jpeg")})
    assert handler.form(f"{url}/act/feedback", {}).status_code == 303
    assert sup.form(f"{url}/act/reject", {"reason": "棚子只拆了一半"}).status_code == 303
    assert status(db, case_id) == "rework"
    assert f'data-case="{case_id}"' in section(handler.get("/cityops/department").text, "rows-accept")
    assert handler.form(f"{url}/act/dispute", {"reason": "权属不清"}).status_code == 303
    assert status(db, case_id) == "disputed"
    # a grid case gets no follow-up call form
    assert 'data-testid="act-callback"' not in sup.get(url).text


def test_someone_else_acted_first(db, city, as_user) -> None:  # noqa: ANN001
    case_id = new_case(db)
    sup = as_user("supervisor")
    url = f"/cityops/cases/{case_id}"
    assert 'data-testid="act-register"' in sup.get(url).text  # the page as the officer saw it
    step(db, case_id, "register")  # another officer, quicker
    r = sup.form(f"{url}/act/register", {})
    assert r.status_code == 409
    message = alert(r.text)
    assert message.endswith(">他人已先行办理，页面已刷新为最新情况（案卷当前为“已立案”，不能立案）")
    assert 'data-testid="case-status" data-status="registered"' in r.text  # reloaded
    en = sup.form(f"{url}/act/register?lang=en", {})
    assert "Someone else acted on this case already" in alert(en.text)


def test_queues_are_sorted_by_due_date_with_colours(db, city, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    late = new_case(db, channel="grid", lng=118.845, lat=32.085)
    soon = new_case(db, channel="grid", lng=118.825, lat=32.065)
    step(db, soon, "register", today)
    step(db, late, "register", today - dt.timedelta(days=30))
    rows = section(as_user("commander").get("/cityops/command").text, "rows-dispatch")
    assert rows.index(f'data-case="{late}"') < rows.index(f'data-case="{soon}"')
    late_row = rows.split(f'data-case="{late}"')[1].split("</tr>")[0]
    assert 'class="clock-overdue"' in late_row and 'data-testid="clock" data-status="overdue"' in late_row
    assert 'class="clock-warning"' in rows.split(f'data-case="{soon}"')[1].split("</tr>")[0]
    # the street's handler sees only its own department's cases
    step(db, late, "dispatch")
    assert f'data-case="{late}"' in as_user("handler").get("/cityops/department").text
    assert f'data-case="{late}"' not in as_user("street_handler").get("/cityops/department").text


def test_case_list_filters_and_pages(db, city, as_user, monkeypatch) -> None:  # noqa: ANN001
    ids = [new_case(db, channel="grid", lng=118.805 + 0.01 * i, lat=32.045) for i in range(3)]
    manhole = new_case(db, channel="grid", category=MANHOLE, lng=118.815, lat=32.055)
    step(db, ids[0], "register")
    clerk = as_user("commander")
    r = clerk.get("/cityops/cases")
    assert r.status_code == 200 and all(f'data-case="{i}"' in r.text for i in [*ids, manhole])
    only = clerk.get("/cityops/cases", params={"status": "registered"}).text
    assert f'data-case="{ids[0]}"' in only and f'data-case="{ids[1]}"' not in only
    by_kind = clerk.get("/cityops/cases", params={"category": MANHOLE}).text
    assert f'data-case="{manhole}"' in section(by_kind, "cases") and f'data-case="{ids[0]}"' not in by_kind
    by_grid = clerk.get("/cityops/cases", params={"grid": "320102002001001"}).text
    assert f'data-case="{ids[0]}"' in by_grid and f'data-case="{ids[1]}"' not in by_grid
    assert 'data-testid="cases-empty"' in clerk.get("/cityops/cases", params={"overdue": "1"}).text
    bad = clerk.get("/cityops/cases", params={"category": "nonsense"})
    assert bad.status_code == 422 and "类别应写作" in alert(bad.text)
    monkeypatch.setattr(case_views, "PAGE", 2)
    first = clerk.get("/cityops/cases", params={"division": "320102"}).text
    shown = re.findall(r'<tr data-case="(\d+)"', first)
    assert shown == [str(manhole), str(ids[2])]
    nxt = first.split('data-testid="next-page"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "division=320102" in nxt
    second = clerk.get("/cityops/cases" + nxt).text
    assert re.findall(r'<tr data-case="(\d+)"', second) == [str(ids[1]), str(ids[0])]
    assert 'data-testid="next-page"' not in second
    for who in ("outsider", "citizen"):
        assert as_user(who).get("/cityops/cases").status_code == 403, who


def test_a_citizen_follows_and_comments_on_their_report(db, city, as_user) -> None:  # noqa: ANN001
    citizen = as_user("citizen")
    r = citizen.send("POST", "/api/v1/cityops/reports", json=report_body(reporter={"name": "钱市民"}))
    case_id = r.json()["case_id"]
    new_case(db, description="另一位来电人")  # merged: a hotline caller's name and phone on the same case
    url = f"/cityops/cases/{case_id}"
    mine = citizen.get("/cityops/mine")
    assert mine.status_code == 200 and f'data-case="{case_id}"' in mine.text
    page = citizen.get(url)
    assert page.status_code == 200 and 'data-testid="actions"' not in page.text
    reporters = section(page.text, "reporters")
    assert "钱市民" in reporters and "王来电" not in reporters and "13800000001" not in page.text
    assert 'data-testid="following"' in page.text  # an app reporter follows from the start
    assert citizen.form(f"{url}/follow", {"on": "0"}).status_code == 303
    assert 'data-testid="following"' not in citizen.get(url).text
    assert citizen.form(f"{url}/follow", {"on": "1"}).status_code == 303
    assert citizen.form(f"{url}/comments", {"text": "棚子还在，请尽快处理"}).status_code == 303
    assert "棚子还在，请尽快处理" in section(citizen.get(url).text, "timeline")
    empty = citizen.form(f"{url}/comments", {"text": "  "})
    assert empty.status_code == 422 and "留言不能为空" in alert(empty.text)
    assert citizen.form(f"{url}/act/register", {}).status_code == 403
    # staff without intake/supervision/command rights see no caller details either
    assert "13800000001" not in as_user("handler").get(url).text
    assert "13800000001" in as_user("supervisor").get(url).text
    other = new_case(db, channel="grid", lng=118.845, lat=32.085)
    assert citizen.get(f"/cityops/cases/{other}").status_code == 403
    for path in ("/cityops/supervision", "/cityops/command", "/cityops/department"):
        assert citizen.get(path).status_code == 403, path


def test_outsiders_are_refused(db, city, as_user) -> None:  # noqa: ANN001
    case_id = new_case(db)
    out = as_user("outsider")
    for path in (
        "/cityops/supervision",
        "/cityops/command",
        "/cityops/department",
        "/cityops/cases",
        f"/cityops/cases/{case_id}",
        "/cityops/mine",
    ):
        assert out.get(path).status_code == 403, path
    url = f"/cityops/cases/{case_id}"
    assert out.form(f"{url}/act/register", {}).status_code == 403
    assert out.form(f"{url}/comments", {"text": "hi"}).status_code == 403
    assert out.form(f"{url}/follow", {"on": "1"}).status_code == 403
    assert (
        out.form(
            f"{url}/photos", {"stage": "report"}, files={"photo": ("a.jpg", JPEG, "image/jpeg")}
        ).status_code
        == 403
    )
    assert status(db, case_id) == "reported"

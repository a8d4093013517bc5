"""The reviewer console (审查待办): the inbox of each department sorted by remaining working days, the task
page with the case, its materials, the whole timeline and the parallel tasks; concluding, the readable
conflict when two reviewers act on one task, pauses and resumes, corrections, and the decision."""

from __future__ import annotations

import datetime as dt
import re

from tests.approvals.conftest import ME, URL, W, apply
from zhicheng.approvals import acceptance, supervision
from zhicheng.approvals.schemas import AcceptIn
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work

INBOX = "/approvals/review"


def accepted(db, as_user, world: W, on: dt.date | None = None) -> dict:  # noqa: ANN001
    case = apply(as_user("zhangsan"), world)
    with unit_of_work(db, ME) as uow:
        acceptance.accept(uow, case["id"], AcceptIn(), today=on)
    return as_user("window").get(f"{URL}/cases/{case['id']}").json()


def rows(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<tr data-task="\d+" data-case="(\d+)"', html)]


def task_of(case: dict, org_id: int) -> dict:
    return next(t for t in case["tasks"] if t["org_id"] == org_id and t["status"] == "open")


def test_the_inbox_is_sorted_by_remaining_working_days_per_department(db, world: W, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    with db.read() as s:
        cal = calendar.calendar(s)
        # accepted on a day that leaves the 8-day joint review one working day: a yellow warning
        warn_on = next(
            today - dt.timedelta(days=n)
            for n in range(0, 30)
            if cal.remaining(cal.add_workdays(today - dt.timedelta(days=n), 8).date, today) == 1
        )
    days = [dt.date(2026, 9, 28), dt.date(2026, 9, 21), warn_on, today, dt.date(2026, 9, 30)]
    ids = [accepted(db, as_user, world, on)["id"] for on in days]
    fire = as_user("rv_fire").get(INBOX)
    assert fire.status_code == 200
    order = [i for i in rows(fire.text) if i in ids]
    assert order == [ids[1], ids[0], ids[4], ids[2], ids[3]]  # overdue first, then yellow, then fine
    remaining = [int(r) for r in re.findall(r'data-remaining="(-?\d+)"', fire.text)]
    assert remaining == sorted(remaining)
    statuses = re.findall(r'data-testid="clock" data-status="(\w+)"', fire.text)
    assert statuses == ["overdue", "overdue", "overdue", "warning", "ok"]
    assert "南京市消防救援支队" in fire.text and "南京市人防办" not in fire.text  # own department only
    civil = as_user("rv_civil").get(INBOX)
    assert "南京市人防办" in civil.text and "南京市消防救援支队" not in civil.text
    assert [i for i in rows(civil.text) if i in ids] == order
    # the decide queue is for deciders; the decider sees nothing to decide yet
    assert as_user("rv_fire").get(INBOX, params={"queue": "decide"}).status_code == 422
    assert rows(as_user("decider").get(INBOX, params={"queue": "decide"}).text) == []
    assert as_user("outsider").get(INBOX).status_code == 403
    assert as_user("zhangsan").get(INBOX).status_code == 403
    assert as_user("supervisor").get(INBOX).status_code == 403


def test_the_task_page_shows_the_case_and_the_parallel_tasks(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(db, as_user, world, dt.date(2026, 9, 28))
    with unit_of_work(db, ME) as uow:  # the joint review ran out on 10-14: an internal escalation
        supervision.sweep(uow, dt.date(2026, 10, 15))
    task = task_of(case, world.planning)
    r = as_user("rv_planning").get(f"/approvals/review/tasks/{task['id']}")
    assert r.status_code == 200
    html = r.text
    assert case["number"] in html and "鼓楼区某住宅项目" in html  # the form
    for m in case["materials"]:  # each material with its download link
        assert f"/api/v1/approvals/cases/{case['id']}/materials/{m['id']}" in html
    for org in (world.housing, world.planning, world.fire, world.civil):  # the four parallel tasks
        assert f'data-org="{org}"' in html
    assert 'data-kind="escalated"' in html and 'data-internal="1"' in html  # internal events for staff
    assert 'data-testid="conclude-form"' in html and "不予许可决定" in html  # what a rejection does
    # a download through the link works for the reviewer
    m = case["materials"][0]
    assert as_user("rv_planning").get(f"{URL}/cases/{case['id']}/materials/{m['id']}").status_code == 200
    # another department sees the case but gets no form for a task that is not its own
    other = as_user("rv_fire").get(f"/approvals/review/tasks/{task['id']}")
    assert other.status_code == 200 and 'data-testid="conclude-form"' not in other.text
    assert as_user("outsider").get(f"/approvals/review/tasks/{task['id']}").status_code == 403
    en = as_user("rv_planning").get(f"/approvals/review/tasks/{task['id']}", params={"lang": "en"})
    assert en.status_code == 200 and "Review conclusion" in en.text
    assert "Departments of the joint review" in en.text
    assert as_user("zhangsan").get(f"/approvals/review/tasks/{task['id']}").status_code == 403
    assert as_user("rv_fire").get("/approvals/review/tasks/999999").status_code == 404


def test_two_reviewers_on_one_task_the_loser_reads_a_conflict(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(db, as_user, world)
    task = task_of(case, world.housing)
    url = f"/approvals/review/tasks/{task['id']}/conclude"
    first, second = as_user("rv_housing"), as_user("rv_housing2")
    assert 'data-testid="conclude-form"' in second.get(f"/approvals/review/tasks/{task['id']}").text
    r = first.form(url, {"decision": "approve", "reason": "", "version": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"/approvals/review/tasks/{task['id']}"
    assert "已提交审查意见" in first.get(r.headers["location"]).text
    lost = second.form(url, {"decision": "approve", "reason": "", "version": "1"})
    assert lost.status_code == 409
    assert "他人已先行办理，请刷新页面查看最新情况" in lost.text
    assert 'data-testid="error"' in lost.text and 'data-testid="conclude-form"' not in lost.text
    assert 'data-status="approved"' in lost.text  # the page shows the task as it is now
    # a rejection needs its reasons; another department's reviewer is refused
    fire = task_of(case, world.fire)
    short = as_user("rv_fire").form(
        f"/approvals/review/tasks/{fire['id']}/conclude", {"decision": "reject", "reason": "不行"}
    )
    assert short.status_code == 422 and "至少 10 个字" in short.text
    civil = task_of(case, world.civil)
    assert (
        as_user("rv_fire")
        .form(f"/approvals/review/tasks/{civil['id']}/conclude", {"decision": "approve"})
        .status_code
        == 403
    )
    assert as_user("outsider").form(url, {"decision": "approve"}).status_code == 403


def test_pause_resume_and_corrections(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(db, as_user, world)
    task = task_of(case, world.planning)
    base = f"/approvals/review/tasks/{task['id']}"
    planning = as_user("rv_planning")
    r = planning.form(f"{base}/pause", {"reason": "expert_review", "note": "组织专家论证深基坑方案"})
    assert r.status_code == 303
    page = planning.get(base).text
    assert 'data-testid="paused"' in page and 'data-testid="resume-form"' in page
    assert 'data-status="suspended"' in page and 'data-testid="conclude-form"' not in page
    got = planning.get(f"{URL}/cases/{case['id']}").json()
    assert (got["status"], got["pause_reason"], got["clock_status"]) == (
        "suspended",
        "expert_review",
        "paused",
    )
    # the inbox shows the frozen clock
    assert "暂停计时" in planning.get(INBOX).text
    # concluding while paused: a readable 409
    r = planning.form(f"{base}/conclude", {"decision": "approve", "version": "1"})
    assert r.status_code == 409 and "暂停计时中" in r.text
    # a reviewer outside the stage's departments (any department of the stage may resume, as in the API)
    assert as_user("district_admin").form(f"{base}/resume", {}).status_code == 403
    assert as_user("window").form(f"{base}/resume", {}).status_code == 403
    assert planning.form(f"{base}/resume", {}).status_code == 303
    assert planning.get(f"{URL}/cases/{case['id']}").json()["status"] == "in_progress"
    bad = planning.form(f"{base}/pause", {"reason": "lunch", "note": "午休"})
    assert bad.status_code == 422
    r = planning.form(
        f"{base}/corrections",
        {
            "materials": ["drawings"],
            "fields": ["phone"],
            "note": "施工图设计文件缺少消防专篇，联系电话无法接通",
        },
    )
    assert r.status_code == 303, r.text
    got = planning.get(f"{URL}/cases/{case['id']}").json()
    assert got["status"] == "correcting" and got["correction"]["materials"] == ["drawings"]
    assert as_user("outsider").form(f"{base}/pause", {"reason": "hearing", "note": "听证"}).status_code == 403


def test_the_decider_decides_from_the_console(db, world: W, as_user) -> None:  # noqa: ANN001
    case = accepted(db, as_user, world)
    for who, org in (
        ("rv_housing", world.housing),
        ("rv_planning", world.planning),
        ("rv_fire", world.fire),
        ("rv_civil", world.civil),
    ):
        t = task_of(case, org)
        r = as_user(who).form(f"/approvals/review/tasks/{t['id']}/conclude", {"decision": "approve"})
        assert r.status_code == 303
    decider = as_user("decider")
    inbox = decider.get(INBOX, params={"queue": "decide"}).text
    assert rows(inbox) == [case["id"]]
    task_id = int(re.search(r'<tr data-task="(\d+)"', inbox).group(1))
    page = decider.get(f"/approvals/review/tasks/{task_id}").text
    assert 'data-testid="decide-form"' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert (
        as_user("rv_housing")
        .form(f"/approvals/review/tasks/{task_id}/decide", {"decision": "approve"})
        .status_code
        == 403
    )
    stale = decider.form(
        f"/approvals/review/tasks/{task_id}/decide", {"decision": "approve", "version": str(int(version) - 1)}
    )
    assert stale.status_code == 409 and "刷新" in stale.text
    r = decider.form(
        f"/approvals/review/tasks/{task_id}/decide",
        {"decision": "approve", "reason": "符合条件", "version": version},
    )
    assert r.status_code == 303
    got = decider.get(f"{URL}/cases/{case['id']}").json()
    assert (got["status"], got["outcome"]) == ("delivering", "approved")
    assert rows(decider.get(INBOX, params={"queue": "decide"}).text) == []

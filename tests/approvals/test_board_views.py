"""The supervision board (督办看板): on-time figures that match the statistics API (by department, item,
window and month), charts with their data embedded and tables that work without ECharts, overdue cases and
tasks in red, escalations answered with an instruction, and the credit blacklist kept from the console."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select

from tests.approvals.conftest import ME, URL, W
from tests.approvals.test_clocks import accept_on, submit_on
from zhicheng.approvals import review, supervision
from zhicheng.approvals.models import Task
from zhicheng.core.db import unit_of_work

D = dt.date
BOARD = "/approvals/board"
PERIOD = {"from": "2026-09-01", "to": "2026-12-31"}
CITIZEN_ID = "320102199002024561"


def decided_world(db, as_user, world: W) -> list[int]:  # noqa: ANN001
    c = as_user("zhangsan")
    ids = [submit_on(db, c, world, D(2026, 9, 27)) for _ in range(3)]
    for i in ids:
        accept_on(db, i, D(2026, 9, 28))
    for case_id, on in {ids[0]: D(2026, 10, 20), ids[1]: D(2026, 11, 2)}.items():  # on time; late
        with unit_of_work(db, ME) as uow:
            for task_id in uow.session.scalars(
                select(Task.id).where(Task.case_id == case_id, Task.status == "open")
            ).all():
                review.conclude(uow, task_id, True, today=on)
            review.decide(uow, case_id, True, today=on)
    return ids


def text_of(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html).group(1)


def test_board_figures_match_the_statistics_api(db, world: W, as_user) -> None:  # noqa: ANN001
    ids = decided_world(db, as_user, world)
    sup = as_user("supervisor")
    stats = sup.get(f"{URL}/supervision/stats", params=PERIOD).json()
    r = sup.get(BOARD, params=PERIOD)
    assert r.status_code == 200
    html = r.text
    assert text_of(html, "decided") == str(stats["decided"]) == "2"
    assert text_of(html, "on-time") == str(stats["on_time"]) == "1"
    assert text_of(html, "on-time-rate") == "50.0%"
    assert text_of(html, "statutory-on-time") == str(stats["statutory_on_time"])
    assert text_of(html, "open") == str(stats["open"]) == "1"
    assert text_of(html, "open-overdue") == str(stats["open_overdue"])
    item = stats["by_item"][0]
    row = re.search(rf'<tr data-item="{item["item_code"]}">(.*?)</tr>', html).group(1)
    assert f">{item['decided']}<" in row and "50.0%" in row
    window = stats["by_window"][0]
    assert f'data-org="{window["org_id"]}"' in html.split('data-testid="by-window"')[1]
    # by the department that really decides (住建委 for the bureau's construction permit) and by month
    by_dept = html.split('data-testid="by-department"')[1].split("</table>")[0]
    assert f'data-org="{world.housing}"' in by_dept and "南京市城乡建设委员会" in by_dept
    by_month = html.split('data-testid="by-month"')[1].split("</table>")[0]
    assert '<tr data-month="2026-10">' in by_month and '<tr data-month="2026-11">' in by_month
    # the chart data embedded for ECharts (the tables above stand without it)
    data = json.loads(
        re.search(r'<script type="application/json" id="board-data">(.*?)</script>', html).group(1)
    )
    assert data["item"]["rates"] == [50.0] and data["month"]["names"] == ["2026-10", "2026-11"]
    assert data["month"]["rates"] == [100.0, 0.0] and data["department"]["decided"] == [2]
    assert "/vendor/echarts/echarts.min.js" in html and 'id="board-chart-missing"' in html
    # the one still in review is overdue: the case and its four review tasks in red (and the two decided
    # ones are late in their delivery)
    cases = html.split('data-testid="attention-cases"')[1].split("</table>")[0]
    assert f'data-case="{ids[2]}" class="clock-overdue"' in cases
    tasks = html.split('data-testid="attention-tasks"')[1].split("</table>")[0]
    assert (
        tasks.count(f'data-case="{ids[2]}" class="clock-overdue"') == 4 and 'data-status="overdue"' in tasks
    )
    assert {int(i) for i in re.findall(r'data-case="(\d+)"', tasks)} == set(ids)
    # the default period (the last twelve months) and a bad one
    assert sup.get(BOARD).status_code == 200
    assert "On-time rate" in sup.get(BOARD, params={"lang": "en", **PERIOD}).text
    assert sup.get(BOARD, params={"from": "2026-12-31", "to": "2026-01-01"}).status_code == 422
    for who in ("rv_fire", "window", "outsider", "zhangsan"):
        assert as_user(who).get(BOARD).status_code == 403


def test_escalations_are_answered_from_the_board(db, world: W, as_user) -> None:  # noqa: ANN001
    case_id = submit_on(db, as_user("zhangsan"), world, D(2026, 9, 27))
    accept_on(db, case_id, D(2026, 9, 28))
    with unit_of_work(db, ME) as uow:
        supervision.sweep(uow, D(2026, 10, 26))
    sup = as_user("supervisor")
    html = sup.get(BOARD, params=PERIOD).text
    table = html.split('data-testid="escalations"')[1].split("</table>")[0]
    found = re.findall(r'data-escalation="(\d+)"', table)
    assert len(found) == 5 and "办件超过承诺时限" in table
    url = f"{BOARD}/escalations/{found[0]}/ack"
    short = sup.form(url, {"instruction": "快"})
    assert short.status_code == 422 and 'data-testid="error"' in short.text
    r = sup.form(url, {"instruction": "请于两个工作日内办结并说明超期原因"})
    assert r.status_code == 303 and r.headers["location"] == BOARD
    after = sup.get(BOARD, params=PERIOD).text
    assert "已提出督办意见" in after and f'data-escalation="{found[0]}"' not in after
    again = sup.form(url, {"instruction": "再次督办，请尽快办结"})
    assert again.status_code == 409
    timeline = as_user("window").get(f"{URL}/cases/{case_id}/timeline").json()
    assert any(e["kind"] == "supervised" and "两个工作日" in e["note"] for e in timeline)
    assert (
        as_user("rv_fire")
        .form(f"{BOARD}/escalations/{found[1]}/ack", {"instruction": "督办一下"})
        .status_code
        == 403
    )
    assert as_user("outsider").form(url, {"instruction": "督办一下"}).status_code == 403


def test_the_blacklist_is_kept_from_the_console(db, world: W, as_user) -> None:  # noqa: ANN001
    sup = as_user("supervisor")
    page = sup.get(f"{BOARD}/blacklist")
    assert page.status_code == 200 and 'data-testid="blacklist-add"' in page.text
    bad = sup.form(
        f"{BOARD}/blacklist",
        {"kind": "citizen", "id_number": "320102199002024562", "reason": "被列为失信被执行人，尚未履行"},
    )
    assert bad.status_code == 422 and 'data-testid="error"' in bad.text  # a wrong check digit
    body = {
        "kind": "citizen",
        "id_number": CITIZEN_ID,
        "reason": "被列为失信被执行人，尚未履行",
        "source": "信用中国",
    }
    r = sup.form(f"{BOARD}/blacklist", body)
    assert r.status_code == 303
    listed = sup.get(f"{BOARD}/blacklist").text
    entry = re.search(r'data-entry="(\d+)" data-lifted="0"', listed).group(1)
    assert CITIZEN_ID in listed and "已列入黑名单" in listed
    assert sup.get(f"{URL}/blacklist").json()["items"][0]["id_number"] == CITIZEN_ID  # the same as the API
    assert sup.form(f"{BOARD}/blacklist", body).status_code == 409  # one active entry per number
    short = sup.form(f"{BOARD}/blacklist/{entry}/lift", {"reason": "已履行"})
    assert short.status_code == 422
    assert (
        sup.form(
            f"{BOARD}/blacklist/{entry}/lift", {"reason": "已全部履行法院判决，信用修复完成"}
        ).status_code
        == 303
    )
    assert f'data-entry="{entry}"' not in sup.get(f"{BOARD}/blacklist").text
    assert f'data-entry="{entry}" data-lifted="1"' in sup.get(f"{BOARD}/blacklist", params={"all": "1"}).text
    for who in ("rv_fire", "outsider", "zhangsan"):
        assert as_user(who).get(f"{BOARD}/blacklist").status_code == 403
        assert as_user(who).form(f"{BOARD}/blacklist", body).status_code == 403

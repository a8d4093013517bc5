"""Clocks on the working-day calendar: promised and statutory limits from acceptance, a correction that pauses
them across the National Day holiday, yellow and red, escalation to supervisors (督办) with their instruction,
a calendar edit moving the copies, and on-time statistics."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from tests.approvals.conftest import ME, URL, W, full_materials, good_form
from zhicheng.approvals import acceptance, cases, corrections, files, queries, review, supervision
from zhicheng.approvals.models import Case, Task
from zhicheng.approvals.schemas import AcceptIn, CaseIn, CorrectionIn, SupplyIn
from zhicheng.core.calendar import services as calendar
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.orgs.models import Party

CITIZEN = Actor(kind="user", name="zhangsan")
D = dt.date


def submit_on(db, client, world: W, on: dt.date) -> int:  # noqa: ANN001
    mats = full_materials(client)
    with unit_of_work(db, CITIZEN) as uow:
        party = uow.session.get(Party, world.citizen)
        case, _ = cases.submit(
            uow, CaseIn(item_code=world.joint_item, form=good_form(), materials=mats), party, None, on
        )
        return case.id


def accept_on(db, case_id: int, on: dt.date) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        acceptance.accept(uow, case_id, AcceptIn(), today=on)


def get(db, case_id: int, on: dt.date | None = None) -> dict:  # noqa: ANN001
    with db.read() as s:
        return queries.case_out(s, s.get(Case, case_id), today=on)


def test_corrections_pause_the_clock_across_national_day(db, world: W, as_user) -> None:  # noqa: ANN001
    case_id = submit_on(db, as_user("zhangsan"), world, D(2026, 9, 27))
    accept_on(db, case_id, D(2026, 9, 28))
    got = get(db, case_id, D(2026, 9, 28))
    # 15 and 20 working days from Monday 2026-09-28: 10-01..10-07 are holidays, Saturday 10-10 is a workday
    assert (got["promised_due_on"], got["statutory_due_on"]) == (D(2026, 10, 23), D(2026, 10, 30))
    assert got["stage_due_on"] == D(2026, 10, 14)  # the joint review's 8 days
    with unit_of_work(db, ME) as uow:  # the planning department asks for corrections on 09-30
        corrections.request(
            uow,
            case_id,
            CorrectionIn(materials=["drawings"], note="施工图缺少地下室结构详图，请补充"),
            D(2026, 9, 30),
        )
    paused = get(db, case_id, D(2026, 10, 5))
    assert (paused["status"], paused["clock_status"]) == ("correcting", "paused")
    assert paused["remaining_workdays"] == 13  # frozen on 09-30: 13 of the 15 working days are left
    assert get(db, case_id, D(2026, 10, 20))["remaining_workdays"] == 13  # still frozen, though past 10-14
    with unit_of_work(db, CITIZEN) as uow:  # the applicant supplies on 10-09
        up = files.store(uow, io.BytesIO(b"%PDF-1.4 drawings"), "drawings.pdf", 10**6)
        corrections.supply(uow, case_id, SupplyIn(materials={"drawings": up.id}), D(2026, 10, 9))
    got = get(db, case_id, D(2026, 10, 12))
    # the working days 10-08 and 10-09 do not count: every limit moves by two working days
    assert got["status"] == "in_progress"
    assert (got["promised_due_on"], got["statutory_due_on"], got["stage_due_on"]) == (
        D(2026, 10, 27),
        D(2026, 10, 30) + dt.timedelta(days=4),  # 11-03
        D(2026, 10, 16),
    )
    assert got["remaining_workdays"] == 11 and got["clock_status"] == "ok"
    assert {t["due_on"] for t in got["tasks"]} == {D(2026, 10, 16)}  # the inbox copies moved too
    assert get(db, case_id, D(2026, 10, 26))["clock_status"] == "warning"  # 1 working day left: yellow
    late = get(db, case_id, D(2026, 10, 28))
    assert (late["remaining_workdays"], late["clock_status"]) == (-1, "overdue")  # red


def test_overdue_cases_and_tasks_are_escalated_to_supervisors(db, world: W, as_user) -> None:  # noqa: ANN001
    case_id = submit_on(db, as_user("zhangsan"), world, D(2026, 9, 27))
    accept_on(db, case_id, D(2026, 9, 28))
    with unit_of_work(db, ME) as uow:
        found = supervision.sweep(uow, D(2026, 10, 14))  # the last day of the joint review's budget
    assert (found["terminated"], found["escalated_cases"], found["escalated_tasks"]) == (0, 0, 0)
    with unit_of_work(db, ME) as uow:
        found = supervision.sweep(uow, D(2026, 10, 15))  # the joint review's budget ran out on 10-14
    assert (found["escalated_cases"], found["escalated_tasks"]) == (0, 4)
    with unit_of_work(db, ME) as uow:
        found = supervision.sweep(uow, D(2026, 10, 26))
    assert (found["escalated_cases"], found["escalated_tasks"]) == (1, 0)  # past the promised 10-23; once
    supervisor = as_user("supervisor")
    board = supervisor.get(f"{URL}/supervision/escalations").json()
    assert sorted(e["kind"] for e in board) == ["case", "task", "task", "task", "task"]
    case_row = next(e for e in board if e["kind"] == "case")
    assert (case_row["org_id"], case_row["due_on"]) == (world.bureau, "2026-10-23")
    r = supervisor.send(
        "POST",
        f"{URL}/supervision/escalations/{case_row['id']}/ack",
        json={"instruction": "请于两个工作日内办结并说明超期原因"},
    )
    assert r.status_code == 200 and r.json()["acked_by"] == "user:supervisor"
    again = supervisor.send(
        "POST", f"{URL}/supervision/escalations/{case_row['id']}/ack", json={"instruction": "再次督办"}
    )
    assert again.status_code == 409
    assert len(supervisor.get(f"{URL}/supervision/escalations").json()) == 4  # open ones
    assert as_user("rv_fire").get(f"{URL}/supervision/escalations").status_code == 403
    staff = as_user("window").get(f"{URL}/cases/{case_id}/timeline").json()
    mine = as_user("zhangsan").get(f"{URL}/cases/{case_id}/timeline").json()
    assert "escalated" in {e["kind"] for e in staff} and "supervised" in {e["kind"] for e in staff}
    assert not {"escalated", "supervised"} & {e["kind"] for e in mine}  # internal
    assert as_user("window").get(f"{URL}/cases/{case_id}").json()["escalated_at"]
    attention = supervisor.get(f"{URL}/supervision/attention").json()
    assert [a["id"] for a in attention] == [case_id] and attention[0]["clock_status"] == "overdue"


def test_a_calendar_edit_moves_the_copied_due_dates(db, world: W, as_user) -> None:  # noqa: ANN001
    case_id = submit_on(db, as_user("zhangsan"), world, D(2026, 9, 27))
    accept_on(db, case_id, D(2026, 9, 28))
    with unit_of_work(db, ME) as uow:  # a new weekday holiday inside the limits
        calendar.set_day(uow, D(2026, 10, 13), "holiday", "防汛调休")
    with unit_of_work(db, ME) as uow:
        assert supervision.sync_due_dates(uow) > 0
    got = get(db, case_id)
    assert (got["promised_due_on"], got["stage_due_on"]) == (D(2026, 10, 26), D(2026, 10, 15))
    with db.read() as s:
        assert set(s.scalars(select(Task.due_on).where(Task.case_id == case_id))) == {D(2026, 10, 15)}
    with unit_of_work(db, ME) as uow:  # nothing new to copy
        assert supervision.sync_due_dates(uow, force=True) == 0


def test_on_time_statistics(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    ids = [submit_on(db, c, world, D(2026, 9, 27)) for _ in range(3)]
    for i in ids:
        accept_on(db, i, D(2026, 9, 28))
    decided = {ids[0]: D(2026, 10, 20), ids[1]: D(2026, 10, 29)}  # on time; late (promised 10-23)
    for case_id, on in decided.items():
        with unit_of_work(db, ME) as uow:
            for task_id in uow.session.scalars(
                select(Task.id).where(Task.case_id == case_id, Task.status == "open")
            ).all():
                review.conclude(uow, task_id, True, today=on)
            review.decide(uow, case_id, True, today=on)
    stats = (
        as_user("supervisor")
        .get(f"{URL}/supervision/stats", params={"from": "2026-09-01", "to": "2026-12-31"})
        .json()
    )
    assert (stats["decided"], stats["on_time"], stats["on_time_rate"]) == (2, 1, 0.5)
    assert (stats["statutory_on_time"], stats["statutory_on_time_rate"]) == (2, 1.0)  # 10-29 is within 10-30
    assert stats["by_item"] == [
        {
            "item_code": world.joint_item,
            "item_name": "建筑工程施工许可证核发",
            "decided": 2,
            "on_time": 1,
            "on_time_rate": 0.5,
        }
    ]
    assert stats["by_window"][0]["org_id"] == world.bureau and stats["open"] == 1
    assert (
        as_user("supervisor")
        .get(f"{URL}/supervision/stats", params={"from": "2026-12-31", "to": "2026-01-01"})
        .status_code
        == 422
    )
    assert (
        as_user("supervisor")
        .get(f"{URL}/supervision/stats", params={"from": "nope", "to": "2026-01-01"})
        .status_code
        == 422
    )
    assert (
        as_user("window")
        .get(f"{URL}/supervision/stats", params={"from": "2026-09-01", "to": "2026-12-31"})
        .status_code
        == 403
    )

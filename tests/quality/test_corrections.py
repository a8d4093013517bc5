"""Corrections (数据纠错): a consumer reports wrong data, the provider answers within 5 working days
(corrected, or rejected with reasons), overdue reports escalate to the data authority; two answers at once:
one wins; who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests import personas
from tests.quality.conftest import ME, NATIONAL_DAY_EVE, URL, report
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.quality import queries, services

REJECT = "经核对工商登记原件，企业名称未发生变更，数据无误"


def shown(db, cid: int, on: dt.date) -> dict:  # noqa: ANN001
    with db.read() as s:
        return queries.shown_correction(s, queries.correction(s, cid), today=on)


def test_the_providers_clock_skips_the_national_day_week(db, world) -> None:  # noqa: ANN001
    cid = report(db, world["daily"])
    # 5 working days after 2026-09-30: 10-08, 10-09, 10-10 (调休 Saturday), 10-12, 10-13
    first = shown(db, cid, dt.date(2026, 10, 12))
    assert (first["status"], first["due_on"], first["remaining_workdays"], first["clock_status"]) == (
        "submitted",
        dt.date(2026, 10, 13),
        1,
        "warning",
    )
    assert shown(db, cid, dt.date(2026, 10, 8))["clock_status"] == "ok"
    late = shown(db, cid, dt.date(2026, 10, 14))
    assert (late["remaining_workdays"], late["clock_status"]) == (-1, "overdue")

    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 13)) == 0  # due that day: not late yet
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 14)) == 1
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 20)) == 0  # idempotent
    with db.read() as s:
        seen = queries.corrections_in_view(s, "review", ["/"], "submitted", escalated=True)
        assert [c["id"] for c in seen] == [cid] and seen[0]["escalated_at"] is not None

    with unit_of_work(db, ME) as uow:
        services.answer(uow, cid, True, "", today=dt.date(2026, 10, 15))
    done = shown(db, cid, dt.date(2026, 10, 15))
    assert (done["status"], done["on_time"], done["answered_on"], done["due_on"]) == (
        "corrected",
        False,
        dt.date(2026, 10, 15),
        None,
    )
    with db.read() as s:
        clock = s.scalar(select(Clock).where(Clock.owner == "quality:correction", Clock.subject == str(cid)))
        assert (clock.state, clock.stopped_on) == ("stopped", dt.date(2026, 10, 15))
        tags = list(
            s.scalars(
                select(AuditRecord.tag)
                .where(AuditRecord.subject == f"correction:{cid}")
                .order_by(AuditRecord.id)
            )
        )
    assert tags == ["quality:correction:report", "quality:correction:escalate", "quality:correction:correct"]


def test_what_cannot_be_reported_or_answered(db, world) -> None:  # noqa: ANN001
    with pytest.raises(Invalid, match="no item"):
        report(db, world["daily"], item="不存在的项")
    with unit_of_work(db, ME) as uow:  # a department corrects its own data itself
        from zhicheng.quality.schemas import CorrectionIn

        data = CorrectionIn(resource_id=world["weekly"], item="企业名称", record_key="1", problem="名称有误")
        with pytest.raises(Invalid, match="own data"):
            services.report(uow, data, personas.WORLD.market)
    cid = report(db, world["daily"])
    with pytest.raises(Conflict):
        report(db, world["daily"])  # the same item of the same record is still open
    report(db, world["daily"], item="法定代表人")  # another item of it is another report
    with unit_of_work(db, ME) as uow, pytest.raises(Invalid, match="at least 10"):
        services.answer(uow, cid, False, "不对")
    with unit_of_work(db, ME) as uow:
        services.answer(uow, cid, False, REJECT)
    with unit_of_work(db, ME) as uow, pytest.raises(Conflict):
        services.answer(uow, cid, True, "")


def test_two_answers_at_once_one_wins(db, world) -> None:  # noqa: ANN001
    cid = report(db, world["daily"], on=shanghai_today())
    with unit_of_work(db, ME) as first:
        assert queries.correction(first.session, cid).status == "submitted"  # provider clerk 1 has read it
        with unit_of_work(db, Actor(kind="cli", name="clerk-2")) as second:
            services.answer(second, cid, False, REJECT)  # ... clerk 2 commits first
        with pytest.raises(Conflict):
            services.answer(first, cid, True, "已更正")
    with db.read() as s:
        c = queries.correction(s, cid)
        assert (c.status, c.answer, c.version) == ("rejected", REJECT, 2)


def test_report_and_answer_through_the_api(db, world, as_user, as_system) -> None:  # noqa: ANN001
    clerk, provider, authority = as_user("clerk"), as_user("provider"), as_user("authority")
    payload = {
        "resource_id": world["daily"],
        "item": "法定代表人",
        "record_key": "913201000000000003",
        "problem": "法定代表人已于上月变更",
        "suggested": "周八",
    }
    r = clerk.send("POST", f"{URL}/corrections", json=payload)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["status"], c["consumer_org_id"], c["provider_org_id"]) == (
        "submitted",
        personas.WORLD.market,
        personas.WORLD.data_bureau,
    )
    assert c["remaining_workdays"] is not None and c["reporter"] == "user:clerk"
    assert clerk.send("POST", f"{URL}/corrections", json=payload).status_code == 409
    assert clerk.send("POST", f"{URL}/corrections", json={**payload, "item": "无此项"}).status_code == 422
    other = {**payload, "consumer_org_id": personas.WORLD.data_bureau}
    assert (
        clerk.send("POST", f"{URL}/corrections", json=other).status_code == 403
    )  # not the clerk's department

    # the views: the consumer's own, the provider's, the data authority's
    assert [x["id"] for x in clerk.get(f"{URL}/corrections").json()] == [c["id"]]
    assert [x["id"] for x in provider.get(f"{URL}/corrections", params={"view": "provided"}).json()] == [
        c["id"]
    ]
    assert [x["id"] for x in authority.get(f"{URL}/corrections", params={"view": "review"}).json()] == [
        c["id"]
    ]
    assert clerk.get(f"{URL}/corrections", params={"view": "provided"}).status_code == 403
    assert provider.get(f"{URL}/corrections/{c['id']}").status_code == 200
    assert as_user("district_admin").get(f"{URL}/corrections/{c['id']}").status_code == 403
    assert as_user("outsider").get(f"{URL}/corrections/{c['id']}").status_code == 403

    # only the provider answers; a rejection states reasons; the second answer is a conflict
    answer = f"{URL}/corrections/{c['id']}/answer"
    for who in (clerk, authority, as_user("district_admin")):
        assert who.send("POST", answer, json={"corrected": True}).status_code == 403
    assert provider.send("POST", answer, json={"corrected": False, "note": "不对"}).status_code == 422
    r = provider.send("POST", answer, json={"corrected": True, "note": "已按工商登记更正"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["answer"], r.json()["on_time"]) == (
        "corrected",
        "已按工商登记更正",
        True,
    )
    assert provider.send("POST", answer, json={"corrected": False, "note": REJECT}).status_code == 409
    assert clerk.get(f"{URL}/corrections", params={"status": "corrected"}).json()[0]["id"] == c["id"]

    # the consumer system (数据局's token) reports on 市场监管局's resource; its own department's is refused
    r = as_system.post(f"{URL}/corrections", json={**payload, "resource_id": world["weekly"]})
    assert r.status_code == 201 and r.json()["consumer_org_id"] == personas.WORLD.data_bureau
    own = as_system.post(f"{URL}/corrections", json={**payload, "resource_id": world["daily"]})
    assert own.status_code == 422
    assert as_system.get(f"{URL}/corrections", params={"view": "provided"}).status_code == 403
    assert as_user("outsider").send("POST", f"{URL}/corrections", json=payload).status_code == 403


def test_retired_resources_take_no_reports(db, world) -> None:  # noqa: ANN001
    from zhicheng.catalog import services as catalog

    with unit_of_work(db, ME) as uow:
        catalog.retire_resource(uow, world["monthly"], "资源撤销")
    with pytest.raises(NotFound):
        report(db, world["monthly"], on=NATIONAL_DAY_EVE)

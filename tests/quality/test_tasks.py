"""Catalog maintenance tasks: the data authority opens one after a legal or functional change, the provider
has 15 working days, the task closes itself when the resource gets a new catalog version, overdue tasks
escalate; the periodic sweep does all of it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests import personas
from tests.quality.conftest import ME, NATIONAL_DAY_EVE, URL, body
from zhicheng.catalog import services as catalog
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Conflict, Invalid
from zhicheng.core.jobs.registry import REGISTRY
from zhicheng.quality import queries, services

WHY = "《市场主体登记管理条例》施行，登记事项调整，目录信息项需相应更新"


def open_task(db, resource_id: int, on: dt.date = NATIONAL_DAY_EVE) -> int:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        return services.open_task(uow, resource_id, WHY, today=on).id


def new_version(db, resource_id: int, name: str) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        catalog.update_resource(
            uow, resource_id, body(name, "每日", personas.WORLD.data_bureau, summary="新")
        )


def task(db, task_id: int, on: dt.date | None = None) -> dict:  # noqa: ANN001
    with db.read() as s:
        return queries.shown_task(s, queries.task(s, task_id), today=on)


def test_fifteen_working_days_across_the_holiday_then_closed_by_a_new_version(db, world) -> None:  # noqa: ANN001
    tid = open_task(db, world["daily"])
    # 15 working days after 2026-09-30, with 10-01..07 off and Saturday 10-10 worked: 2026-10-27
    t = task(db, tid, dt.date(2026, 10, 26))
    assert (t["status"], t["due_on"], t["remaining_workdays"], t["opened_version"]) == (
        "open",
        dt.date(2026, 10, 27),
        1,
        1,
    )
    with unit_of_work(db, ME) as uow:  # nothing changed yet: nothing to close
        assert services.close_maintained(uow) == 0
    new_version(db, world["daily"], "企业登记基础信息")
    with unit_of_work(db, ME) as uow:
        assert services.sweep(uow)["tasks_closed"] == 1
    t = task(db, tid)
    assert (t["status"], t["closed_version"], t["due_on"]) == ("done", 2, None)
    # the version came today, long after 10-27: late, and so recorded
    assert t["on_time"] is False and t["closed_on"] >= dt.date(2026, 10, 28)
    with db.read() as s:
        clock = s.scalar(select(Clock).where(Clock.owner == "quality:task", Clock.subject == str(tid)))
        assert clock.state == "stopped"
        tags = list(s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == f"maintenance:{tid}")))
    assert tags == ["quality:task:open", "quality:task:close"]
    open_task(db, world["daily"])  # a closed task does not block the next one


def test_on_time_when_the_version_comes_before_the_due_date(db, world) -> None:  # noqa: ANN001
    from zhicheng.core.calendar.clock import today

    tid = open_task(db, world["daily"], on=today())
    new_version(db, world["daily"], "企业登记基础信息（2026版）")
    with unit_of_work(db, ME) as uow:
        services.close_maintained(uow)
    assert (task(db, tid)["status"], task(db, tid)["on_time"]) == ("done", True)


def test_overdue_tasks_escalate_once_and_rules(db, world) -> None:  # noqa: ANN001
    tid = open_task(db, world["daily"])
    with pytest.raises(Conflict):
        open_task(db, world["daily"])  # one open task per resource
    with unit_of_work(db, ME) as uow, pytest.raises(Invalid):
        services.open_task(uow, world["monthly"], "太短")
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 27)) == 0
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 28)) == 1
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 11, 2)) == 0
    assert task(db, tid)["escalated_at"] is not None
    with unit_of_work(db, ME) as uow, pytest.raises(Invalid):
        services.cancel_task(uow, tid, "不要了")
    with unit_of_work(db, ME) as uow:
        services.cancel_task(uow, tid, "该法规修订暂缓实施，目录暂不调整")
    with unit_of_work(db, ME) as uow, pytest.raises(Conflict):
        services.cancel_task(uow, tid, "该法规修订暂缓实施，目录暂不调整")
    assert task(db, tid)["status"] == "cancelled"
    import zhicheng.quality.jobs  # noqa: F401 - load_modules() does so once the module is in app.MODULES

    assert REGISTRY.get("quality.sweep").every == 600


def test_tasks_through_the_api(db, world, as_user) -> None:  # noqa: ANN001
    authority, provider, clerk = as_user("authority"), as_user("provider"), as_user("clerk")
    r = authority.send("POST", f"{URL}/tasks", json={"resource_id": world["daily"], "reason": WHY})
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["status"], t["provider_org_id"], t["opened_by"]) == (
        "open",
        personas.WORLD.data_bureau,
        "user:authority",
    )
    assert t["remaining_workdays"] is not None and t["due_on"]
    again = authority.send("POST", f"{URL}/tasks", json={"resource_id": world["daily"], "reason": WHY})
    assert again.status_code == 409
    short = authority.send("POST", f"{URL}/tasks", json={"resource_id": world["monthly"], "reason": "短"})
    assert short.status_code == 422
    for who in (provider, clerk, as_user("district_admin"), as_user("outsider")):
        r = who.send("POST", f"{URL}/tasks", json={"resource_id": world["monthly"], "reason": WHY})
        assert r.status_code == 403
    assert (
        authority.send("POST", f"{URL}/tasks", json={"resource_id": 999999, "reason": WHY}).status_code == 404
    )

    assert [x["id"] for x in provider.get(f"{URL}/tasks").json()] == [t["id"]]
    assert [x["id"] for x in authority.get(f"{URL}/tasks", params={"view": "review"}).json()] == [t["id"]]
    assert provider.get(f"{URL}/tasks/{t['id']}").status_code == 200
    assert clerk.get(f"{URL}/tasks/{t['id']}").status_code == 403  # a consumer is no party to the catalog
    assert clerk.get(f"{URL}/tasks").status_code == 403
    res = clerk.get(f"{URL}/resources/{world['daily']}").json()
    assert res["open_task_id"] == t["id"]

    cancel = f"{URL}/tasks/{t['id']}/cancel"
    assert (
        provider.send("POST", cancel, json={"reason": "该法规修订暂缓实施，目录暂不调整"}).status_code == 403
    )
    r = authority.send("POST", cancel, json={"reason": "该法规修订暂缓实施，目录暂不调整"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["due_on"] is None
    assert (
        authority.send("POST", cancel, json={"reason": "该法规修订暂缓实施，目录暂不调整"}).status_code == 409
    )

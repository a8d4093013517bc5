"""Quality writes: the sweep (stale data flagged and cleared, maintenance tasks closed by a new catalog
version, overdue steps escalated), corrections reported and answered, maintenance tasks opened and
cancelled. Each step audited in its transaction; each waiting step on a working-day clock; each transition a
conditional update on the status and version the caller read, so of two answers at once one wins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from zhicheng.catalog import queries as catalog
from zhicheng.catalog import vocab
from zhicheng.catalog.models import Resource
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org
from zhicheng.exchange import queries as exchange
from zhicheng.quality.models import MaintenanceTask, QualityCorrection, QualityIssue
from zhicheng.quality.queries import judge
from zhicheng.quality.schemas import REASON_MIN, CorrectionIn

# Working days. CORRECTION_DAYS is a default, not a confirmed figure: 国发〔2016〕51号 asks for "a quick
# checking mechanism" for disputed or wrong data without a number; 5 matches the provider's answer to a
# sharing request whose data is on the platform (Shanxi 2024). MAINTENANCE_DAYS is the national figure for
# updating the catalog after a legal or functional change (unconfirmed, DOMAIN.md).
CORRECTION_DAYS = 5
MAINTENANCE_DAYS = 15
CORRECTION_CLOCK, TASK_CLOCK = "quality:correction", "quality:task"

STATUS_ZH = {"submitted": "待提供方核实", "corrected": "已更正", "rejected": "不予更正"}
TASK_STATUS_ZH = {"open": "待更新目录", "done": "已更新", "cancelled": "已取消"}


# --- the sweep ----------------------------------------------------------------------------------------------


def sweep(uow: UnitOfWork, now: dt.datetime | None = None, today: dt.date | None = None) -> dict[str, int]:
    """What the periodic job does, in one transaction: flag and clear stale data, close maintenance tasks
    whose resource got a new catalog version, escalate overdue corrections and tasks."""
    now = now or utcnow()
    today = today or local_date(now)
    flagged, cleared = flag_stale(uow, now)
    return {
        "flagged": flagged,
        "cleared": cleared,
        "tasks_closed": close_maintained(uow),
        "escalated": escalate_overdue(uow, today),
    }


def flag_stale(uow: UnitOfWork, now: dt.datetime | None = None) -> tuple[int, int]:
    """One open "stale" issue per overdue resource; cleared once its data is updated (or the resource is
    retired, or its cycle is no longer fixed). Returns (flagged, cleared)."""
    s = uow.session
    now = now or utcnow()
    loaded = exchange.last_updates(s)
    open_ = {
        i.resource_id: i for i in s.scalars(select(QualityIssue).where(QualityIssue.cleared_at.is_(None)))
    }
    fixed = [k for k, days in vocab.CYCLE_DAYS.items() if days is not None]
    watched = s.execute(
        select(
            Resource.id, Resource.code, Resource.provider_org_id, Resource.update_cycle, Resource.updated_at
        )
        .where(Resource.status == "published", Resource.update_cycle.in_(fixed))
        .order_by(Resource.id)
    ).all()
    flagged = cleared = 0
    seen: set[int] = set()
    for rid, code, provider, cycle, updated_at in watched:
        seen.add(rid)
        found = judge(cycle, updated_at, loaded.get(rid), now)
        issue = open_.get(rid)
        if issue is not None:
            updated = found["last_update_at"] > issue.last_update_at
            if not found["overdue"] or updated:  # updated since: this spell is over (another may begin)
                cleared += _clear(uow, issue, "updated" if updated else "cycle", now, found["last_update_at"])
                issue = None
        if found["overdue"] and issue is None:
            flagged += _flag(uow, rid, code, provider, found, now)
    for rid, issue in open_.items():
        if rid not in seen:  # retired, or 不定期 now
            res = s.get(Resource, rid)
            cleared += _clear(uow, issue, "retired" if res and res.status != "published" else "cycle", now)
    return flagged, cleared


def _flag(
    uow: UnitOfWork, rid: int, code: str, provider: int, found: dict[str, Any], now: dt.datetime
) -> int:
    s = uow.session
    issue = QualityIssue(
        kind="stale",
        resource_id=rid,
        provider_org_id=provider,
        open_key=f"stale:{rid}",
        update_cycle=found["update_cycle"],
        source=found["source"],
        last_update_at=found["last_update_at"],
        due_at=found["due_at"],
        detected_at=now,
    )
    try:
        with s.begin_nested():  # a sweep running at the same moment may have flagged it: keep theirs
            s.add(issue)
            s.flush()
    except IntegrityError:
        return 0
    uow.record(
        "quality:issue:flag",
        f"issue:{issue.id}",
        {
            "resource": code,
            "provider_org_id": provider,
            "cycle": issue.update_cycle,
            "last_update": issue.last_update_at.isoformat(),
            "source": issue.source,
        },
    )
    return 1


def _clear(
    uow: UnitOfWork, issue: QualityIssue, reason: str, now: dt.datetime, last: dt.datetime | None = None
) -> int:
    done = uow.session.execute(
        update(QualityIssue)
        .where(QualityIssue.id == issue.id, QualityIssue.cleared_at.is_(None))
        .values(cleared_at=now, cleared_reason=reason, open_key=None)
        .execution_options(synchronize_session="fetch")
    )
    if not done.rowcount:
        return 0
    change: dict[str, Any] = {"reason": reason}
    if last is not None:
        change["last_update"] = last.isoformat()
    uow.record("quality:issue:clear", f"issue:{issue.id}", change)
    return 1


def close_maintained(uow: UnitOfWork) -> int:
    """Close the open maintenance tasks whose resource has a catalog version newer than the one they were
    opened on; on time when that version came by the clock's due date."""
    s = uow.session
    count = 0
    for t in s.scalars(
        select(MaintenanceTask).where(MaintenanceTask.status == "open").order_by(MaintenanceTask.id)
    ):
        newer = [v for v in catalog.versions(s, t.resource_id) if v.version > t.opened_version]
        if not newer:
            continue
        first = min(newer, key=lambda v: v.version)
        on = max(local_date(first.at), t.opened_on)
        clock = s.get(Clock, t.clock_id) if t.clock_id else None
        on_time = clock is None or on <= clock.due_on
        _stop(uow, t.clock_id, on)
        _move(
            uow,
            MaintenanceTask,
            t,
            "open",
            "done",
            closed_version=first.version,
            closed_on=on,
            on_time=on_time,
            open_key=None,
            clock_id=None,
        )
        uow.record(
            "quality:task:close",
            f"maintenance:{t.id}",
            {"version": first.version, "on": on.isoformat(), "on_time": on_time},
        )
        count += 1
    return count


def escalate_overdue(uow: UnitOfWork, today: dt.date | None = None) -> int:
    """Mark unanswered corrections and open maintenance tasks past their due date as escalated to the data
    authority. Idempotent: an escalated one is not escalated again."""
    today = today or shanghai_today()
    count = 0
    for model, status, tag, subject in (
        (QualityCorrection, "submitted", "quality:correction:escalate", "correction"),
        (MaintenanceTask, "open", "quality:task:escalate", "maintenance"),
    ):
        late = uow.session.scalars(
            select(model)
            .join(Clock, Clock.id == model.clock_id)
            .where(
                model.status == status,
                model.escalated_at.is_(None),
                Clock.state == "running",
                Clock.due_on < today,
            )
            .order_by(model.id)
        ).all()
        for obj in late:
            done = uow.session.execute(
                update(model)
                .where(model.id == obj.id, model.escalated_at.is_(None))
                .values(escalated_at=utcnow())
                .execution_options(synchronize_session="fetch")
            )
            if done.rowcount:
                count += 1
                uow.record(tag, f"{subject}:{obj.id}", {"on": today.isoformat()})
    return count


# --- corrections --------------------------------------------------------------------------------------------


def report(
    uow: UnitOfWork, data: CorrectionIn, consumer_org_id: int, today: dt.date | None = None
) -> QualityCorrection:
    """A consumer department reports wrong data; the provider's clock starts."""
    s = uow.session
    today = today or shanghai_today()
    res = _published(uow, data.resource_id)
    if s.get(Org, consumer_org_id) is None:
        raise NotFound(f"机构 {consumer_org_id} 不存在", f"organization {consumer_org_id} not found")
    if consumer_org_id == res.provider_org_id:
        raise Invalid(
            "本部门的数据请直接更正，无需报告纠错",
            "a department corrects its own data; it does not report it",
        )
    item = data.item.strip()
    if item not in {i.name for i in catalog.items(s, res.id)}:
        raise Invalid(f"资源没有信息项“{item}”", f"the resource has no item '{item}'", field="item")
    key = data.record_key.strip()
    if not key:
        raise Invalid("请填写记录标识", "name the record (its key or id)", field="record_key")
    held = s.scalar(
        select(QualityCorrection.id).where(
            QualityCorrection.consumer_org_id == consumer_org_id,
            QualityCorrection.resource_id == res.id,
            QualityCorrection.item == item,
            QualityCorrection.record_key == key,
            QualityCorrection.status == "submitted",
        )
    )
    if held is not None:
        raise Conflict(
            f"该记录的这一信息项已有待核实的纠错（{held}）",
            f"this item of the record is already reported ({held})",
        )
    now = utcnow()
    c = QualityCorrection(
        resource_id=res.id,
        consumer_org_id=consumer_org_id,
        provider_org_id=res.provider_org_id,
        item=item,
        record_key=key,
        problem=data.problem.strip(),
        suggested=(data.suggested or "").strip() or None,
        status="submitted",
        submitted_on=today,
        reporter=uow.actor.label[:160],
        version=1,
        created_at=now,
        updated_at=now,
    )
    s.add(c)
    s.flush()
    c.clock_id = calendar.start_clock(uow, CORRECTION_CLOCK, str(c.id), today, CORRECTION_DAYS).id
    uow.record(
        "quality:correction:report",
        f"correction:{c.id}",
        {"resource": res.code, "consumer_org_id": consumer_org_id, "item": item, "record": key},
    )
    return c


def answer(
    uow: UnitOfWork, correction_id: int, corrected: bool, note: str, today: dt.date | None = None
) -> QualityCorrection:
    """The provider's answer: corrected (a note optional) or rejected (reasons required)."""
    today = today or shanghai_today()
    c = _get(uow, QualityCorrection, correction_id, "submitted")
    note = (note or "").strip()
    if not corrected:
        _reason(note)
    clock = uow.session.get(Clock, c.clock_id) if c.clock_id else None
    on_time = clock is None or today <= clock.due_on
    _stop(uow, c.clock_id, today)
    status = "corrected" if corrected else "rejected"
    _move(
        uow,
        QualityCorrection,
        c,
        "submitted",
        status,
        answer=note or None,
        answered_by=uow.actor.label[:160],
        answered_on=today,
        on_time=on_time,
        clock_id=None,
    )
    uow.record(
        f"quality:correction:{'correct' if corrected else 'reject'}",
        f"correction:{c.id}",
        {"reason": note, "on_time": on_time},
    )
    return c


# --- maintenance tasks --------------------------------------------------------------------------------------


def open_task(
    uow: UnitOfWork, resource_id: int, reason: str, today: dt.date | None = None
) -> MaintenanceTask:
    """The data authority asks for a resource's catalog entry to be updated (15 working days)."""
    _reason(reason)
    s = uow.session
    today = today or shanghai_today()
    res = _published(uow, resource_id)
    held = s.scalar(
        select(MaintenanceTask.id).where(
            MaintenanceTask.resource_id == res.id, MaintenanceTask.status == "open"
        )
    )
    if held is not None:
        raise Conflict(f"该资源已有未完成的目录维护任务（{held}）", f"the resource has an open task ({held})")
    now = utcnow()
    t = MaintenanceTask(
        resource_id=res.id,
        provider_org_id=res.provider_org_id,
        reason=reason.strip(),
        status="open",
        open_key=f"task:{res.id}",
        opened_by=uow.actor.label[:160],
        opened_on=today,
        opened_version=res.version,
        version=1,
        created_at=now,
        updated_at=now,
    )
    s.add(t)
    s.flush()
    t.clock_id = calendar.start_clock(uow, TASK_CLOCK, str(t.id), today, MAINTENANCE_DAYS).id
    uow.record(
        "quality:task:open",
        f"maintenance:{t.id}",
        {"resource": res.code, "version": res.version, "reason": t.reason},
    )
    return t


def cancel_task(uow: UnitOfWork, task_id: int, reason: str, today: dt.date | None = None) -> MaintenanceTask:
    _reason(reason)
    today = today or shanghai_today()
    t = _get(uow, MaintenanceTask, task_id, "open")
    _stop(uow, t.clock_id, today)
    _move(
        uow,
        MaintenanceTask,
        t,
        "open",
        "cancelled",
        cancel_reason=reason.strip(),
        open_key=None,
        clock_id=None,
    )
    uow.record("quality:task:cancel", f"maintenance:{t.id}", {"reason": reason.strip()})
    return t


# --- helpers ------------------------------------------------------------------------------------------------


def _published(uow: UnitOfWork, resource_id: int) -> Resource:
    res = uow.session.get(Resource, resource_id)
    if res is None or res.status != "published":
        raise NotFound(f"数据资源 {resource_id} 不存在或已撤销", f"resource {resource_id} not found")
    return res


def _reason(reason: str) -> None:
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"请说明理由（至少 {REASON_MIN} 个字）", f"state the reasons (at least {REASON_MIN} characters)"
        )


_LABEL = {
    QualityCorrection: ("数据纠错", "correction"),
    MaintenanceTask: ("目录维护任务", "maintenance task"),
}


def _conflict(model: Any, obj_id: int, status: str) -> Conflict:
    zh, en = _LABEL[model]
    label = (STATUS_ZH if model is QualityCorrection else TASK_STATUS_ZH).get(status, status)
    return Conflict(
        f"{zh} {obj_id} 当前为“{label}”，不能进行此操作",
        f"{en} {obj_id} is {status}; this step does not apply",
    )


def _get(uow: UnitOfWork, model: Any, obj_id: int, expected: str) -> Any:
    obj = uow.session.get(model, obj_id)
    if obj is None:
        zh, en = _LABEL[model]
        raise NotFound(f"{zh} {obj_id} 不存在", f"{en} {obj_id} not found")
    if obj.status != expected:
        raise _conflict(model, obj.id, obj.status)
    return obj


def _move(uow: UnitOfWork, model: Any, obj: Any, expected: str, status: str, **values: Any) -> None:
    """The transition, conditional on the status and version the caller read: the loser of a race
    updates nothing and gets a conflict."""
    s = uow.session
    s.flush()
    done = s.execute(
        update(model)
        .where(model.id == obj.id, model.status == expected, model.version == obj.version)
        .values(status=status, version=obj.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        s.expire(obj)
        raise _conflict(model, obj.id, obj.status)


def _stop(uow: UnitOfWork, clock_id: int | None, on: dt.date) -> None:
    clock = uow.session.get(Clock, clock_id) if clock_id else None
    if clock is not None and clock.state != "stopped":
        calendar.stop_clock(uow, clock.id, max(on, clock.started_on))

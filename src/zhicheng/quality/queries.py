"""Quality reads: the timeliness rule, completeness of hosted data (computed in SQL), and the corrections,
tasks and issues in a caller's view with their working-day deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from zhicheng.catalog import vocab
from zhicheng.catalog.models import Resource
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import utcnow
from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.models import Org
from zhicheng.core.orgs.queries import org_path  # noqa: F401 - the module's callers use queries.org_path
from zhicheng.exchange import datastore
from zhicheng.exchange import queries as exchange
from zhicheng.quality.models import MaintenanceTask, QualityCorrection, QualityIssue
from zhicheng.quality.schemas import CorrectionOut, TaskOut

# Data counts as overdue only once it is older than its cycle by more than this: a nightly load that runs a
# few hours late is not stale. A fixed rule, not a setting: the cycles are what the departments declare.
STALE_GRACE = dt.timedelta(days=1)
CORRECTION_VIEWS = ("mine", "provided", "review")
TASK_VIEWS = ("provided", "review")
LIMIT = 500


def resource(s: Session, resource_id: int) -> Resource:
    found = s.get(Resource, resource_id)
    if found is None:
        raise NotFound(f"数据资源 {resource_id} 不存在", f"resource {resource_id} not found")
    return found


def correction(s: Session, correction_id: int) -> QualityCorrection:
    found = s.get(QualityCorrection, correction_id)
    if found is None:
        raise NotFound(f"数据纠错 {correction_id} 不存在", f"correction {correction_id} not found")
    return found


def task(s: Session, task_id: int) -> MaintenanceTask:
    found = s.get(MaintenanceTask, task_id)
    if found is None:
        raise NotFound(f"目录维护任务 {task_id} 不存在", f"maintenance task {task_id} not found")
    return found


# --- timeliness ---------------------------------------------------------------------------------------------


def judge(
    update_cycle: str,
    resource_updated_at: dt.datetime,
    loaded_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """The timeliness rule. The data's last update is its dataset's last load (`loaded_at`) or, for a
    resource without loaded data, the resource's last change in the catalog. It is overdue once `now` is past
    last update + cycle days + STALE_GRACE; a resource without a fixed cycle (不定期) never is."""
    days = vocab.CYCLE_DAYS.get(update_cycle)
    source, last = ("dataset", loaded_at) if loaded_at is not None else ("catalog", resource_updated_at)
    due = last + dt.timedelta(days=days) if days is not None else None
    return {
        "update_cycle": update_cycle,
        "cycle_days": days,
        "source": source,
        "last_update_at": last,
        "due_at": due,
        "overdue": due is not None and now > due + STALE_GRACE,
    }


def timeliness(s: Session, res: Resource, now: dt.datetime | None = None) -> dict[str, Any]:
    ds = exchange.dataset(s, res.id)
    found = judge(res.update_cycle, res.updated_at, ds.loaded_at if ds else None, now or utcnow())
    found["overdue"] = found["overdue"] and res.status == "published"
    found["open_issue_id"] = s.scalar(
        select(QualityIssue.id).where(QualityIssue.resource_id == res.id, QualityIssue.cleared_at.is_(None))
    )
    return found


# --- completeness -------------------------------------------------------------------------------------------


def completeness(s: Session, resource_id: int) -> dict[str, Any] | None:
    """Per item, how many hosted rows have a value, and how many rows have every item: one SQL statement of
    count(column) over the hosted table. None when the platform holds no rows of its own (no dataset, or a
    proxied one). Empty text is stored as NULL by the loader, so it counts as missing."""
    ds = exchange.dataset(s, resource_id)
    if ds is None or ds.mode != "hosted" or not ds.table_name or not ds.columns:
        return None
    t = datastore.table(ds.table_name, ds.columns)
    cols = [t.c[c["column"]] for c in ds.columns]
    every = func.count(case((and_(*(c.is_not(None) for c in cols)), 1)))
    row = s.execute(select(func.count(), every, *(func.count(c) for c in cols)).select_from(t)).one()
    rows, complete, filled = row[0], row[1], row[2:]

    def share(n: int) -> float | None:
        return round(n / rows, 4) if rows else None

    return {
        "rows": rows,
        "complete_rows": complete,
        "complete_share": share(complete),
        "items": [
            {"item": c["item"], "filled": n, "share": share(n)}
            for c, n in zip(ds.columns, filled, strict=True)
        ],
    }


def resource_quality(s: Session, resource_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    res = resource(s, resource_id)
    ds = exchange.dataset(s, res.id)
    return {
        "resource_id": res.id,
        "code": res.code,
        "name": res.name,
        "provider_org_id": res.provider_org_id,
        "status": res.status,
        "data_mode": ds.mode if ds else "none",
        "timeliness": timeliness(s, res, now),
        "completeness": completeness(s, res.id),
        "open_corrections": s.scalar(
            select(func.count()).where(
                QualityCorrection.resource_id == res.id, QualityCorrection.status == "submitted"
            )
        ),
        "open_task_id": s.scalar(
            select(MaintenanceTask.id).where(
                MaintenanceTask.resource_id == res.id, MaintenanceTask.status == "open"
            )
        ),
    }


# --- what waits on whom -------------------------------------------------------------------------------------


def under(column: Any, paths: list[str]) -> Any:
    return or_(*(column.startswith(p) for p in paths)) if paths else false()


def deadline(s: Session, clock_id: int | None, today: dt.date | None = None) -> dict[str, Any]:
    clock = s.get(Clock, clock_id) if clock_id else None
    if clock is None or clock.state == "stopped":
        return {"due_on": None, "remaining_workdays": None, "clock_status": None}
    return {
        "due_on": clock.due_on,
        "remaining_workdays": calendar.remaining_workdays(s, clock, today),
        "clock_status": calendar.status(s, clock, today),
    }


def shown_correction(s: Session, c: QualityCorrection, today: dt.date | None = None) -> dict[str, Any]:
    return {**CorrectionOut.model_validate(c).model_dump(), **deadline(s, c.clock_id, today)}


def shown_task(s: Session, t: MaintenanceTask, today: dt.date | None = None) -> dict[str, Any]:
    return {**TaskOut.model_validate(t).model_dump(), **deadline(s, t.clock_id, today)}


def _urgent_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # nothing waited on (finished) sorts last; among the waiting, the fewest working days left first
    return sorted(
        rows, key=lambda r: (r["remaining_workdays"] is None, r["remaining_workdays"] or 0, -r["id"])
    )


def corrections_in_view(
    s: Session,
    view: str,
    paths: list[str],
    status: str | None = None,
    resource_id: int | None = None,
    escalated: bool | None = None,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """mine: reported by the consumer departments under `paths`; provided: on the provider departments
    under `paths`; review: both departments under `paths` (the data authority). Most urgent first."""
    consumer, provider = aliased(Org), aliased(Org)
    q = (
        select(QualityCorrection)
        .join(consumer, consumer.id == QualityCorrection.consumer_org_id)
        .join(provider, provider.id == QualityCorrection.provider_org_id)
    )
    if view == "mine":
        q = q.where(under(consumer.path, paths))
    elif view == "provided":
        q = q.where(under(provider.path, paths))
    else:
        q = q.where(under(consumer.path, paths), under(provider.path, paths))
    if status:
        q = q.where(QualityCorrection.status == status)
    if resource_id is not None:
        q = q.where(QualityCorrection.resource_id == resource_id)
    if escalated is not None:
        q = q.where(
            QualityCorrection.escalated_at.is_not(None)
            if escalated
            else QualityCorrection.escalated_at.is_(None)
        )
    found = s.scalars(q.order_by(QualityCorrection.id.desc()).limit(LIMIT))
    return _urgent_first([shown_correction(s, c, today) for c in found])


def tasks_in_view(
    s: Session,
    paths: list[str],
    status: str | None = None,
    resource_id: int | None = None,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Maintenance tasks on the provider departments under `paths` (the provider's own, or those the data
    authority oversees). Most urgent first."""
    q = (
        select(MaintenanceTask)
        .join(Org, Org.id == MaintenanceTask.provider_org_id)
        .where(under(Org.path, paths))
    )
    if status:
        q = q.where(MaintenanceTask.status == status)
    if resource_id is not None:
        q = q.where(MaintenanceTask.resource_id == resource_id)
    found = s.scalars(q.order_by(MaintenanceTask.id.desc()).limit(LIMIT))
    return _urgent_first([shown_task(s, t, today) for t in found])


def issues_in_view(
    s: Session, paths: list[str], open_only: bool = True, resource_id: int | None = None
) -> list[QualityIssue]:
    """Stale-data issues on the provider departments under `paths`; open ones the longest overdue first."""
    q = select(QualityIssue).join(Org, Org.id == QualityIssue.provider_org_id).where(under(Org.path, paths))
    if open_only:
        q = q.where(QualityIssue.cleared_at.is_(None))
    if resource_id is not None:
        q = q.where(QualityIssue.resource_id == resource_id)
    return list(s.scalars(q.order_by(QualityIssue.cleared_at.is_not(None), QualityIssue.due_at).limit(LIMIT)))


def stale_by_department(s: Session, paths: list[str]) -> list[tuple[int, str, int]]:
    """(org id, name, open stale issues) of the provider departments under `paths`, the most first."""
    q = (
        select(Org.id, Org.name, func.count())
        .join(QualityIssue, QualityIssue.provider_org_id == Org.id)
        .where(QualityIssue.cleared_at.is_(None), under(Org.path, paths))
        .group_by(Org.id, Org.name)
        .order_by(func.count().desc(), Org.id)
    )
    return [(org_id, name, n) for org_id, name, n in s.execute(q)]


def names(s: Session, resource_ids: set[int], org_ids: set[int]) -> dict[str, dict[int, str]]:
    """Resource and department names for lists."""
    res = dict(s.execute(select(Resource.id, Resource.name).where(Resource.id.in_(resource_ids))).all())
    orgs = dict(s.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))).all())
    return {"resources": res, "orgs": orgs}

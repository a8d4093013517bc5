"""Reads of items, flows and cases shared by the API (and, later, the console): items with who really decides,
versions, flows, a case with its deadlines and colours, its materials, tasks and timeline, applicants' and
windows' case lists. The inbox and the supervision boards are in boards.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhicheng.approvals import flows
from zhicheng.approvals.flowdef import KINDS
from zhicheng.approvals.models import (
    BlacklistEntry,
    Case,
    CaseEvent,
    CaseMaterial,
    FlowVersion,
    ItemVersion,
    ServiceItem,
    Task,
)
from zhicheng.approvals.vocab import CASE_STATUS, FINAL_STATUSES, ITEM_KINDS, PAUSE_REASONS
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import Calendar, clock_status
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.models import Org, Party
from zhicheng.core.orgs.queries import org_path  # noqa: F401 - the module's callers use queries.org_path
from zhicheng.core.paging import decode_id

LIMIT = 100


def org_ids_under(s: Session, paths: list[str]) -> list[int]:
    if not paths:
        return []
    return list(
        s.scalars(select(Org.id).where(or_(*(Org.path.startswith(p) for p in paths))).order_by(Org.id))
    )


# --- items and flows ---------------------------------------------------------------------------------------


def item(s: Session, code: str) -> ServiceItem:
    found = s.scalar(select(ServiceItem).where(ServiceItem.code == code))
    if found is None:
        raise NotFound(f"事项 {code} 不存在", f"service item {code} not found")
    return found


def item_out(s: Session, it: ServiceItem, names: dict[int, str] | None = None) -> dict[str, Any]:
    from zhicheng.approvals.schemas import ItemOut

    names = names if names is not None else _names(s, [it.org_id, it.deciding_org_id])
    decider = it.deciding_org_id or it.org_id
    out = ItemOut.model_validate(it).model_dump()
    out.update(
        kind_zh=ITEM_KINDS.get(it.kind, it.kind),
        org_name=names.get(it.org_id, ""),
        decided_by_org_id=decider,
        decided_by=names.get(decider, ""),
    )
    return out


def items(
    s: Session,
    q: str | None = None,
    org_id: int | None = None,
    kind: str | None = None,
    status: str | None = "active",
    limit: int = LIMIT,
    cursor: str | None = None,
) -> list[ServiceItem]:
    stmt = select(ServiceItem).order_by(ServiceItem.id)
    if q:
        stmt = stmt.where(or_(ServiceItem.name.contains(q), ServiceItem.code.contains(q)))
    if org_id:
        stmt = stmt.where(or_(ServiceItem.org_id == org_id, ServiceItem.deciding_org_id == org_id))
    if kind:
        stmt = stmt.where(ServiceItem.kind == kind)
    if status:
        stmt = stmt.where(ServiceItem.status == status)
    after = decode_id(cursor)
    if after:
        stmt = stmt.where(ServiceItem.id > after)
    return list(s.scalars(stmt.limit(limit + 1)))


def items_out(s: Session, rows: list[ServiceItem]) -> list[dict[str, Any]]:
    names = _names(s, [o for it in rows for o in (it.org_id, it.deciding_org_id)])
    return [item_out(s, it, names) for it in rows]


def versions(s: Session, code: str) -> list[ItemVersion]:
    it = item(s, code)
    return list(
        s.scalars(select(ItemVersion).where(ItemVersion.item_id == it.id).order_by(ItemVersion.version))
    )


def version(s: Session, code: str, number: int) -> ItemVersion:
    it = item(s, code)
    found = s.scalar(select(ItemVersion).where(ItemVersion.item_id == it.id, ItemVersion.version == number))
    if found is None:
        raise NotFound(f"事项 {code} 没有第 {number} 版", f"item {code} has no version {number}")
    return found


def flow_out(s: Session, row: FlowVersion) -> dict[str, Any]:
    from zhicheng.approvals.schemas import FlowOut

    out = FlowOut.model_validate(row).model_dump()
    out["decision_days"] = flows.parsed(row).decision_days()
    out["versions"] = list(
        s.scalars(
            select(FlowVersion.version).where(FlowVersion.code == row.code).order_by(FlowVersion.version)
        )
    )
    return out


def flows_latest(s: Session) -> list[FlowVersion]:
    rows = s.scalars(select(FlowVersion).order_by(FlowVersion.code, FlowVersion.version.desc()))
    seen: dict[str, FlowVersion] = {}
    for r in rows:
        seen.setdefault(r.code, r)
    return list(seen.values())


# --- cases -------------------------------------------------------------------------------------------------


def case(s: Session, case_id: int) -> Case:
    found = s.get(Case, case_id)
    if found is None:
        raise NotFound(f"办件 {case_id} 不存在", f"case {case_id} not found")
    return found


def task(s: Session, task_id: int) -> Task:
    found = s.get(Task, task_id)
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在", f"task {task_id} not found")
    return found


def due_view(cal: Calendar, c: Case, today: dt.date, warn_days: int) -> dict[str, Any]:
    """The date the case's current step is due and its colour: before acceptance and while delivering the
    stage's, in between the promised limit's. A paused case is frozen on the day it paused."""
    if c.status in FINAL_STATUSES:
        return {"due_on": None, "remaining_workdays": None, "clock_status": "stopped"}
    due = c.promised_due_on if c.accepted_on and c.status != "delivering" else c.stage_due_on
    if due is None:
        return {"due_on": None, "remaining_workdays": None, "clock_status": "stopped"}
    if c.paused_on is not None:
        return {
            "due_on": due,
            "remaining_workdays": cal.remaining(due, c.paused_on),
            "clock_status": "paused",
        }
    left = cal.remaining(due, today)
    return {"due_on": due, "remaining_workdays": left, "clock_status": clock_status(left, False, warn_days)}


def case_out(
    s: Session, c: Case, today: dt.date | None = None, warn_days: int = 2, staff: bool = True
) -> dict[str, Any]:
    """A case as the API shows it. `staff` adds who concluded tasks; the applicant sees departments only."""
    today = today or shanghai_today()
    cal = calendar.calendar(s)
    it = s.get(ServiceItem, c.item_id)
    party = s.get(Party, c.party_id)
    flow_row = s.get(FlowVersion, c.flow_id)
    stage = flows.parsed(flow_row).stage(c.stage)
    tasks = list(s.scalars(select(Task).where(Task.case_id == c.id).order_by(Task.id)))
    names = _names(s, [c.window_org_id, *(t.org_id for t in tasks)])
    mats = s.scalars(select(CaseMaterial).where(CaseMaterial.case_id == c.id).order_by(CaseMaterial.id))
    return {
        "id": c.id,
        "number": c.number,
        "item_code": it.code if it else "",
        "item_name": it.name if it else "",
        "item_version": c.item_version,
        "flow_code": flow_row.code,
        "flow_version": flow_row.version,
        "party_id": c.party_id,
        "applicant_kind": party.kind if party else "",
        "applicant_name": c.applicant_name,
        "status": c.status,
        "status_zh": CASE_STATUS.get(c.status, c.status),
        "stage": c.stage,
        "stage_name": stage.name,
        "stage_kind": stage.kind,
        "version": c.version,
        "window_org_id": c.window_org_id,
        "window_org_name": names.get(c.window_org_id, ""),
        "submitted_on": c.submitted_on,
        "accepted_on": c.accepted_on,
        "decided_on": c.decided_on,
        "closed_on": c.closed_on,
        "promised_days": c.promised_days,
        "statutory_days": c.statutory_days,
        "promised_due_on": c.promised_due_on,
        "statutory_due_on": c.statutory_due_on,
        "stage_due_on": c.stage_due_on,
        **due_view(cal, c, today, warn_days),
        "rongque": c.rongque,
        "rongque_missing": c.rongque_missing,
        "supplement_due_on": c.supplement_due_on,
        "supplements_done_on": c.supplements_done_on,
        "correction": c.correction,
        "pause_reason": c.pause_reason,
        "pause_reason_zh": PAUSE_REASONS.get(c.pause_reason or "", None),
        "outcome": c.outcome,
        "reason": c.reason,
        "certificate_no": c.certificate_no,
        "delivery_method": c.delivery_method,
        "tracking_no": c.tracking_no,
        "escalated_at": c.escalated_at if staff else None,
        "form": c.form,
        "materials": [
            {
                "id": m.id,
                "code": m.code,
                "name": m.name,
                "filename": m.filename,
                "size": m.size,
                "sm3": m.sm3,
                "supplement": m.supplement,
                "superseded": m.superseded,
                "added_at": m.added_at,
            }
            for m in mats
        ],
        "tasks": [
            {
                "id": t.id,
                "stage": t.stage,
                "kind": t.kind,
                "kind_zh": KINDS.get(t.kind, t.kind),
                "org_id": t.org_id,
                "org_name": names.get(t.org_id, ""),
                "round": t.round,
                "status": t.status,
                "version": t.version,
                "due_on": t.due_on,
                "concluded_at": t.concluded_at,
                "concluded_by": t.concluded_by if staff else None,
                "reason": t.reason,
            }
            for t in tasks
        ],
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def timeline(s: Session, case_id: int, public_only: bool) -> list[CaseEvent]:
    q = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if public_only:
        q = q.where(CaseEvent.public.is_(True))
    return list(s.scalars(q.order_by(CaseEvent.id)))


def cases_of_party(
    s: Session, party_id: int, status: str | None, limit: int, cursor: str | None
) -> list[Case]:
    q = select(Case).where(Case.party_id == party_id)
    return _page(s, q, status, limit, cursor)


def window_cases(
    s: Session, org_ids: list[int], status: str | None, limit: int, cursor: str | None
) -> list[Case]:
    """The cases of the windows `org_ids`, newest first (the window desk: status=submitted)."""
    if not org_ids:
        return []
    q = select(Case).where(Case.window_org_id.in_(org_ids))
    return _page(s, q, status, limit, cursor)


def _page(s: Session, q: Any, status: str | None, limit: int, cursor: str | None) -> list[Case]:
    if status:
        q = q.where(Case.status == status)
    before = decode_id(cursor)
    if before:
        q = q.where(Case.id < before)
    return list(s.scalars(q.order_by(Case.id.desc()).limit(limit + 1)))


def material(s: Session, case_id: int, material_id: int) -> CaseMaterial:
    found = s.get(CaseMaterial, material_id)
    if found is None or found.case_id != case_id:
        raise NotFound(f"材料 {material_id} 不存在", f"material {material_id} not found")
    return found


def blacklist(
    s: Session, active: bool = True, limit: int = LIMIT, cursor: str | None = None
) -> list[BlacklistEntry]:
    q = select(BlacklistEntry).order_by(BlacklistEntry.id)
    if active:
        q = q.where(BlacklistEntry.open_key.is_not(None))
    after = decode_id(cursor)
    if after:
        q = q.where(BlacklistEntry.id > after)
    return list(s.scalars(q.limit(limit + 1)))


def lookup(s: Session, key: Any, value: Any, ids: Any) -> dict[Any, Any]:
    """{key: value} for the rows whose key is in `ids` (none asked, no query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(s.execute(select(key, value).where(key.in_(wanted))).all())


def _names(s: Session, ids: Any) -> dict[int, str]:
    return lookup(s, Org.id, Org.name, ids)


def case_rows(s: Session, rows: list[Case], today: dt.date, warn_days: int) -> list[dict[str, Any]]:
    """Case list rows: the essentials and the current deadline, in three queries whatever the page size."""
    cal = calendar.calendar(s)
    ids = {c.item_id for c in rows}
    its = lookup(s, ServiceItem.id, ServiceItem.code, ids)
    names = lookup(s, ServiceItem.id, ServiceItem.name, ids)
    return [
        {
            "id": c.id,
            "number": c.number,
            "item_code": its.get(c.item_id, ""),
            "item_name": names.get(c.item_id, ""),
            "applicant_name": c.applicant_name,
            "status": c.status,
            "status_zh": CASE_STATUS.get(c.status, c.status),
            "stage": c.stage,
            "version": c.version,
            "window_org_id": c.window_org_id,
            "submitted_on": c.submitted_on,
            "rongque": c.rongque,
            **due_view(cal, c, today, warn_days),
        }
        for c in rows
    ]


# --- the console: applicant portal and window desk (portal_views.py, desk_views.py) -------------------------


def item_orgs(s: Session) -> list[tuple[int, str]]:
    """The organizations implementing or deciding an active item (the 办事指南's department filter)."""
    ids = {
        o
        for pair in s.execute(
            select(ServiceItem.org_id, ServiceItem.deciding_org_id).where(ServiceItem.status == "active")
        )
        for o in pair
        if o is not None
    }
    return sorted(_names(s, ids).items(), key=lambda kv: kv[1])


def window_queue(s: Session, org_ids: list[int], status: str, limit: int = LIMIT) -> list[Case]:
    """The cases of the windows `org_ids` in one status, oldest first (the window desk's queue)."""
    if not org_ids:
        return []
    q = select(Case).where(Case.window_org_id.in_(org_ids), Case.status == status)
    return list(s.scalars(q.order_by(Case.id).limit(limit)))


def delivery_queue(s: Session, org_ids: list[int], limit: int = LIMIT) -> list[Case]:
    """Cases awaiting delivery by one of `org_ids` (an open task of a deliver stage), oldest first."""
    if not org_ids:
        return []
    ids = select(Task.case_id).where(Task.org_id.in_(org_ids), Task.queue == "deliver", Task.status == "open")
    q = select(Case).where(Case.status == "delivering", Case.id.in_(ids))
    return list(s.scalars(q.order_by(Case.id).limit(limit)))


def cases_with_event(s: Session, case_ids: list[int], kind: str) -> set[int]:
    """Which of `case_ids` have an event of `kind` (e.g. 'supplied': returned after corrections)."""
    if not case_ids:
        return set()
    q = select(CaseEvent.case_id).where(CaseEvent.case_id.in_(case_ids), CaseEvent.kind == kind)
    return set(s.scalars(q.distinct()))


def org_names(s: Session, ids: Any) -> dict[int, str]:
    """{org id: name} for the ids given."""
    return _names(s, ids)


# --- the item and flow console (item_views.py) --------------------------------------------------------------


def flow_versions(s: Session, code: str) -> list[FlowVersion]:
    """Every version of a flow, the newest first."""
    q = select(FlowVersion).where(FlowVersion.code == code).order_by(FlowVersion.version.desc())
    return list(s.scalars(q))


def items_on_flow(s: Session, code: str) -> list[ServiceItem]:
    """The active items whose cases run through flow `code`."""
    return list(
        s.scalars(
            select(ServiceItem)
            .where(ServiceItem.flow_code == code, ServiceItem.status == "active")
            .order_by(ServiceItem.code)
        )
    )

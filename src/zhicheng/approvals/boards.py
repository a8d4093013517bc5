"""The lists people work from: the reviewer inbox sorted by remaining working days, and the supervision
boards (overdue and warning cases, open escalations, on-time statistics).

The inbox must stay fast with a million open cases: tasks carry their due date, and the index
(org_id, queue, status, due_on, id) gives each organization's open tasks in due order. Several organizations
are read as one UNION ALL of per-organization range scans, each stopping at the page size."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from zhicheng.approvals.flowdef import KINDS
from zhicheng.approvals.models import Case, Escalation, ServiceItem, Task
from zhicheng.approvals.queries import due_view, lookup
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import clock_status
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.models import Org
from zhicheng.core.paging import decode, encode

UNION_MAX = 50  # more organizations than this: one IN query (a city-wide view, not a reviewer's inbox)


def _after(cursor: str | None) -> tuple[dt.date, int] | None:
    key = decode(cursor)
    if key is None:
        return None
    try:
        return dt.date.fromisoformat(key[0]), int(key[1])
    except (TypeError, ValueError, IndexError):
        raise Invalid("分页游标无效", "invalid pagination cursor") from None


def inbox(
    s: Session,
    org_ids: list[int],
    queue: str,
    limit: int,
    cursor: str | None,
    today: dt.date,
    warn_days: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Open tasks of `queue` for the organizations, the fewest working days left first; keyset pages."""
    if not org_ids:
        return [], None
    after = _after(cursor)

    def one(cond: Any) -> Any:
        q = select(Task.id, Task.due_on).where(cond, Task.queue == queue, Task.status == "open")
        if after:
            q = q.where(tuple_(Task.due_on, Task.id) > tuple_(literal(after[0]), literal(after[1])))
        return q.order_by(Task.due_on, Task.id).limit(limit + 1)

    if len(org_ids) <= UNION_MAX:
        parts = [one(Task.org_id == o).subquery() for o in org_ids]
        merged = union_all(*(select(p.c.id, p.c.due_on) for p in parts)).subquery()
        rows = s.execute(select(merged.c.id).order_by(merged.c.due_on, merged.c.id).limit(limit + 1)).all()
    else:
        rows = s.execute(one(Task.org_id.in_(org_ids))).all()
    ids = [r[0] for r in rows]
    tasks = {t.id: t for t in s.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
    ordered = [tasks[i] for i in ids]
    page, more = ordered[:limit], len(ordered) > limit
    cases = (
        {c.id: c for c in s.scalars(select(Case).where(Case.id.in_({t.case_id for t in page})))}
        if page
        else {}
    )
    items = lookup(s, ServiceItem.id, ServiceItem.name, {c.item_id for c in cases.values()})
    names = lookup(s, Org.id, Org.name, {t.org_id for t in page})
    cal = calendar.calendar(s)
    out = []
    for t in page:
        c = cases[t.case_id]
        frozen = c.paused_on is not None
        left = cal.remaining(t.due_on, c.paused_on if frozen else today)
        out.append(
            {
                "id": t.id,
                "case_id": c.id,
                "case_number": c.number,
                "item_name": items.get(c.item_id, ""),
                "applicant_name": c.applicant_name,
                "case_status": c.status,
                "stage": t.stage,
                "kind": t.kind,
                "kind_zh": KINDS.get(t.kind, t.kind),
                "queue": t.queue,
                "org_id": t.org_id,
                "org_name": names.get(t.org_id, ""),
                "round": t.round,
                "status": t.status,
                "version": t.version,
                "due_on": t.due_on,
                "remaining_workdays": left,
                "clock_status": "paused" if frozen else clock_status(left, False, warn_days),
                "opened_at": t.opened_at,
                "escalated_at": t.escalated_at,
            }
        )
    nxt = encode([page[-1].due_on.isoformat(), page[-1].id]) if more and page else None
    return out, nxt


def attention(
    s: Session, org_ids: list[int], today: dt.date, warn_days: int, limit: int
) -> list[dict[str, Any]]:
    """Running cases of these windows that are overdue or within `warn_days` of their promised limit, the
    most overdue first (an index range on (status, promised_due_on))."""
    if not org_ids:
        return []
    cal = calendar.calendar(s)
    edge = cal.add_workdays(today, warn_days).date
    rows = s.scalars(
        select(Case)
        .where(Case.status == "in_progress", Case.promised_due_on <= edge, Case.window_org_id.in_(org_ids))
        .order_by(Case.promised_due_on, Case.id)
        .limit(limit)
    )
    return [
        {
            "id": c.id,
            "number": c.number,
            "applicant_name": c.applicant_name,
            "stage": c.stage,
            "window_org_id": c.window_org_id,
            "escalated_at": c.escalated_at,
            **due_view(cal, c, today, warn_days),
        }
        for c in rows
    ]


def escalations(s: Session, org_ids: list[int], open_only: bool, limit: int) -> list[dict[str, Any]]:
    if not org_ids:
        return []
    q = (
        select(Escalation, Case.number, Org.name)
        .join(Case, Case.id == Escalation.case_id)
        .join(Org, Org.id == Escalation.org_id)
        .where(Escalation.org_id.in_(org_ids))
    )
    if open_only:
        q = q.where(Escalation.acked_at.is_(None))
    rows = s.execute(q.order_by(Escalation.id.desc()).limit(limit)).all()
    return [
        {
            "id": e.id,
            "case_id": e.case_id,
            "case_number": number,
            "task_id": e.task_id,
            "kind": e.kind,
            "org_id": e.org_id,
            "org_name": org_name,
            "due_on": e.due_on,
            "raised_on": e.raised_on,
            "acked_at": e.acked_at,
            "acked_by": e.acked_by,
            "instruction": e.instruction,
        }
        for e, number, org_name in rows
    ]


def on_time(s: Session, org_ids: list[int], start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """On-time statistics of the decisions made in [start, end] by cases of these windows: on time against
    the promised limit (after pauses) and against the statutory one; by item and by deciding department."""
    if end < start:
        raise Invalid("结束日期早于开始日期", "the period ends before it begins")
    if not org_ids:
        return {"decided": 0, "on_time": 0, "on_time_rate": None, "by_item": [], "by_window": []}
    promised = func.sum(case((Case.decided_on <= Case.promised_due_on, 1), else_=0))
    statutory = func.sum(case((Case.decided_on <= Case.statutory_due_on, 1), else_=0))
    base = [Case.window_org_id.in_(org_ids), Case.decided_on >= start, Case.decided_on <= end]

    def grouped(*cols: Any) -> list[Any]:
        q = select(*cols, func.count(), promised, statutory).select_from(Case)
        if any(getattr(c, "class_", None) is ServiceItem for c in cols):
            q = q.join(ServiceItem, ServiceItem.id == Case.item_id)
        return list(s.execute(q.where(*base).group_by(*cols).order_by(*cols)).all())

    total = s.execute(select(func.count(), promised, statutory).select_from(Case).where(*base)).one()
    by_item = grouped(ServiceItem.code, ServiceItem.name)
    by_window = grouped(Case.window_org_id)
    names = lookup(s, Org.id, Org.name, [r[0] for r in by_window])
    open_q = (
        select(func.count())
        .select_from(Case)
        .where(Case.window_org_id.in_(org_ids), Case.status == "in_progress")
    )

    def rate(n: int, ok: int | None) -> float | None:
        return round((ok or 0) / n, 4) if n else None

    return {
        "from": start,
        "to": end,
        "decided": total[0],
        "on_time": total[1] or 0,
        "on_time_rate": rate(total[0], total[1]),
        "statutory_on_time": total[2] or 0,
        "statutory_on_time_rate": rate(total[0], total[2]),
        "open": s.scalar(open_q) or 0,
        "open_overdue": s.scalar(open_q.where(Case.promised_due_on < today)) or 0,
        "by_item": [
            {"item_code": c, "item_name": n, "decided": d, "on_time": ok or 0, "on_time_rate": rate(d, ok)}
            for c, n, d, ok, _st in by_item
        ],
        "by_window": [
            {
                "org_id": o,
                "org_name": names.get(o, ""),
                "decided": d,
                "on_time": ok or 0,
                "on_time_rate": rate(d, ok),
            }
            for o, d, ok, _st in by_window
        ],
    }


# --- the supervision board's console (board_views.py) -------------------------------------------------------


def on_time_by_month(s: Session, org_ids: list[int], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The decisions of `on_time` (same cases, same period) per month of the decision, against the promised
    limit. Grouped by day in SQL and by month here, the same on SQLite and PostgreSQL."""
    if not org_ids or end < start:
        return []
    promised = func.sum(case((Case.decided_on <= Case.promised_due_on, 1), else_=0))
    rows = s.execute(
        select(Case.decided_on, func.count(), promised)
        .where(Case.window_org_id.in_(org_ids), Case.decided_on >= start, Case.decided_on <= end)
        .group_by(Case.decided_on)
    ).all()
    months: dict[str, list[int]] = {}
    for day, n, ok in rows:
        m = months.setdefault(day.strftime("%Y-%m"), [0, 0])
        m[0], m[1] = m[0] + n, m[1] + (ok or 0)
    return [
        {"month": k, "decided": n, "on_time": ok, "on_time_rate": round(ok / n, 4) if n else None}
        for k, (n, ok) in sorted(months.items())
    ]


def on_time_by_department(
    s: Session, org_ids: list[int], start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """The decisions of `on_time` per department that really decides (the item's deciding organization, else
    its implementing one), against the promised limit."""
    if not org_ids or end < start:
        return []
    decider = func.coalesce(ServiceItem.deciding_org_id, ServiceItem.org_id)
    promised = func.sum(case((Case.decided_on <= Case.promised_due_on, 1), else_=0))
    rows = s.execute(
        select(decider, func.count(), promised)
        .select_from(Case)
        .join(ServiceItem, ServiceItem.id == Case.item_id)
        .where(Case.window_org_id.in_(org_ids), Case.decided_on >= start, Case.decided_on <= end)
        .group_by(decider)
        .order_by(decider)
    ).all()
    names = lookup(s, Org.id, Org.name, [r[0] for r in rows])
    return [
        {
            "org_id": o,
            "org_name": names.get(o, ""),
            "decided": n,
            "on_time": ok or 0,
            "on_time_rate": round((ok or 0) / n, 4) if n else None,
        }
        for o, n, ok in rows
    ]


def attention_tasks(
    s: Session, org_ids: list[int], today: dt.date, warn_days: int, limit: int
) -> list[dict[str, Any]]:
    """Open tasks of these departments (of running cases) past their stage's due date or within `warn_days`
    of it, the most overdue first."""
    if not org_ids:
        return []
    cal = calendar.calendar(s)
    edge = cal.add_workdays(today, warn_days).date
    rows = s.execute(
        select(Task, Case.number, Case.applicant_name)
        .join(Case, Case.id == Task.case_id)
        .where(
            Task.status == "open",
            Task.due_on <= edge,
            Task.org_id.in_(org_ids),
            Case.status.in_(("in_progress", "delivering")),
        )
        .order_by(Task.due_on, Task.id)
        .limit(limit)
    ).all()
    names = lookup(s, Org.id, Org.name, {t.org_id for t, _n, _a in rows})
    out = []
    for t, number, applicant in rows:
        left = cal.remaining(t.due_on, today)
        out.append(
            {
                "id": t.id,
                "case_id": t.case_id,
                "case_number": number,
                "applicant_name": applicant,
                "stage": t.stage,
                "kind_zh": KINDS.get(t.kind, t.kind),
                "org_id": t.org_id,
                "org_name": names.get(t.org_id, ""),
                "due_on": t.due_on,
                "remaining_workdays": left,
                "clock_status": clock_status(left, False, warn_days),
                "escalated_at": t.escalated_at,
            }
        )
    return out

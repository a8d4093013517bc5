"""Reads of 好差评: a case's rating, statistics by item, department or window over a period (count per
level, bad reviews, satisfaction rate = 非常满意 + 满意 + 基本满意 over all ratings, open and overdue
rectifications), the rectification lists, and the context of the supervision board's ratings panel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zhicheng.approvals import access
from zhicheng.approvals.models import Case, ServiceItem
from zhicheng.approvals.permissions import ACCEPT, REVIEW, SUPERVISE
from zhicheng.approvals.queries import lookup, org_ids_under
from zhicheng.approvals.rating_models import Rating, Rectification
from zhicheng.approvals.ratings import ACTIVE, BAD, CHANNELS, LEVELS, RESULTS, STATUS
from zhicheng.approvals.vocab import FINAL_STATUSES
from zhicheng.core.auth.permissions import ALL
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import Calendar, clock_status
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.orgs.models import Org

BY = ("item", "department", "window")
BOARD_DAYS = 30  # the board's panel covers the last 30 days
LIMIT = 100


def rating_out(s: Session, r: Rating, staff: bool = False) -> dict[str, Any]:
    out = {
        "id": r.id,
        "case_id": r.case_id,
        "level": r.level,
        "level_zh": LEVELS[r.level],
        "bad": r.level <= BAD,
        "channel": r.channel,
        "channel_zh": CHANNELS.get(r.channel, r.channel),
        "comment": r.comment,
        "rated_on": r.rated_on,
        "created_at": r.created_at,
    }
    if staff:
        rect = s.scalar(select(Rectification).where(Rectification.rating_id == r.id))
        out["rated_by"] = r.rated_by
        out["rectification"] = rectification_out(s, rect) if rect is not None else None
    return out


def rating_of_case(s: Session, case_id: int) -> Rating | None:
    return s.scalar(select(Rating).where(Rating.case_id == case_id))


def rating_panel(s: Session, me: Principal, case: Case) -> dict[str, Any]:
    """The context of templates/approvals/_rating.html, under the key `rating_panel`."""
    r = rating_of_case(s, case.id)
    final = case.status in FINAL_STATUSES
    return {
        "rating_panel": {
            "case_id": case.id,
            "case_number": case.number,
            "final": final,
            "rating": rating_out(s, r) if r is not None else None,
            "can_rate": r is None and final and access.is_applicant(s, me, case),
            "levels": list(LEVELS.items()),
        }
    }


# --- statistics ---------------------------------------------------------------------------------------------


def _period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise Invalid("结束日期早于开始日期", "the period ends before it begins")
    if end - start > dt.timedelta(days=3660):
        raise Invalid("统计区间最长十年", "the period is at most ten years")


def _rate(good: int, total: int) -> float | None:
    return round(good / total, 4) if total else None


def stats(
    s: Session,
    by: str,
    start: dt.date,
    end: dt.date,
    org_ids: list[int] | None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Ratings given in [start, end] (rating day), of cases whose department or window is in `org_ids`
    (None: everywhere), grouped by item, department (the implementing org) or window."""
    if by not in BY:
        raise Invalid("分组应为 item、department 或 window", "by must be item, department or window")
    _period(start, end)
    today = today or shanghai_today()
    key = {"item": Rating.item_id, "department": Rating.org_id, "window": Rating.window_org_id}[by]
    where = [Rating.rated_on >= start, Rating.rated_on <= end]
    if org_ids is not None:
        if not org_ids:
            where.append(Rating.id.is_(None))
        else:
            where.append(or_(Rating.org_id.in_(org_ids), Rating.window_org_id.in_(org_ids)))
    levels = [func.sum(when((Rating.level == n, 1), else_=0)) for n in sorted(LEVELS)]
    rows = s.execute(select(key, func.count(), *levels).where(*where).group_by(key).order_by(key)).all()
    active = Rectification.status.in_(ACTIVE)
    rect = dict(
        (k, (o or 0, d or 0))
        for k, o, d in s.execute(
            select(
                key,
                func.sum(when((active, 1), else_=0)),
                func.sum(when((active & (Rectification.due_on < today), 1), else_=0)),
            )
            .join(Rectification, Rectification.rating_id == Rating.id)
            .where(*where)
            .group_by(key)
        ).all()
    )
    if by == "item":
        codes = lookup(s, ServiceItem.id, ServiceItem.code, [r[0] for r in rows])
        names = lookup(s, ServiceItem.id, ServiceItem.name, [r[0] for r in rows])
    else:
        codes, names = {}, lookup(s, Org.id, Org.name, [r[0] for r in rows])

    def entry(count: int, per: list[int], open_: int, overdue: int) -> dict[str, Any]:
        per = [int(n or 0) for n in per]  # per[0] is level 1
        return {
            "count": count,
            "levels": {str(n): per[n - 1] for n in sorted(LEVELS, reverse=True)},
            "bad": sum(per[:BAD]),
            "satisfaction_rate": _rate(sum(per[BAD:]), count),
            "rectifications_open": open_,
            "rectifications_overdue": overdue,
        }

    out_rows = []
    for k, count, *per in rows:
        o, d = rect.get(k, (0, 0))
        row = {"key": k, "name": names.get(k, ""), **entry(count, per, o, d)}
        if by == "item":
            row["code"] = codes.get(k, "")
        out_rows.append(row)
    total_per = [sum(r["levels"][str(n)] for r in out_rows) for n in sorted(LEVELS)]
    total = entry(
        sum(r["count"] for r in out_rows),
        total_per,
        sum(r["rectifications_open"] for r in out_rows),
        sum(r["rectifications_overdue"] for r in out_rows),
    )
    return {"by": by, "from": start, "to": end, "total": total, "rows": out_rows}


def org_scope(s: Session, me: Principal, *permissions: str) -> list[int] | None:
    """The organizations where the caller holds one of `permissions` (None: everywhere)."""
    if me.can(ALL):
        return None
    paths = sorted({p for perm in permissions for p in me.paths(perm)})
    return org_ids_under(s, paths)


# --- rectifications -----------------------------------------------------------------------------------------


def rectification(s: Session, rectification_id: int) -> Rectification:
    row = s.get(Rectification, rectification_id)
    if row is None:
        raise NotFound(f"整改任务 {rectification_id} 不存在", f"rectification {rectification_id} not found")
    return row


def rectification_out(
    s: Session,
    r: Rectification,
    today: dt.date | None = None,
    extra: dict[str, Any] | None = None,
    cal: Calendar | None = None,
) -> dict[str, Any]:
    today = today or shanghai_today()
    running = r.status in ACTIVE
    remaining = (cal or calendar.calendar(s)).remaining(r.due_on, today) if running else None
    return {
        "id": r.id,
        "rating_id": r.rating_id,
        "case_id": r.case_id,
        "org_id": r.org_id,
        "status": r.status,
        "status_zh": STATUS[r.status],
        "round": r.round,
        "version": r.version,
        "due_on": r.due_on,
        "remaining_workdays": remaining,
        "clock_status": clock_status(remaining, not running) if running else "stopped",
        "overdue": running and r.due_on < today,
        "opened_at": r.opened_at,
        "answer": r.answer,
        "answered_at": r.answered_at,
        "answered_by": r.answered_by,
        "follow_up_result": r.follow_up_result,
        "follow_up_result_zh": RESULTS.get(r.follow_up_result or "", ""),
        "follow_up_note": r.follow_up_note,
        "followed_up_at": r.followed_up_at,
        "followed_up_by": r.followed_up_by,
        "escalated_at": r.escalated_at,
        "closed_at": r.closed_at,
        "history": r.history,
        **(extra or {}),
    }


def rectifications(
    s: Session,
    org_ids: list[int] | None,
    status: str | None = None,
    limit: int = LIMIT,
    today: dt.date | None = None,
    only: int | None = None,
    rated_from: dt.date | None = None,
    rated_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Rectifications of these departments (None: all): open and reopened first, then those waiting for the
    follow-up, then closed; within each, the earliest due date first."""
    if status is not None and status not in STATUS:
        raise Invalid(f"状态应为 {'、'.join(STATUS)} 之一", f"status must be one of {', '.join(STATUS)}")
    order = when((Rectification.status.in_(ACTIVE), 0), (Rectification.status == "answered", 1), else_=2)
    q = (
        select(Rectification, Rating, Case.number, Case.applicant_name, ServiceItem.name, Org.name)
        .join(Rating, Rating.id == Rectification.rating_id)
        .join(Case, Case.id == Rectification.case_id)
        .join(ServiceItem, ServiceItem.id == Rating.item_id)
        .join(Org, Org.id == Rectification.org_id)
    )
    if org_ids is not None:
        q = q.where(Rectification.org_id.in_(org_ids or [-1]))
    if status is not None:
        q = q.where(Rectification.status == status)
    if only is not None:
        q = q.where(Rectification.id == only)
    if rated_from is not None:
        q = q.where(Rating.rated_on >= rated_from)
    if rated_to is not None:
        q = q.where(Rating.rated_on <= rated_to)
    rows = s.execute(q.order_by(order, Rectification.due_on, Rectification.id).limit(limit)).all()
    cal = calendar.calendar(s)
    return [
        rectification_out(
            s,
            r,
            today,
            {
                "case_number": number,
                "applicant_name": applicant,
                "item_name": item_name,
                "org_name": org_name,
                "level": rating.level,
                "level_zh": LEVELS[rating.level],
                "comment": rating.comment,
                "channel": rating.channel,
                "rated_on": rating.rated_on,
            },
            cal,
        )
        for r, rating, number, applicant, item_name, org_name in rows
    ]


def my_rectifications(s: Session, me: Principal, status: str | None = None, limit: int = LIMIT) -> list:
    """What the caller's departments owe (accept/review) and what they supervise."""
    return rectifications(s, org_scope(s, me, ACCEPT, REVIEW, SUPERVISE), status, limit)


# --- the supervision board ----------------------------------------------------------------------------------


def board_context(s: Session, principal: Principal, today: dt.date | None = None) -> dict[str, Any]:
    """The context of templates/approvals/_rating_stats.html, under the key `rating_stats`: the last
    BOARD_DAYS days by department, and the latest bad ratings with their rectification status, within the
    caller's approvals.supervise organizations. `allowed` is False (and the rest empty) for others."""
    today = today or shanghai_today()
    start = today - dt.timedelta(days=BOARD_DAYS - 1)
    if not principal.can(SUPERVISE):
        empty = {"allowed": False, "from": start, "to": today, "total": None, "rows": [], "bad": []}
        return {"rating_stats": empty}
    orgs = org_scope(s, principal, SUPERVISE)
    got = stats(s, "department", start, today, orgs, today)
    return {
        "rating_stats": {
            "allowed": True,
            "from": start,
            "to": today,
            "total": got["total"],
            "rows": got["rows"],
            "bad": rectifications(s, orgs, None, 20, today, rated_from=start, rated_to=today),
        }
    }


def rectification_row(s: Session, rectification_id: int, today: dt.date | None = None) -> dict[str, Any]:
    """One rectification as the list shows it (case, item, department, rating)."""
    rows = rectifications(s, None, None, 1, today, only=rectification_id)
    if not rows:
        raise NotFound(f"整改任务 {rectification_id} 不存在", f"rectification {rectification_id} not found")
    return rows[0]

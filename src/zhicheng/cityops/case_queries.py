"""Reads of cases shared by the API (and later the console and the dashboard): filtered lists by keyset,
one case with its timeline, reporters and photos, coordinates in the system asked for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from zhicheng.cityops import vocab
from zhicheng.cityops.categories import key_of, parse_key
from zhicheng.cityops.models import Case, CaseEvent, Category, Follower, Grid, Photo, Reporter
from zhicheng.core.errors import Forbidden, Invalid, NotFound
from zhicheng.core.geo import crs as C
from zhicheng.core.geo.point import Point
from zhicheng.core.orgs.codes import division_prefix

_ROW = (
    select(Case, Category.kind, Category.code, Category.name, Grid.code)
    .join(Category, Category.id == Case.category_id)
    .join(Grid, Grid.id == Case.grid_id)
)


def overdue(case: Case, today: dt.date) -> bool:
    if case.status == "registered":
        return case.dispatch_due_on is not None and case.dispatch_due_on < today
    if case.status in vocab.HANDLING:
        return case.handle_due_on is not None and case.handle_due_on < today
    return False


def cases(
    s: Session,
    today: dt.date,
    *,
    status: str | None = None,
    category: str | None = None,
    department: int | None = None,
    grid: str | None = None,
    division: str | None = None,
    is_overdue: bool | None = None,
    follower: int | None = None,
    limit: int = 50,
    after: int | None = None,
) -> list[Any]:
    """Cases, newest first (by id, descending), with their category and grid code."""
    stmt = _ROW.order_by(Case.id.desc())
    if status:
        if status not in vocab.STATUSES:
            raise Invalid(f"未知的案卷状态：{status}", f"unknown status: {status}")
        stmt = stmt.where(Case.status == status)
    if category:
        kind, code = parse_key(category)
        stmt = stmt.where(Category.kind == kind, Category.code == code)
    if department:
        stmt = stmt.where(Case.department_id == department)
    if grid:
        stmt = stmt.where(Grid.code == grid)
    if division:
        stmt = stmt.where(Case.division_code.startswith(division_prefix(division)))
    late = or_(
        and_(Case.status == "registered", Case.dispatch_due_on < today),
        and_(Case.status.in_(vocab.HANDLING), Case.handle_due_on < today),
    )
    if is_overdue is True:
        stmt = stmt.where(late)
    if follower is not None:
        stmt = stmt.where(
            or_(
                Case.id.in_(select(Follower.case_id).where(Follower.user_id == follower)),
                Case.id.in_(select(Reporter.case_id).where(Reporter.user_id == follower)),
            )
        )
    if after:
        stmt = stmt.where(Case.id < after)
    return list(s.execute(stmt.limit(limit)).all())


def one(s: Session, case_id: int) -> Any:
    row = s.execute(_ROW.where(Case.id == case_id)).first()
    if row is None:
        raise NotFound(f"案卷 {case_id} 不存在", f"case {case_id} not found")
    return row


def shown(row: Any, today: dt.date, crs: str | None = None) -> dict[str, Any]:
    case, kind, code, name, grid_code = row
    return {
        "id": case.id,
        "number": case.number,
        "channel": case.channel,
        "category": key_of(kind, code),
        "category_name": name,
        "grid_code": grid_code,
        "division_code": case.division_code,
        "point": Point(case.lng, case.lat).as_dict(crs),
        "address": case.address,
        "description": case.description,
        "status": case.status,
        "department_id": case.department_id,
        "routed_department_id": case.routed_department_id,
        "report_count": case.report_count,
        "reported_at": case.reported_at,
        "registered_on": case.registered_on,
        "dispatched_on": case.dispatched_on,
        "handled_on": case.handled_on,
        "closed_on": case.closed_on,
        "dispatch_due_on": case.dispatch_due_on,
        "handle_due_on": case.handle_due_on,
        "overdue": overdue(case, today),
        "on_time": case.on_time,
        "extension_requested": case.extension_requested,
        "extension_days": case.extension_days,
        "rework_count": case.rework_count,
        "reason": case.reason,
        "evaluation": case.evaluation,
        "work_order_no": case.work_order_no,
        "callback_result": case.callback_result,
        "satisfaction": case.satisfaction,
        "escalated": case.escalated_at is not None,
    }


def is_follower(s: Session, case_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return bool(
        s.scalar(select(Follower.id).where(Follower.case_id == case_id, Follower.user_id == user_id))
        or s.scalar(
            select(Reporter.id).where(Reporter.case_id == case_id, Reporter.user_id == user_id).limit(1)
        )
    )


def require_view(s: Session, case_id: int, staff: bool, user_id: int | None) -> None:
    """Staff (cityops.read) see every case; a citizen the cases they reported or follow."""
    if not staff and not is_follower(s, case_id, user_id):
        raise Forbidden("无权查看该案卷", "no access to this case")


def detail(
    s: Session,
    case_id: int,
    today: dt.date,
    crs: str | None,
    staff: bool,
    personal: bool,
    user_id: int | None,
) -> dict[str, Any]:
    """The case, its timeline (internal events for staff only), reporters (names and phones only when
    `personal`; a citizen sees only their own report) and photos."""
    out = shown(one(s, case_id), today, crs)
    events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    out["timeline"] = [
        {k: getattr(e, k) for k in ("id", "at", "kind", "status", "actor", "public", "note", "data")}
        for e in events
        if staff or e.public
    ]
    reporters = s.scalars(select(Reporter).where(Reporter.case_id == case_id).order_by(Reporter.id))
    out["reporters"] = [
        {
            "id": r.id,
            "channel": r.channel,
            "name": r.name if personal or r.user_id == user_id else None,
            "phone": r.phone if personal or r.user_id == user_id else None,
            "external_id": r.external_id if staff else None,
            "text": r.text,
            "at": r.at,
        }
        for r in reporters
        if staff or r.user_id == user_id
    ]
    if not personal:
        out["caller_name"] = None
    photos = s.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id))
    out["photos"] = [
        {k: getattr(p, k) for k in ("id", "stage", "media_type", "size", "sm3", "added_at")} for p in photos
    ]
    out["following"] = bool(
        user_id
        and s.scalar(select(Follower.id).where(Follower.case_id == case_id, Follower.user_id == user_id))
    )
    if crs is not None:
        C.system(crs)
    return out


# --- console reads (cityops/*_views.py): queues by due date, choices for forms, who may act where ----------
from sqlalchemy import case as when  # noqa: E402

from zhicheng.core.calendar.clock import clock_status  # noqa: E402
from zhicheng.core.orgs.models import Org  # noqa: E402


def category_choices(s: Session) -> list[dict[str, Any]]:
    """Active categories for a form's select, grouped by kind and 大类 (by code)."""
    rows = s.execute(
        select(Category.kind, Category.code, Category.major_name, Category.name)
        .where(Category.active.is_(True))
        .order_by(Category.kind, Category.code)
    ).all()
    return [
        {"key": key_of(r.kind, r.code), "kind": r.kind, "code": r.code, "major": r.major_name, "name": r.name}
        for r in rows
    ]


def department_choices(s: Session) -> list[tuple[int, str]]:
    """Active departments and governments a case can be dispatched to, by name."""
    rows = s.execute(
        select(Org.id, Org.name)
        .where(Org.active.is_(True), Org.kind.in_(("department", "government")))
        .order_by(Org.name, Org.id)
        .limit(1000)
    ).all()
    return [(r.id, r.name) for r in rows]


def org_names(s: Session, ids: Any) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {r.id: r.name for r in s.execute(select(Org.id, Org.name).where(Org.id.in_(wanted)))}


def case_paths(s: Session, case_id: int) -> tuple[str | None, str | None]:
    """The org paths that decide who acts on a case: its grid's organization and its department's."""
    grid_path = s.scalar(
        select(Org.path)
        .join(Grid, Grid.org_id == Org.id)
        .join(Case, Case.grid_id == Grid.id)
        .where(Case.id == case_id)
    )
    dept_path = s.scalar(select(Org.path).join(Case, Case.department_id == Org.id).where(Case.id == case_id))
    return grid_path, dept_path


def _under(paths: list[str]) -> Any:
    return select(Org.id).where(or_(*[Org.path.startswith(p) for p in paths]))


def queue(
    s: Session,
    *,
    statuses: tuple[str, ...] = (),
    grid_paths: list[str] | None = None,
    dept_paths: list[str] | None = None,
    extension_pending: bool = False,
    callback_pending: bool = False,
    limit: int = 100,
) -> list[Any]:
    """One work queue of the console: cases in `statuses` (or with an extension request pending, or closed
    12345 cases not called back yet) over the grids whose organization lies under `grid_paths` (the centres)
    or dispatched to a department under `dept_paths`; the earliest due date first (dispatch clock while
    registered, else the handle clock), cases without one last, oldest first."""
    if (grid_paths is not None and not grid_paths) or (dept_paths is not None and not dept_paths):
        return []
    due = when((Case.status == "registered", Case.dispatch_due_on), else_=Case.handle_due_on)
    stmt = _ROW.order_by(due.is_(None), due, Case.id).limit(limit)
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    if extension_pending:
        stmt = stmt.where(Case.extension_requested.is_not(None), Case.status.in_(vocab.HANDLING))
    if callback_pending:
        stmt = stmt.where(
            Case.status.in_(("closed", "evaluated")),
            Case.satisfaction.is_(None),
            or_(Case.channel == "hotline", Case.work_order_no.is_not(None)),
        )
    if grid_paths is not None:
        stmt = stmt.where(Grid.org_id.in_(_under(grid_paths)))
    if dept_paths is not None:
        stmt = stmt.where(Case.department_id.in_(_under(dept_paths)))
    return list(s.execute(stmt).all())


def clock_of(case: Case, cal: Any, today: dt.date, warn_days: int) -> dict[str, Any]:
    """What the `due` macro (web/templates/_clock.html) shows for a case: the dispatch clock while registered,
    the handle clock while a department has it; none otherwise, with on time or not once fed back."""
    running = case.status == "registered" or case.status in vocab.HANDLING
    due = case.dispatch_due_on if case.status == "registered" else case.handle_due_on
    if not running:
        due = None
    remaining = cal.remaining(due, today) if due is not None else None
    return {
        "due_on": due,
        "remaining_workdays": remaining,
        "clock_status": clock_status(remaining, not running, warn_days),
        "escalated_at": case.escalated_at if running else None,
        "on_time": case.on_time if case.status not in vocab.HANDLING else None,
    }

"""The closed loop after intake (数字化城市管理 seven steps): 立案 or cancel by the supervision centre,
dispatch by the command centre (by routing rule or by hand), handling and feedback with photos by the
department, 核查结案 or 返工 by the supervision centre, 综合评价; and 退回, 争议, 延期, 回访 with
satisfaction, comments, follows, and the overdue sweep.

Clocks (core.calendar, working days): the dispatch clock runs from 立案 (category.dispatch_days), the handle
clock from each dispatch or rework (category.handle_days) and stops at feedback, return or dispute. An
extension replaces the handle clock by one with the same start and a larger budget, so the due date moves
on the official calendar. Due dates are copied onto the case (models.Case) for index range scans.

`can(permission, org_path)` is the caller's permission test (Principal.can); the grid's organization is
the place for the centres' permissions, the department's for the department's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, literal, or_, select

from zhicheng.cityops import categories, vocab
from zhicheng.cityops.models import Case, CaseEvent, Category, Follower, Grid, Photo
from zhicheng.cityops.permissions import COMMAND, HANDLE, SUPERVISE
from zhicheng.cityops.schemas import ActionIn
from zhicheng.core.auth.models import Role, RoleGrant, User
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Forbidden, Invalid, NotFound
from zhicheng.core.notify import services as notify
from zhicheng.core.notify import templates
from zhicheng.core.orgs.models import Org

Can = Callable[[str, str | None], bool]
DISPATCH_CLOCK = "cityops:dispatch"
HANDLE_CLOCK = "cityops:handle"
STEP = templates.register("cityops.case.step", "案卷 {number}", "{text}")
# who acts: the permission and whose organization it must hold over
ACTORS = {
    "register": (SUPERVISE, "grid"),
    "cancel": (SUPERVISE, "grid"),
    "verify": (SUPERVISE, "grid"),
    "reject": (SUPERVISE, "grid"),
    "evaluate": (SUPERVISE, "grid"),
    "callback": (SUPERVISE, "grid"),
    "dispatch": (COMMAND, "grid"),
    "accept": (HANDLE, "department"),
    "feedback": (HANDLE, "department"),
    "return": (HANDLE, "department"),
    "dispute": (HANDLE, "department"),
}
ACTIONS = (*ACTORS, "extend")
NEEDS_REASON = ("cancel", "reject", "return", "dispute")


def _everyone(_permission: str, _path: str | None) -> bool:
    return True


def load(uow: UnitOfWork, case_id: int) -> Case:
    case = uow.session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"案卷 {case_id} 不存在", f"case {case_id} not found")
    return case


def _path(uow: UnitOfWork, org_id: int | None) -> str | None:
    return None if org_id is None else uow.session.scalar(select(Org.path).where(Org.id == org_id))


def grid_path(uow: UnitOfWork, case: Case) -> str | None:
    return uow.session.scalar(
        select(Org.path).join(Grid, Grid.org_id == Org.id).where(Grid.id == case.grid_id)
    )


def _require(uow: UnitOfWork, case: Case, permission: str, place: str, can: Can) -> None:
    path = grid_path(uow, case) if place == "grid" else _path(uow, case.department_id)
    if path is None or not can(permission, path):
        who = {SUPERVISE: "监督中心", COMMAND: "指挥中心", HANDLE: "承办部门"}[permission]
        raise Forbidden(
            f"只有该案卷的{who}可以办理此操作", f"only the case's {permission} holders may do this"
        )


def _event(uow: UnitOfWork, case: Case, kind: str, note: str = "", public: bool = True, **data: Any) -> None:
    now = utcnow()
    uow.session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind=kind,
            status=case.status,
            actor=uow.actor.label,
            public=public,
            note=note,
            data=data,
        )
    )
    case.updated_at = now
    case.version += 1
    uow.record(f"cityops:case:{kind}", f"case:{case.id}", {"status": case.status, "note": note[:200], **data})
    if public:
        label = vocab.EVENT_LABELS.get(kind, kind)
        text = f"您关注的案卷 {case.number}：{label}（{vocab.STATUSES[case.status]}）" + (
            f"。{note}" if note else ""
        )
        for user_id in uow.session.scalars(select(Follower.user_id).where(Follower.case_id == case.id)):
            notify.enqueue(
                uow,
                channel="site",
                template=STEP,
                user_id=user_id,
                data={"number": case.number, "text": text},
                source=f"cityops:case:{case.id}",
            )


def _category(uow: UnitOfWork, case: Case) -> Category:
    return uow.session.get(Category, case.category_id)  # type: ignore[return-value]


def _stop(uow: UnitOfWork, clock_id: int | None, on: dt.date) -> None:
    if clock_id is None:
        return
    clock = uow.session.get(Clock, clock_id)
    if clock is not None and clock.state != "stopped":
        calendar.stop_clock(uow, clock_id, max(on, clock.started_on))


def _start_handle(uow: UnitOfWork, case: Case, on: dt.date, days: int, label: str) -> None:
    clock = calendar.start_clock(uow, HANDLE_CLOCK, f"{case.id}:{label}", on, days)
    case.handle_clock_id, case.handle_due_on, case.escalated_at = clock.id, clock.due_on, None


def step(
    uow: UnitOfWork, case_id: int, action: str, body: ActionIn, today: dt.date, can: Can = _everyone
) -> Case:
    """One step of the loop on one case. Conflict when the case's status does not allow it."""
    if action not in ACTIONS:
        raise NotFound(f"未知的操作：{action}", f"unknown action: {action}")
    case = load(uow, case_id)
    if action == "extend":
        return _extend(uow, case, body, today, can)
    permission, place = ACTORS[action]
    _require(uow, case, permission, place, can)
    reason = " ".join((body.reason or "").split())
    note = (body.note or "").strip()
    if action in NEEDS_REASON and not reason:
        raise Invalid("请说明理由", "a reason is required")
    if action == "callback":
        return _callback(uow, case, body, note)
    allowed, target = vocab.STEPS[action]
    if case.status not in allowed:
        raise Conflict(
            f"案卷当前为“{vocab.STATUSES[case.status]}”，不能{vocab.EVENT_LABELS[action]}",
            f"the case is {case.status}; cannot {action}",
            status=case.status,
        )
    data: dict[str, Any] = {}
    if action == "register":
        clock = calendar.start_clock(
            uow, DISPATCH_CLOCK, str(case.id), today, _category(uow, case).dispatch_days
        )
        case.dispatch_clock_id, case.dispatch_due_on, case.registered_on = clock.id, clock.due_on, today
    elif action == "dispatch":
        data["department_id"] = _dispatch(uow, case, body.department_id, today)
    elif action == "feedback":
        _require_after_photo(uow, case)
        _stop(uow, case.handle_clock_id, today)
        case.handled_on = today
        case.on_time = case.handle_due_on is None or today <= case.handle_due_on
        case.extension_requested = None
    elif action == "reject":
        case.rework_count += 1
        _start_handle(uow, case, today, _category(uow, case).handle_days, f"rework{case.rework_count}")
    elif action == "verify":
        case.closed_on = today
    elif action == "evaluate":
        if body.evaluation is None:
            raise Invalid("请选择评价等次", "an evaluation (excellent, good, poor) is required")
        case.evaluation, case.evaluated_on = body.evaluation, today
        data["evaluation"] = body.evaluation
    elif action in ("return", "dispute"):
        _stop(uow, case.handle_clock_id, today)
        case.extension_requested = None
    if reason:
        case.reason = reason
    case.status = target
    _event(uow, case, action, reason or note, **data)
    return case


def _dispatch(uow: UnitOfWork, case: Case, department_id: int | None, today: dt.date) -> int:
    if department_id is None:
        conn = uow.session.connection()
        code = uow.session.scalar(select(Grid.code).where(Grid.id == case.grid_id)) or ""
        table = categories.table(conn, conn.engine.url.render_as_string(hide_password=False))
        department_id = table.route(case.category_id, code)
        if department_id is None:
            raise Invalid(
                "没有适用的派遣规则，请指定处置部门", "no routing rule applies; name the department_id"
            )
    if uow.session.scalar(select(Org.id).where(Org.id == department_id, Org.active.is_(True))) is None:
        raise Invalid(
            f"处置部门 {department_id} 不存在或已停用", f"department {department_id} missing or inactive"
        )
    _stop(uow, case.dispatch_clock_id, today)
    case.department_id, case.dispatched_on = department_id, today
    _start_handle(uow, case, today, _category(uow, case).handle_days, f"dispatch{case.version}")
    return department_id


def _require_after_photo(uow: UnitOfWork, case: Case) -> None:
    """Feedback needs an after photo taken since the last dispatch or failed check."""
    since = uow.session.scalar(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(("dispatch", "reject")))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    stmt = select(Photo.id).where(Photo.case_id == case.id, Photo.stage == "after")
    if since is not None:
        stmt = stmt.where(Photo.added_at >= since)
    if uow.session.scalar(stmt.limit(1)) is None:
        raise Invalid("处置反馈须附处置后照片", "feedback needs at least one after photo of the work")


def _extend(uow: UnitOfWork, case: Case, body: ActionIn, today: dt.date, can: Can) -> Case:
    if body.approve is None:  # the department asks
        _require(uow, case, HANDLE, "department", can)
        if case.status not in vocab.HANDLING:
            raise Conflict("只有处置中的案卷可以申请延期", "only a case being handled can ask for more time")
        if body.days is None:
            raise Invalid("请填写申请延期的工作日数", "say how many working days (days)")
        if case.extension_requested is not None:
            raise Conflict("已有待审批的延期申请", "an extension request is pending already")
        case.extension_requested = body.days
        _event(uow, case, "extension_request", (body.reason or "").strip(), days=body.days)
        return case
    _require(uow, case, COMMAND, "grid", can)
    if case.extension_requested is None or case.status not in vocab.HANDLING:
        raise Conflict("没有待审批的延期申请", "no extension request is pending")
    days, case.extension_requested = case.extension_requested, None
    if not body.approve:
        _event(uow, case, "extension_refuse", (body.reason or "").strip(), days=days)
        return case
    old = uow.session.get(Clock, case.handle_clock_id) if case.handle_clock_id else None
    start = old.started_on if old else today
    budget = (old.budget_days if old else 0) + days
    _stop(uow, case.handle_clock_id, today)
    case.extension_days += days
    before = case.handle_due_on
    _start_handle(uow, case, start, budget, f"extension{case.version}")
    _event(
        uow,
        case,
        "extension_grant",
        (body.reason or "").strip(),
        days=days,
        due_on=[before.isoformat() if before else None, case.handle_due_on.isoformat()],  # type: ignore[union-attr]
    )
    return case


def _callback(uow: UnitOfWork, case: Case, body: ActionIn, note: str) -> Case:
    if case.channel != "hotline" and case.work_order_no is None:
        raise Conflict("只有 12345 热线案卷需要回访", "only 12345 hotline cases get a follow-up call")
    if case.status not in ("closed", "evaluated"):
        raise Conflict("结案后才能回访", "the follow-up call comes after closing")
    if body.satisfaction is None:
        raise Invalid("请记录满意度（1–5）", "record the satisfaction (1-5)")
    case.callback_result, case.satisfaction = note or case.callback_result, body.satisfaction
    _event(uow, case, "callback", note, satisfaction=body.satisfaction)
    return case


def comment(uow: UnitOfWork, case_id: int, text: str, public: bool = True) -> Case:
    case = load(uow, case_id)
    text = text.strip()
    if not text:
        raise Invalid("留言不能为空", "the comment is empty")
    _event(uow, case, "comment", text[:2000], public=public)
    return case


def follow(uow: UnitOfWork, case_id: int, user_id: int, on: bool = True) -> bool:
    case = load(uow, case_id)
    row = uow.session.scalar(select(Follower).where(Follower.case_id == case.id, Follower.user_id == user_id))
    if on and row is None:
        uow.session.add(Follower(case_id=case.id, user_id=user_id, at=utcnow()))
    elif not on and row is not None:
        uow.session.delete(row)
    uow.record("cityops:case:" + ("follow" if on else "unfollow"), f"case:{case.id}", {"user_id": user_id})
    return on


def sweep(uow: UnitOfWork, today: dt.date) -> int:
    """Escalate (once per clock) the cases past their dispatch or handle due date, after copying due dates a
    calendar edit moved. Returns how many were escalated."""
    s = uow.session
    moved = s.execute(
        select(Case, Clock.due_on)
        .join(Clock, Clock.id == Case.handle_clock_id)
        .where(Case.status.in_(vocab.HANDLING), Clock.due_on != Case.handle_due_on)
    ).all()
    for case, due in moved:
        case.handle_due_on = due
    if moved:
        uow.record("cityops:case:resync", "cases", {"count": len(moved)})
        s.flush()
    late = s.scalars(
        select(Case)
        .where(
            Case.escalated_at.is_(None),
            or_(
                and_(Case.status == "registered", Case.dispatch_due_on < today),
                and_(Case.status.in_(vocab.HANDLING), Case.handle_due_on < today),
            ),
        )
        .order_by(Case.id)
        .limit(1000)
    ).all()
    now = utcnow()
    centres: dict[str, list[int]] = {}
    for case in late:
        case.escalated_at = now
        due = case.dispatch_due_on if case.status == "registered" else case.handle_due_on
        _event(uow, case, "escalated", "超期督办", public=False, due_on=due.isoformat() if due else None)
        _tell_command(uow, case, due, centres)
    return len(late)


def command_centre(uow: UnitOfWork, path: str) -> list[int]:
    """Active users granted, over the organization at `path` or one above it, a role that names
    cityops.command (the command centre; a role of every permission, "*", is not told)."""
    rows = uow.session.execute(
        select(RoleGrant.user_id, Role.permissions)
        .join(Role, Role.code == RoleGrant.role_code)
        .join(User, User.id == RoleGrant.user_id)
        .join(Org, Org.id == RoleGrant.org_id)
        .where(User.active.is_(True), Org.active.is_(True), literal(path).like(Org.path + "%"))
    ).all()
    return sorted({user_id for user_id, held in rows if COMMAND in (held or ())})


def _tell_command(uow: UnitOfWork, case: Case, due: dt.date | None, centres: dict[str, list[int]]) -> None:
    """A site message to the command centre over the case's grid, once per escalation (dedupe key)."""
    path = grid_path(uow, case)
    if path is None:
        return
    if path not in centres:
        centres[path] = command_centre(uow, path)
    clock = "dispatch" if case.status == "registered" else "handle"
    when = due.isoformat() if due else "-"
    text = f"案卷 {case.number}（{vocab.STATUSES[case.status]}）已超过期限 {when}，已超期督办"
    for user_id in centres[path]:
        notify.enqueue(
            uow,
            channel="site",
            template=STEP,
            user_id=user_id,
            data={"number": case.number, "text": text},
            dedupe_key=f"cityops:case:{case.id}:escalated:{clock}:{when}:{user_id}",
            source=f"cityops:case:{case.id}",
        )

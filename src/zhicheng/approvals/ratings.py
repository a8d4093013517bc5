"""好差评 (国办发〔2019〕51号): rating a finished case, and the rectification (整改) every bad rating opens.

- rate: the case's applicant (online, app, sms, hotline) or a window clerk recording the window device's
  rating (channel window) rates a case once it is final (completed, refused, rejected, terminated); once per
  case. Level 5 非常满意 … 1 非常不满意; 2 and 1 are bad reviews (差评).
- a bad rating opens a rectification task for the item's implementing department (实施主体), on a working-day
  clock of ZHICHENG_APPROVALS_RECTIFICATION_DAYS (default 15), and leaves a site message to the department's
  users who can answer it (roles granted over that department carrying approvals.accept or approvals.review).
- answer: the department (approvals.accept or approvals.review over it) reports what it rectified (整改情况);
  the clock stops.
- follow_up: a supervisor (approvals.supervise over the department) visits the applicant (回访): satisfied
  closes the task; unsatisfied reopens it for a new round on a new clock (the department is told again).
- sweep_rectifications: open or reopened tasks past their due date are escalated once per round
  (escalated_at set, the supervisors told, audited); due dates moved by a calendar edit are copied again.

Every write is audited in the same transaction (approvals:rating:create, approvals:rectification:open |
answer | close | reopen | escalate)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from zhicheng.approvals import access, cases, clocks
from zhicheng.approvals.models import Case, ServiceItem
from zhicheng.approvals.permissions import ACCEPT, REVIEW, SUPERVISE
from zhicheng.approvals.queries import org_path
from zhicheng.approvals.rating_models import Rating, Rectification
from zhicheng.approvals.vocab import FINAL_STATUSES
from zhicheng.core.auth.models import Role, RoleGrant, User
from zhicheng.core.auth.permissions import ALL
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Forbidden, Invalid, NotFound
from zhicheng.core.notify import services as notify
from zhicheng.core.notify import templates
from zhicheng.core.orgs.models import Org

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD = 2  # this level and below is a bad review
CHANNELS = {
    "online": "网上办事大厅",
    "app": "移动端",
    "window": "窗口评价器",
    "sms": "短信",
    "hotline": "12345热线",
}
STATUS = {"open": "待整改", "answered": "待回访", "reopened": "重新整改", "closed": "整改完成"}
ACTIVE = ("open", "reopened")  # the department owes an answer; the clock runs
RESULTS = {"satisfied": "满意", "unsatisfied": "不满意"}
CLOCK_OWNER = "approvals:rectification"
DEFAULT_DAYS = 15
COMMENT_MAX = 1000
ANSWER_MIN = 10
BATCH = 500

TELL = templates.register("approvals.rectification", "差评整改 {case_number}", "{text}")


def is_bad(level: int) -> bool:
    return level <= BAD


# --- rating -------------------------------------------------------------------------------------------------


def rate(
    uow: UnitOfWork,
    me: Principal,
    case_id: int,
    level: Any,
    comment: str = "",
    channel: str = "online",
    days: int = DEFAULT_DAYS,
    today: dt.date | None = None,
) -> Rating:
    """Rate a final case (once). A bad rating opens its rectification task in the same transaction."""
    today = today or shanghai_today()
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise Invalid("评价等级应为 1 到 5", "the level must be 1 to 5")
    if channel not in CHANNELS:
        raise Invalid(
            f"评价渠道应为 {'、'.join(CHANNELS)} 之一", f"channel must be one of {', '.join(CHANNELS)}"
        )
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise Invalid(f"评价内容最多 {COMMENT_MAX} 字", f"the comment is at most {COMMENT_MAX} characters")
    s = uow.session
    case = cases.lock(uow, case_id)
    if access.is_applicant(s, me, case):
        if channel == "window":
            raise Invalid(
                "窗口评价器的评价由窗口工作人员登记", "window-device ratings are recorded by the window"
            )
    elif me.can(ACCEPT, org_path(s, case.window_org_id)):
        channel = "window"  # the clerk records what the applicant pressed on the window's device
    else:
        raise Forbidden(
            "只有申请人或受理窗口可以评价该办件", "only the applicant or the window may rate this case"
        )
    if case.status not in FINAL_STATUSES:
        raise Conflict(
            f"办件 {case.number} 尚未办结，办结后才能评价", f"case {case.number} is not finished yet"
        )
    if s.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
        raise Conflict(f"办件 {case.number} 已评价过", f"case {case.number} has been rated already")
    item = s.get(ServiceItem, case.item_id)
    snap = cases.item_snapshot(s, case)
    rating = Rating(
        case_id=case.id,
        item_id=case.item_id,
        org_id=snap.get("org_id") or item.org_id,
        deciding_org_id=snap.get("deciding_org_id", item.deciding_org_id),
        window_org_id=case.window_org_id,
        party_id=case.party_id,
        level=level,
        channel=channel,
        comment=comment,
        rated_by=uow.actor.label,
        rated_on=today,
        created_at=utcnow(),
    )
    s.add(rating)
    s.flush()
    cases.event(uow, case, "rated", today, f"评价：{LEVELS[level]}", level=level, channel=channel)
    uow.record(
        "approvals:rating:create",
        f"case:{case.id}",
        {"rating": rating.id, "level": level, "channel": channel, "org_id": rating.org_id},
    )
    if is_bad(level):
        _open(uow, case, rating, days, today)
    return rating


def _open(uow: UnitOfWork, case: Case, rating: Rating, days: int, today: dt.date) -> Rectification:
    clock = calendar.start_clock(uow, CLOCK_OWNER, f"{rating.id}:1", today, days)
    row = Rectification(
        rating_id=rating.id,
        case_id=case.id,
        org_id=rating.org_id,
        status="open",
        round=1,
        clock_id=clock.id,
        due_on=clock.due_on,
        opened_at=utcnow(),
        history=[],
    )
    uow.session.add(row)
    uow.session.flush()
    note = f"差评整改，应于 {row.due_on} 前完成"
    cases.event(uow, case, "rectification", today, note, public=False, rectification=row.id)
    uow.record(
        "approvals:rectification:open",
        f"case:{case.id}",
        {"rectification": row.id, "org_id": row.org_id, "days": days, "due_on": row.due_on.isoformat()},
    )
    text = f"办件 {case.number} 收到差评（{LEVELS[rating.level]}），请于 {row.due_on} 前整改"
    _tell_department(uow, row, case, text)
    return row


# --- rectification ------------------------------------------------------------------------------------------


def lock(uow: UnitOfWork, rectification_id: int) -> Rectification:
    row = uow.session.get(Rectification, rectification_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(f"整改任务 {rectification_id} 不存在", f"rectification {rectification_id} not found")
    return row


def can_answer(s: Session, me: Principal, row: Rectification) -> bool:
    path = org_path(s, row.org_id)
    return me.can(ACCEPT, path) or me.can(REVIEW, path)


def can_follow_up(s: Session, me: Principal, row: Rectification) -> bool:
    return me.can(SUPERVISE, org_path(s, row.org_id))


def answer(
    uow: UnitOfWork, me: Principal, rectification_id: int, text: str, today: dt.date | None = None
) -> Rectification:
    """整改情况 from the responsible department; the clock stops and the task waits for the follow-up."""
    today = today or shanghai_today()
    s = uow.session
    row = lock(uow, rectification_id)
    if not can_answer(s, me, row):
        raise Forbidden("该整改任务不属于您所在的部门", "this rectification belongs to another department")
    if row.status not in ACTIVE:
        raise Conflict(
            f"整改任务当前为“{STATUS[row.status]}”，不能再报送整改情况",
            f"the rectification is {row.status}; it cannot be answered now",
        )
    text = (text or "").strip()
    if not ANSWER_MIN <= len(text) <= 4000:
        raise Invalid(
            f"请说明整改情况（{ANSWER_MIN} 到 4000 字）",
            f"describe the rectification ({ANSWER_MIN} to 4000 characters)",
        )
    clocks.stop(uow, row.clock_id, today)
    row.status, row.answer, row.answered_at, row.answered_by = "answered", text, utcnow(), uow.actor.label
    row.version += 1
    case = s.get(Case, row.case_id)
    cases.event(uow, case, "rectified", today, f"整改情况：{text}", public=False, rectification=row.id)
    uow.record(
        "approvals:rectification:answer",
        f"case:{row.case_id}",
        {"rectification": row.id, "round": row.round, "answer": text},
    )
    return row


def follow_up(
    uow: UnitOfWork,
    me: Principal,
    rectification_id: int,
    satisfied: bool,
    note: str = "",
    days: int = DEFAULT_DAYS,
    today: dt.date | None = None,
) -> Rectification:
    """回访: satisfied closes the task; unsatisfied reopens it for another round on a new clock."""
    today = today or shanghai_today()
    s = uow.session
    row = lock(uow, rectification_id)
    if not can_follow_up(s, me, row):
        raise Forbidden("只有督办人员可以回访该整改任务", "only the department's supervisors may follow up")
    if row.status != "answered":
        raise Conflict(
            f"整改任务当前为“{STATUS[row.status]}”，尚无可回访的整改情况",
            f"the rectification is {row.status}; there is no answer to follow up",
        )
    note = (note or "").strip()
    if not satisfied and len(note) < 2:
        raise Invalid("回访不满意时请说明原因", "state why the applicant is not satisfied")
    if len(note) > 2000:
        raise Invalid("回访记录最多 2000 字", "the follow-up note is at most 2000 characters")
    result = "satisfied" if satisfied else "unsatisfied"
    now = utcnow()
    row.follow_up_result, row.follow_up_note = result, note
    row.followed_up_at, row.followed_up_by = now, uow.actor.label
    row.history = [
        *row.history,
        {
            "round": row.round,
            "due_on": row.due_on.isoformat(),
            "answer": row.answer,
            "answered_by": row.answered_by,
            "answered_at": row.answered_at.isoformat() if row.answered_at else None,
            "escalated_at": row.escalated_at.isoformat() if row.escalated_at else None,
            "result": result,
            "note": note,
            "by": uow.actor.label,
            "at": now.isoformat(),
        },
    ]
    row.version += 1
    case = s.get(Case, row.case_id)
    if satisfied:
        row.status, row.closed_at = "closed", now
        cases.event(uow, case, "rectification_closed", today, f"回访满意：{note}", public=False)
        change = {"rectification": row.id, "note": note}
        uow.record("approvals:rectification:close", f"case:{row.case_id}", change)
        return row
    row.round += 1
    clock = calendar.start_clock(uow, CLOCK_OWNER, f"{row.rating_id}:{row.round}", today, days)
    row.status, row.clock_id, row.due_on = "reopened", clock.id, clock.due_on
    row.answer = row.answered_at = row.answered_by = row.escalated_at = None
    cases.event(uow, case, "rectification_reopened", today, f"回访不满意：{note}", public=False)
    uow.record(
        "approvals:rectification:reopen",
        f"case:{row.case_id}",
        {"rectification": row.id, "round": row.round, "note": note, "due_on": row.due_on.isoformat()},
    )
    text = f"办件 {case.number} 的差评整改回访不满意（{note}），请于 {row.due_on} 前重新整改"
    _tell_department(uow, row, case, text)
    return row


def sweep_rectifications(uow: UnitOfWork, today: dt.date | None = None, limit: int = BATCH) -> int:
    """Copy due dates a calendar edit moved, then escalate, once per round, the open or reopened tasks
    past their due date: escalated_at is set, the supervisors of the department are told, it is audited.
    Returns how many were escalated."""
    today = today or shanghai_today()
    s = uow.session
    sub = select(Clock.due_on).where(Clock.id == Rectification.clock_id).scalar_subquery()
    s.execute(
        update(Rectification)
        .where(
            Rectification.status.in_(ACTIVE),
            Rectification.clock_id.is_not(None),
            Rectification.due_on != sub,
        )
        .values(due_on=sub)
        .execution_options(synchronize_session=False)
    )
    rows = s.execute(
        select(Rectification.id, Rectification.case_id, Rectification.org_id, Rectification.due_on)
        .where(
            Rectification.status.in_(ACTIVE),
            Rectification.due_on < today,
            Rectification.escalated_at.is_(None),
        )
        .order_by(Rectification.due_on, Rectification.id)
        .limit(limit)
    ).all()
    count = 0
    for rect_id, case_id, org_id, due in rows:
        moved = s.execute(
            update(Rectification)
            .where(
                Rectification.id == rect_id,
                Rectification.escalated_at.is_(None),
                Rectification.status.in_(ACTIVE),
            )
            .values(escalated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            continue
        case = s.get(Case, case_id)
        cases.event(
            uow,
            case,
            "rectification_escalated",
            today,
            f"差评整改超期（应于 {due} 前完成），已提请督办",
            public=False,
            rectification=rect_id,
        )
        uow.record(
            "approvals:rectification:escalate",
            f"case:{case_id}",
            {"rectification": rect_id, "org_id": org_id, "due_on": due.isoformat()},
        )
        late = f"办件 {case.number} 的差评整改已超期（应于 {due} 前完成）"
        for user_id in supervisors(s, org_id):
            notify.enqueue(
                uow,
                channel="site",
                template=TELL,
                data={"case_number": case.number, "text": late},
                recipient_user_id=user_id,
                dedupe_key=f"approvals:rectification:{rect_id}:escalate:{due.isoformat()}:{user_id}",
                source=f"approvals:rectification:{rect_id}",
            )
        count += 1
    return count


# --- who is told --------------------------------------------------------------------------------------------


def _holders(s: Session, grants: Any, permissions: tuple[str, ...]) -> list[int]:
    rows = s.execute(
        grants.join(Role, Role.code == RoleGrant.role_code)
        .join(User, User.id == RoleGrant.user_id)
        .where(User.active.is_(True))
        .add_columns(Role.permissions)
    ).all()
    found = {r[0] for r in rows if set(r[-1] or ()) & {*permissions, ALL}}
    return sorted(found)


def answerers(s: Session, org_id: int) -> list[int]:
    """Users granted, over the department itself, a role that may answer its rectifications."""
    return _holders(s, select(RoleGrant.user_id).where(RoleGrant.org_id == org_id), (ACCEPT, REVIEW))


def supervisors(s: Session, org_id: int) -> list[int]:
    """Users granted approvals.supervise over the department or an organization above it."""
    path = org_path(s, org_id)
    if not path:
        return []
    q = (
        select(RoleGrant.user_id)
        .join(Org, Org.id == RoleGrant.org_id)
        .where(literal(path).like(Org.path + "%"))
    )
    return _holders(s, q, (SUPERVISE,))


def _tell_department(uow: UnitOfWork, row: Rectification, case: Case, text: str) -> None:
    for user_id in answerers(uow.session, row.org_id):
        notify.enqueue(
            uow,
            channel="site",
            template=TELL,
            data={"case_number": case.number, "text": text, "rectification": row.id},
            recipient_user_id=user_id,
            dedupe_key=f"approvals:rectification:{row.id}:{row.round}:{user_id}",
            source=f"approvals:rectification:{row.id}",
        )

"""Console pages of the reviewers and deciders (审查待办): the inbox of open review and decide tasks of the
caller's departments, the fewest remaining working days first (overdue on top, yellow warnings, red overdue);
a task page with the case (form, materials, the whole timeline with internal events, the other departments'
parallel tasks of a joint review) and its actions: conclude (approve, or reject with reasons: the flow says
whether a rejection returns the case or ends it), pause for a hearing, testing or expert review and resume,
ask for corrections (补正), and the decision (准予 / 不予许可).

Reads go through approvals.queries/boards, writes only through the services (review, corrections), with the
API's per-case checks (access.py). When another reviewer acted first, the service answers 409 and the page
says so in words, with the page reloaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhicheng.approvals import access, boards, cases, config, corrections, flows, queries, review
from zhicheng.approvals.flowdef import KINDS, REVIEWS
from zhicheng.approvals.models import Task
from zhicheng.approvals.permissions import DECIDE, REVIEW
from zhicheng.approvals.schemas import CorrectionIn, DecideIn, PauseIn
from zhicheng.approvals.vocab import PAUSE_REASONS, TASK_STATUS
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.settings import Settings
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access as route_access

router = APIRouter(include_in_schema=False)
nav.add("一网通办", "审查待办", "/approvals/review", REVIEW, order=62)

QUEUES = {"review": REVIEW, "decide": DECIDE}
QUEUE_ZH = {"review": "审查", "decide": "决定"}
CLOCK_BADGE = {
    "ok": ("ok", "正常"),
    "warning": ("warn", "即将到期"),
    "overdue": ("bad", "已超期"),
    "paused": ("", "暂停计时"),
    "stopped": ("", "已停止"),
}
PAUSES = {k: v for k, v in PAUSE_REASONS.items() if k != "correction"}
RACE_ZH = "他人已先行办理，请刷新页面查看最新情况"
RACE_EN = "Someone else acted on this already; reload the page to see where it stands"
INBOX_LIMIT = 100
Text = Annotated[str, Form()]


def _queues(me: Principal) -> list[str]:
    return [q for q, perm in QUEUES.items() if me.paths(perm)]


# --- the inbox ----------------------------------------------------------------------------------------------


@router.get("/approvals/review")
@route_access(P.SELF)
def inbox(request: Request, s: Reader, me: Me, conf: Conf, queue: str = "", cursor: str | None = None) -> Any:
    """Open review and decide tasks of the caller's departments, the fewest working days left first."""
    mine = _queues(me)
    if not mine:
        raise Forbidden("您没有审查或决定的权限", "you hold neither approvals.review nor approvals.decide")
    if queue and queue not in mine:
        raise Invalid("待办类别应为审查或决定", "queue must be review or decide (one you hold)")
    shown = [queue] if queue else mine
    today, warn = shanghai_today(), config.warn_days(conf)
    rows: list[dict[str, Any]] = []
    nxt = None
    for q in shown:
        orgs = queries.org_ids_under(s, me.paths(QUEUES[q]))
        got, more = boards.inbox(s, orgs, q, INBOX_LIMIT, cursor if queue else None, today, warn)
        rows += got
        nxt = nxt or more
    if len(shown) > 1:  # one merged list: still the fewest working days left first
        rows.sort(key=lambda r: (r["remaining_workdays"], r["due_on"], r["id"]))
    return page(
        request,
        "approvals/review_inbox.html",
        {
            "rows": rows,
            "queue": queue,
            "queues": mine,
            "queue_zh": QUEUE_ZH,
            "badges": CLOCK_BADGE,
            "next_cursor": nxt if queue else None,
            "more": bool(nxt) and not queue,
            "warn_days": warn,
        },
    )


# --- one task -----------------------------------------------------------------------------------------------


def _task_page(
    request: Request,
    s: Session,
    me: Principal,
    conf: Settings,
    task_id: int,
    error: str | None = None,
    status: int = 200,
) -> Any:
    task = queries.task(s, task_id)
    case = queries.case(s, task.case_id)
    if not access.require_view(s, me, case):
        raise Forbidden("无权查看该审查任务", "no access to this task")
    warn = config.warn_days(conf)
    shown = queries.case_out(s, case, warn_days=warn, staff=True)
    flow = flows.parsed(flows.flow_of(s, case))
    stage = flow.stage(task.stage)
    on_reject = None
    if stage.kind in REVIEWS:
        back = stage.on_reject.action == "return"
        on_reject = {
            "action": stage.on_reject.action,
            "to": flow.stage(stage.on_reject.to or "").name if back else None,
        }
    path = queries.org_path(s, task.org_id)
    is_open = task.status == "open"
    current = is_open and case.stage == task.stage
    can_review = me.can(REVIEW, path)
    running = case.status == "in_progress"
    stage_now = flow.stage(case.stage)
    snap = cases.item_snapshot(s, case)
    return page(
        request,
        "approvals/review_task.html",
        {
            "task": task,
            "case": shown,
            "stage": stage,
            "kind_zh": KINDS,
            "task_zh": TASK_STATUS,
            "on_reject": on_reject,
            "parallel": [t for t in shown["tasks"] if t["stage"] == task.stage and t["round"] == task.round],
            "history": [
                t for t in shown["tasks"] if not (t["stage"] == task.stage and t["round"] == task.round)
            ],
            "timeline": queries.timeline(s, case.id, public_only=False),
            "badges": CLOCK_BADGE,
            "pauses": PAUSES,
            "materials_spec": snap.get("materials") or [],
            "fields_spec": snap.get("form") or [],
            "can_conclude": current and task.queue == "review" and can_review and running,
            "can_decide": current and task.queue == "decide" and me.can(DECIDE, path) and running,
            "can_pause": current and can_review and running and stage_now.kind in (*REVIEWS, "decide"),
            "can_resume": current and can_review and case.status == "suspended",
            "can_correct": current and can_review and running,
            "paused_note": case.status in ("suspended", "correcting"),
            "error": error,
        },
        status,
    )


@router.get("/approvals/review/tasks/{task_id}")
@route_access(P.SELF)
def task_page(request: Request, task_id: int, s: Reader, me: Me, conf: Conf) -> Any:
    return _task_page(request, s, me, conf, task_id)


def _act(
    request: Request,
    db: Database,
    me: Principal,
    conf: Settings,
    task_id: int,
    run: Callable[[UnitOfWork], Any],
    ok: tuple[str, str],
) -> Any:
    """Run one step in its own unit of work, as the API does; on a refused step show the task page again,
    reloaded, with the reason."""
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, Forbidden) or getattr(exc, "status", 0) == 404:
            raise
        message, status = failure(request, exc, (RACE_ZH, RACE_EN))
        with db.read() as s:
            return _task_page(request, s, me, conf, task_id, message, status)
    return done(f"/approvals/review/tasks/{task_id}", say(request, *ok))


def _version(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@router.post("/approvals/review/tasks/{task_id}/conclude")
@route_access(REVIEW)
def conclude(
    request: Request,
    task_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    decision: Text = "",
    reason: Text = "",
    version: Text = "",
) -> Any:
    """The department's conclusion; `version` is the task version the page showed (409 when it moved)."""

    def run(uow: UnitOfWork) -> None:
        if decision not in ("approve", "reject"):
            raise Invalid("请选择同意或不同意", "choose approve or reject")
        access.require_task(uow.session, me, queries.task(uow.session, task_id), REVIEW)
        review.conclude(uow, task_id, decision == "approve", reason, _version(version))

    ok = ("已提交审查意见", "Review conclusion recorded")
    return _act(request, db, me, conf, task_id, run, ok)


@router.post("/approvals/review/tasks/{task_id}/decide")
@route_access(DECIDE)
def decide(
    request: Request,
    task_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    decision: Text = "",
    reason: Text = "",
    version: Text = "",
) -> Any:
    """准予 / 不予许可; `version` is the case version the page showed."""

    def run(uow: UnitOfWork) -> None:
        if decision not in ("approve", "reject"):
            raise Invalid("请选择准予许可或不予许可", "choose approve or reject")
        body = DecideIn(approve=decision == "approve", reason=reason, version=_version(version))
        task = queries.task(uow.session, task_id)
        if task.queue != "decide":
            raise Invalid("该任务不是决定任务", "this is not a decision task")
        access.require_stage(uow.session, me, queries.case(uow.session, task.case_id), DECIDE)
        review.decide(uow, task.case_id, body.approve, body.reason, body.version)

    ok = ("已作出审批决定", "Decision recorded")
    return _act(request, db, me, conf, task_id, run, ok)


def _case_of(uow: UnitOfWork, me: Principal, task_id: int, permission: str) -> int:
    task: Task = queries.task(uow.session, task_id)
    case = queries.case(uow.session, task.case_id)
    access.require_stage(uow.session, me, case, permission)
    return case.id


@router.post("/approvals/review/tasks/{task_id}/pause")
@route_access(REVIEW)
def pause(
    request: Request, task_id: int, db: DB, me: Me, conf: Conf, reason: Text = "", note: Text = ""
) -> Any:
    """Stop the clocks for a hearing, testing, inspection, quarantine or expert review."""

    def run(uow: UnitOfWork) -> None:
        body = PauseIn(reason=reason, note=note)  # type: ignore[arg-type]
        review.pause(uow, _case_of(uow, me, task_id, REVIEW), body.reason, body.note)

    return _act(request, db, me, conf, task_id, run, ("已暂停计时", "Clocks paused"))


@router.post("/approvals/review/tasks/{task_id}/resume")
@route_access(REVIEW)
def resume(request: Request, task_id: int, db: DB, me: Me, conf: Conf) -> Any:
    def run(uow: UnitOfWork) -> None:
        review.resume(uow, _case_of(uow, me, task_id, REVIEW))

    return _act(request, db, me, conf, task_id, run, ("已恢复计时", "Clocks resumed"))


@router.post("/approvals/review/tasks/{task_id}/corrections")
@route_access(REVIEW)
def ask_corrections(
    request: Request,
    task_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    note: Text = "",
    materials: Annotated[list[str] | None, Form()] = None,
    fields: Annotated[list[str] | None, Form()] = None,
) -> Any:
    """补正 during review: every material and field to correct at once, with the reasons; the clocks pause
    until the applicant has supplied them."""

    def run(uow: UnitOfWork) -> None:
        body = CorrectionIn(materials=materials or [], fields=fields or [], note=note)
        corrections.request(uow, _case_of(uow, me, task_id, REVIEW), body)

    return _act(request, db, me, conf, task_id, run, ("已通知申请人补正", "Corrections requested"))

"""Console pages of 好差评: the applicant's rating form of a finished case (templates/approvals/_rating.html,
also shown on its own page), and the rectification tasks (整改任务): the list, one task with the
department's answer form and the supervisor's follow-up (回访) form. Writes go through approvals.ratings,
with the same per-object checks as the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from zhicheng.approvals import access, ratings
from zhicheng.approvals import ratings_queries as rq
from zhicheng.approvals.permissions import ACCEPT, APPLY, REVIEW, SUPERVISE
from zhicheng.approvals.queries import case as get_case
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access as route_access

router = APIRouter(include_in_schema=False)
nav.add("一网通办", "整改任务", "/approvals/rectifications", REVIEW, order=58)
nav.add("一网通办", "差评回访", "/approvals/rectifications?view=followup", SUPERVISE, order=59)

BADGES = {
    "ok": ("ok", "正常"),
    "warning": ("warn", "即将到期"),
    "overdue": ("bad", "已超期"),
    "stopped": ("", "已停止"),
}
Text = Annotated[str, Form()]


def _safe_next(value: str | None, fallback: str) -> str:
    value = (value or "").strip()
    return value if value.startswith("/") and not value.startswith("//") else fallback


# --- rating a case ------------------------------------------------------------------------------------------


def _rating_page(request: Request, s: Session, me: Principal, case_id: int, **extra: Any) -> Any:
    case = get_case(s, case_id)
    access.require_view(s, me, case)
    ctx = {**rq.rating_panel(s, me, case), **extra}
    return page(request, "approvals/_rating_page.html", ctx, extra.get("status", 200))


@router.get("/approvals/cases/{case_id}/rating")
@route_access(P.SELF)
def rating_page(request: Request, case_id: int, s: Reader, me: Me) -> Any:
    return _rating_page(request, s, me, case_id)


@router.post("/approvals/cases/{case_id}/rating")
@route_access(APPLY)
def rate(
    request: Request,
    case_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    level: Text = "",
    comment: Text = "",
    next: Text = "",  # noqa: A002 - the form field's name
) -> Any:
    back = _safe_next(next, f"/approvals/cases/{case_id}/rating")
    try:
        if not level.strip().isdigit():
            raise Invalid("请选择满意程度", "choose a level of satisfaction")
        with unit_of_work(db, me.actor) as uow:
            ratings.rate(uow, me, case_id, int(level), comment, "online", conf.approvals_rectification_days)
    except DomainError as exc:
        if exc.status == 404 or isinstance(exc, Forbidden):
            raise
        message, status = failure(request, exc)
        with db.read() as s:
            return _rating_page(request, s, me, case_id, error=message, status=status, typed=comment)
    return done(back, say(request, "感谢您的评价", "Thank you for your rating"))


# --- rectifications -----------------------------------------------------------------------------------------


@router.get("/approvals/rectifications")
@route_access(P.SELF)
def rectification_list(
    request: Request, s: Reader, me: Me, status: str | None = None, view: str | None = None
) -> Any:
    """整改任务: what the caller's departments owe first; with view=followup, those awaiting 回访."""
    scope = rq.org_scope(s, me, ACCEPT, REVIEW, SUPERVISE)
    if scope is not None and not scope:
        raise Forbidden("您没有整改任务", "you have no rectification tasks")
    if view == "followup" and status is None:
        status = "answered"
    rows = rq.rectifications(s, scope, status or None)
    return page(
        request,
        "approvals/rectifications.html",
        {"rows": rows, "status": status, "statuses": ratings.STATUS, "badges": BADGES, "view": view},
    )


def _detail(request: Request, s: Session, me: Principal, rectification_id: int, **extra: Any) -> Any:
    row = rq.rectification(s, rectification_id)
    can_answer, can_follow = ratings.can_answer(s, me, row), ratings.can_follow_up(s, me, row)
    if not (can_answer or can_follow):
        raise Forbidden("该整改任务不属于您所在的部门", "this rectification belongs to another department")
    ctx = {
        "r": rq.rectification_row(s, row.id),
        "can_answer": can_answer and row.status in ratings.ACTIVE,
        "can_follow_up": can_follow and row.status == "answered",
        "badges": BADGES,
        "results": ratings.RESULTS,
        **extra,
    }
    return page(request, "approvals/rectification.html", ctx, extra.get("status", 200))


@router.get("/approvals/rectifications/{rectification_id}")
@route_access(P.SELF)
def rectification_page(request: Request, rectification_id: int, s: Reader, me: Me) -> Any:
    return _detail(request, s, me, rectification_id)


def _act(
    request: Request,
    db: Database,
    me: Principal,
    rectification_id: int,
    run: Callable[[UnitOfWork], Any],
    ok: tuple[str, str],
    typed: str,
) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow)
    except DomainError as exc:
        if exc.status == 404 or isinstance(exc, Forbidden):
            raise
        message, status = failure(request, exc)
        with db.read() as s:
            return _detail(request, s, me, rectification_id, error=message, status=status, typed=typed)
    return done(f"/approvals/rectifications/{rectification_id}", say(request, *ok))


@router.post("/approvals/rectifications/{rectification_id}/answer")
@route_access(P.SELF)
def answer(request: Request, rectification_id: int, db: DB, me: Me, answer: Text = "") -> Any:
    def run(uow: UnitOfWork) -> None:
        ratings.answer(uow, me, rectification_id, answer)

    return _act(request, db, me, rectification_id, run, ("整改情况已报送", "Rectification reported"), answer)


@router.post("/approvals/rectifications/{rectification_id}/follow-up")
@route_access(SUPERVISE)
def follow_up(
    request: Request, rectification_id: int, db: DB, me: Me, conf: Conf, result: Text = "", note: Text = ""
) -> Any:
    def run(uow: UnitOfWork) -> None:
        if result not in ratings.RESULTS:
            raise Invalid("请选择回访结果", "choose the follow-up result")
        days = conf.approvals_rectification_days
        ratings.follow_up(uow, me, rectification_id, result == "satisfied", note, days)

    ok = ("回访已记录", "Follow-up recorded")
    return _act(request, db, me, rectification_id, run, ok, note)

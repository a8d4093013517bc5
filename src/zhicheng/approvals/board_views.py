"""Console pages of the supervisors (督办看板): on-time rates by deciding department, by item and by month
(ECharts charts over data embedded in the page, and the same figures as tables, which stay when the
chart library is missing), the running cases and open tasks overdue (red) or in their warning days (yellow),
the open escalations (督办) with the form for the supervisor's instruction, the ratings panel when the
ratings module is installed, and the credit blacklist with its add and lift forms.

Everything is read for the organizations under the supervisor's approvals.supervise, as the API does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhicheng.approvals import blacklist, boards, config, queries, supervision
from zhicheng.approvals.models import Escalation
from zhicheng.approvals.permissions import SUPERVISE
from zhicheng.approvals.schemas import AckIn, BlacklistIn, BlacklistOut
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import parse_day
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.settings import Settings
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader, require
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access as route_access

router = APIRouter(include_in_schema=False)
nav.add("一网通办", "督办看板", "/approvals/board", SUPERVISE, order=64)

CLOCK_BADGE = {
    "ok": ("ok", "正常"),
    "warning": ("warn", "即将到期"),
    "overdue": ("bad", "已超期"),
    "paused": ("", "暂停计时"),
    "stopped": ("", "已停止"),
}
KIND_ZH = {"case": "办件超过承诺时限", "task": "审查任务超过环节时限"}
HOLDER_ZH = {"citizen": "自然人", "enterprise": "法人"}
LIST_LIMIT = 100
MAX_SPAN = dt.timedelta(days=3660)
Text = Annotated[str, Form()]


def _orgs(s: Session, me: Principal) -> list[int]:
    paths = me.paths(SUPERVISE)
    if not paths:
        raise Forbidden()
    return queries.org_ids_under(s, paths)


def period(start: str | None, end: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The board's period: given, or the last twelve months including this one."""
    last = parse_day(end) if end else today
    if start:
        first = parse_day(start)
    else:
        year, month = (last.year, last.month - 11) if last.month > 11 else (last.year - 1, last.month + 1)
        first = dt.date(year, month, 1)
    if last < first:
        raise Invalid("结束日期早于开始日期", "the period ends before it begins")
    if last - first > MAX_SPAN:
        raise Invalid("统计区间最长十年", "the period is at most ten years")
    return first, last


def _ratings(s: Session, me: Principal) -> dict[str, Any]:
    """The ratings panel's context, when the ratings module is there (it is optional for this page)."""
    try:
        from zhicheng.approvals import ratings_queries  # type: ignore[attr-defined]
    except ImportError:
        return {}
    fn = getattr(ratings_queries, "board_context", None)
    if fn is None:
        return {}
    got = fn(s, me) or {}
    return got if "rating_stats" in got else {"rating_stats": got}


def _chart(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    return {
        "names": [r[label] for r in rows],
        "rates": [round(r["on_time_rate"] * 100, 1) if r["on_time_rate"] is not None else None for r in rows],
        "decided": [r["decided"] for r in rows],
    }


def _board(
    request: Request,
    s: Session,
    me: Principal,
    conf: Settings,
    start: str | None = None,
    end: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    orgs = _orgs(s, me)
    today, warn = shanghai_today(), config.warn_days(conf)
    first, last = period(start, end, today)
    stats = boards.on_time(s, orgs, first, last, today)
    by_department = boards.on_time_by_department(s, orgs, first, last)
    by_month = boards.on_time_by_month(s, orgs, first, last)
    charts = {
        "department": _chart(by_department, "org_name"),
        "item": _chart(stats["by_item"], "item_name"),
        "month": _chart(by_month, "month"),
        "label": say(request, "按期办结率（%）", "on-time rate (%)"),
    }
    return page(
        request,
        "approvals/board.html",
        {
            "first": first,
            "last": last,
            "stats": stats,
            "by_department": by_department,
            "by_month": by_month,
            "charts": charts,
            "cases": boards.attention(s, orgs, today, warn, LIST_LIMIT),
            "tasks": boards.attention_tasks(s, orgs, today, warn, LIST_LIMIT),
            "escalations": boards.escalations(s, orgs, True, LIST_LIMIT),
            "kind_zh": KIND_ZH,
            "badges": CLOCK_BADGE,
            "warn_days": warn,
            "error": error,
            **_ratings(s, me),
        },
        status,
    )


@router.get("/approvals/board")
@route_access(SUPERVISE)
def board(request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    q = request.query_params
    return _board(request, s, me, conf, q.get("from") or None, q.get("to") or None)


def _act(
    request: Request,
    db: Database,
    me: Principal,
    run: Callable[[UnitOfWork], Any],
    back: str,
    again: Callable[[Session, str, int], Any],
    ok: tuple[str, str],
) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, Forbidden) or getattr(exc, "status", 0) == 404:
            raise
        message, status = failure(request, exc)
        with db.read() as s:
            return again(s, message, status)
    return done(back, say(request, *ok))


@router.post("/approvals/board/escalations/{escalation_id}/ack")
@route_access(SUPERVISE)
def acknowledge(
    request: Request, escalation_id: int, db: DB, me: Me, conf: Conf, instruction: Text = ""
) -> Any:
    """督办意见: the supervisor's instruction, kept on the case's internal timeline."""

    def run(uow: UnitOfWork) -> None:
        body = AckIn(instruction=instruction)
        row = uow.session.get(Escalation, escalation_id)
        if row is not None:
            require(me, SUPERVISE, queries.org_path(uow.session, row.org_id))
        supervision.acknowledge(uow, escalation_id, body.instruction)

    return _act(
        request,
        db,
        me,
        run,
        "/approvals/board",
        lambda s, m, st: _board(request, s, me, conf, error=m, status=st),
        ("已提出督办意见", "Instruction recorded"),
    )


# --- the credit blacklist -----------------------------------------------------------------------------------


def _blacklist_page(
    request: Request,
    s: Session,
    me: Principal,
    show_all: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Any:
    _orgs(s, me)
    entries = queries.blacklist(s, active=not show_all, limit=LIST_LIMIT)
    return page(
        request,
        "approvals/board_blacklist.html",
        {
            "entries": [BlacklistOut.model_validate(e).model_dump() for e in entries[:LIST_LIMIT]],
            "more": len(entries) > LIST_LIMIT,
            "show_all": show_all,
            "holder_zh": HOLDER_ZH,
            "error": error,
        },
        status,
    )


@router.get("/approvals/board/blacklist")
@route_access(SUPERVISE)
def blacklist_page(request: Request, s: Reader, me: Me, all: str = "") -> Any:  # noqa: A002
    return _blacklist_page(request, s, me, show_all=all == "1")


@router.post("/approvals/board/blacklist")
@route_access(SUPERVISE)
def blacklist_add(
    request: Request,
    db: DB,
    me: Me,
    kind: Text = "",
    id_number: Text = "",
    reason: Text = "",
    source: Text = "信用中国",
) -> Any:
    """List a party on the credit blacklist: no 容缺受理 for it while listed."""

    def run(uow: UnitOfWork) -> None:
        body = BlacklistIn(kind=kind, id_number=id_number.strip(), reason=reason, source=source)  # type: ignore[arg-type]
        blacklist.add(uow, body)

    return _act(
        request,
        db,
        me,
        run,
        "/approvals/board/blacklist",
        lambda s, m, st: _blacklist_page(request, s, me, error=m, status=st),
        ("已列入黑名单", "Listed on the blacklist"),
    )


@router.post("/approvals/board/blacklist/{entry_id}/lift")
@route_access(SUPERVISE)
def blacklist_lift(request: Request, entry_id: int, db: DB, me: Me, reason: Text = "") -> Any:
    def run(uow: UnitOfWork) -> None:
        blacklist.lift(uow, entry_id, reason)

    return _act(
        request,
        db,
        me,
        run,
        "/approvals/board/blacklist",
        lambda s, m, st: _blacklist_page(request, s, me, error=m, status=st),
        ("已移出黑名单", "Lifted from the blacklist"),
    )

"""The console's calendar page: a year at a glance, a working-day calculator, and (calendar.manage) the
forms that enter next year's arrangement and publish it."""

from __future__ import annotations

import calendar as stdcal
import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar import queries, services
from zhicheng.core.calendar.clock import MAX_YEAR, MIN_YEAR, check_year, parse_day, today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access
from zhicheng.web.templating import render

router = APIRouter(include_in_schema=False)
nav.add("系统管理", "工作日历", "/calendar", P.SELF, order=40)

MONTHS = stdcal.Calendar(firstweekday=0)  # weeks start on Monday, as Chinese calendars print them
DONE = {  # the message after a successful form, by its `done` key
    "set": "已保存",
    "unset": "已删除例外",
    "publish": "已发布",
}


def _year_arg(text: str | None) -> int:
    """The year asked for; Invalid when the input is not a usable year."""
    if not text:
        return today().year
    if not text.strip().isdigit():
        raise Invalid(f"年份无效：{text[:20]}", f"not a year: {text[:20]}")
    return check_year(int(text))


def _months(year: int, days: dict[dt.date, Any], now: dt.date) -> list[dict[str, Any]]:
    """Twelve month grids: each a list of weeks of seven cells (None outside the month)."""
    grids = []
    for month in range(1, 13):
        weeks = []
        for week in MONTHS.monthdatescalendar(year, month):
            cells = []
            for d in week:
                if d.month != month:
                    cells.append(None)
                    continue
                exception = days.get(d)
                if exception is not None:
                    kind = "hol" if exception.kind == "holiday" else "adj"
                else:
                    kind = "rest" if d.weekday() >= 5 else "work"
                cells.append(
                    {"day": d, "kind": kind, "name": exception.name if exception else "", "today": d == now}
                )
            weeks.append(cells)
        grids.append({"month": month, "weeks": weeks})
    return grids


def _choices(year: int, published: list[int], now: dt.date) -> list[int]:
    """The years worth offering: those published, this year and next, and the one shown."""
    return sorted({*published, now.year, now.year + 1, year})


def _page(
    request: Request,
    db: Any,
    me: Any,
    year_text: str | None,
    *,
    error: str | None = None,
    ok: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    lang = request_lang(request)
    try:
        year = _year_arg(year_text)
    except Invalid as exc:
        year, error, status = today().year, error or exc.message(lang), 422
    q = request.query_params
    calc: dict[str, Any] = {
        "start": q.get("start", ""),
        "days": q.get("days", ""),
        "result": None,
        "error": None,
    }
    with db.read() as s:
        view = queries.year(s, year)
        published_years = [y.year for y in queries.years(s) if y.published]
        if calc["start"] or calc["days"]:
            try:
                start = parse_day(calc["start"])
                if not calc["days"].strip().isdigit():
                    raise Invalid("工作日数应为 0 或正整数", "the number of working days must be 0 or more")
                calc["result"] = queries.add_workdays(s, start, int(calc["days"]))
            except DomainError as exc:
                calc["error"] = exc.message(lang)
    now = today()
    return render(
        request,
        "calendar/year.html",
        {
            "year": year,
            "view": view,
            "months": _months(year, {d.day: d for d in view.days}, now),
            "now": now,
            "published_years": published_years,
            "calc": calc,
            "year_choices": _choices(year, published_years, now),
            "error": error,
            "ok": ok,
            "manage": me.can(P.CALENDAR_MANAGE),
            "min_year": MIN_YEAR,
            "max_year": MAX_YEAR,
        },
        status=status,
    )


@router.get("/calendar")
@access(P.SELF)
def calendar_page(request: Request, db: DB, me: Me, year: str | None = None, done: str | None = None) -> Any:
    # the message is chosen from DONE; only the short detail comes from the query string (and is escaped)
    q = request.query_params
    moved = q.get("moved", "")
    ok = None
    if done in DONE:
        ok = {
            "msg": DONE[done],
            "what": q.get("what", "")[:60],
            "moved": int(moved) if moved.isdigit() else None,
        }
    return _page(request, db, me, year, ok=ok)


def _back(year: int, done: str, what: str, **more: Any) -> RedirectResponse:
    query = urlencode({"year": year, "done": done, "what": what, **more})
    return RedirectResponse(f"/calendar?{query}", status_code=303)


def _failed(request: Request, db: Any, me: Any, year: str | None, exc: DomainError) -> Any:
    return _page(request, db, me, year, error=exc.message(request_lang(request)), status=exc.status)


@router.post("/calendar/days")
@access(P.CALENDAR_MANAGE)
def set_day(
    request: Request,
    db: DB,
    me: Me,
    day: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
) -> Any:
    try:
        when = parse_day(day)
        with unit_of_work(db, me.actor) as uow:
            row = services.set_day(uow, when, kind, name)
    except DomainError as exc:
        return _failed(request, db, me, year or None, exc)
    return _back(when.year, "set", f"{when.isoformat()} {row.name}")


@router.post("/calendar/days/unset")
@access(P.CALENDAR_MANAGE)
def unset_day(
    request: Request, db: DB, me: Me, day: Annotated[str, Form()] = "", year: Annotated[str, Form()] = ""
) -> Any:
    try:
        when = parse_day(day)
        with unit_of_work(db, me.actor) as uow:
            services.unset_day(uow, when)
    except DomainError as exc:
        return _failed(request, db, me, year or None, exc)
    return _back(when.year, "unset", when.isoformat())


@router.post("/calendar/publish")
@access(P.CALENDAR_MANAGE)
def publish(request: Request, db: DB, me: Me, year: Annotated[str, Form()] = "") -> Any:
    try:
        number = int(year) if year.strip().isdigit() else -1
        with unit_of_work(db, me.actor) as uow:
            _, moved = services.publish_year(uow, number)
    except DomainError as exc:
        return _failed(request, db, me, year or None, exc)
    return _back(number, "publish", str(number), moved=moved)

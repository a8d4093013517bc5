"""Console pages of the closed loop (一网统管): the case list with filters and keyset paging; the work queues
of the supervision centre (立案 or cancel, 核查 with before/after photos, 回访), the command centre
(dispatch with the routed department preselected, returned and disputed cases, extension requests) and the
departments (accept, handle, feed back with an after photo, return, dispute, ask for more time), each sorted
by due date (yellow: due soon, red: overdue); and the case page: timeline, reporters (names and phones only
for those allowed, as in the API), photos, comments, follow, and the steps the caller may take.

Reads go through case_queries, writes through the loop, photo and intake services with the API's own
checks (loop.ACTORS decides who acts where). A step that no longer applies (409: another officer acted
first) shows the case again, reloaded, with that said in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhicheng.cityops import case_queries as q
from zhicheng.cityops import loop, photos, vocab
from zhicheng.cityops.permissions import CITYOPS_READ, COMMAND, HANDLE, INTAKE, REPORT, SUPERVISE
from zhicheng.cityops.schemas import ActionIn
from zhicheng.core import paging
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.settings import Settings
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("一网统管", "监督中心", "/cityops/supervision", SUPERVISE, order=92)
nav.add("一网统管", "指挥中心", "/cityops/command", COMMAND, order=93)
nav.add("一网统管", "部门处置", "/cityops/department", HANDLE, order=94)
nav.add("一网统管", "案卷查询", "/cityops/cases", CITYOPS_READ, order=95)

Text = Annotated[str, Form()]
CLOCK_BADGE = {
    "ok": ("ok", "正常"),
    "warning": ("warn", "即将到期"),
    "overdue": ("bad", "已超期"),
    "paused": ("", "暂停计时"),
    "stopped": ("", "已停止"),
}
RACE_ZH = "他人已先行办理，页面已刷新为最新情况"
RACE_EN = "Someone else acted on this case already; the page now shows where it stands"
PAGE = 50
QUEUE_LIMIT = 100
EVALUATIONS = {"excellent": "优秀", "good": "良好", "poor": "较差"}
DONE = {
    "register": ("已立案", "Registered"),
    "cancel": ("已作不予立案处理", "Cancelled (not registered)"),
    "dispatch": ("已派遣", "Dispatched"),
    "accept": ("已接单", "Accepted"),
    "feedback": ("已提交处置反馈", "Feedback sent"),
    "verify": ("核查通过，已结案", "Verified and closed"),
    "reject": ("核查未通过，已发回返工", "Sent back for rework"),
    "evaluate": ("已评价", "Evaluated"),
    "return": ("已退回指挥中心", "Returned to the command centre"),
    "dispute": ("已提出争议", "Disputed"),
    "extend": ("已提交延期申请", "Extension requested"),
    "callback": ("已记录回访", "Follow-up call recorded"),
}


NUMBERS = {
    "department": ("处置部门", "department"),
    "department_id": ("处置部门", "department"),
    "days": ("延期工作日数", "working days"),
    "satisfaction": ("满意度", "satisfaction"),
}


def to_int(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        zh, en = NUMBERS[field]
        raise Invalid(f"{zh}应为数字", f"{en} must be a number")
    return int(value)


def _user(me: Principal) -> int | None:
    return me.actor.user_id if me.actor.kind == "user" else None


def _staff(me: Principal) -> bool:
    return me.can(CITYOPS_READ)


def _personal(me: Principal) -> bool:
    return any(me.can(p) for p in (INTAKE, SUPERVISE, COMMAND))


def _rows(s: Session, rows: list[Any], today: dt.date, warn: int) -> list[dict[str, Any]]:
    """Cases as the lists show them: the API's shape, the clock for the `due` macro, department names."""
    cal = calendar.calendar(s)
    names = q.org_names(s, [r[0].department_id for r in rows] + [r[0].routed_department_id for r in rows])
    out = []
    for row in rows:
        item = q.shown(row, today)
        item.update(q.clock_of(row[0], cal, today, warn))
        item["department_name"] = names.get(item["department_id"] or 0, "")
        item["routed_department_name"] = names.get(item["routed_department_id"] or 0, "")
        out.append(item)
    return out


def _words() -> dict[str, Any]:
    return {
        "statuses": vocab.STATUSES,
        "channels": vocab.CHANNELS,
        "labels": vocab.EVENT_LABELS,
        "badges": CLOCK_BADGE,
        "evaluations": EVALUATIONS,
    }


# --- the case list ------------------------------------------------------------------------------------------


@router.get("/cityops/cases")
@access(CITYOPS_READ)
def case_list(
    request: Request,
    s: Reader,
    conf: Conf,
    status: str = "",
    category: str = "",
    department: str = "",
    grid: str = "",
    division: str = "",
    overdue: str = "",
    cursor: str | None = None,
) -> Any:
    """Every case, newest first, filtered; keyset paging (`cursor`)."""
    today = shanghai_today()
    filters = {
        "status": status,
        "category": category,
        "department": department,
        "grid": grid.strip(),
        "division": division.strip(),
        "overdue": "1" if overdue else "",
    }
    error, rows, nxt = None, [], None
    try:
        got = q.cases(
            s,
            today,
            status=status or None,
            category=category or None,
            department=to_int(department, "department"),
            grid=filters["grid"] or None,
            division=filters["division"] or None,
            is_overdue=True if overdue else None,
            limit=PAGE + 1,
            after=paging.decode_id(cursor),
        )
        items, nxt = paging.page(got, PAGE, lambda r: r[0].id)
        rows = _rows(s, items, today, conf.cityops_warn_days)
    except DomainError as exc:
        error = exc.message(request_lang(request))
    kept = {k: v for k, v in filters.items() if v}
    return page(
        request,
        "cityops/cases.html",
        {
            **_words(),
            "rows": rows,
            "f": filters,
            "categories": q.category_choices(s),
            "departments": q.department_choices(s),
            "next_url": f"?{urlencode({**kept, 'cursor': nxt})}" if nxt else None,
            "error": error,
        },
        422 if error else 200,
    )


# --- the queues ---------------------------------------------------------------------------------------------
QUEUES: dict[str, dict[str, Any]] = {
    "supervision": {
        "permission": SUPERVISE,
        "title": "监督中心",
        "place": "grid",
        "sections": [
            ("register", "待立案", "核实上报的问题，立案或不予立案。", {"statuses": ("reported",)}),
            (
                "verify",
                "待核查结案",
                "对照处置前后照片核查，通过则结案，否则发回返工。",
                {"statuses": ("handled",)},
            ),
            ("callback", "待回访", "12345 工单结案后回访来电人，记录满意度。", {"callback_pending": True}),
            ("evaluate", "待评价", "已结案的案卷作综合评价。", {"statuses": ("closed",)}),
        ],
    },
    "command": {
        "permission": COMMAND,
        "title": "指挥中心",
        "place": "grid",
        "sections": [
            ("dispatch", "待派遣", "已立案的案卷，按派遣规则预选处置部门。", {"statuses": ("registered",)}),
            (
                "redispatch",
                "退回与争议",
                "部门退回或提出争议的案卷，需重新派遣。",
                {"statuses": ("returned", "disputed")},
            ),
            ("extension", "延期申请", "部门申请延长处置时限，批准或不批准。", {"extension_pending": True}),
        ],
    },
    "department": {
        "permission": HANDLE,
        "title": "部门处置",
        "place": "department",
        "sections": [
            ("accept", "待接单", "派遣到本部门或发回返工的案卷。", {"statuses": ("dispatched", "rework")}),
            ("handling", "处置中", "处置完成后上传处置后照片并反馈。", {"statuses": ("handling",)}),
        ],
    },
}


def _queue_page(request: Request, s: Session, me: Principal, conf: Settings, name: str) -> Any:
    spec = QUEUES[name]
    paths = me.paths(spec["permission"])
    today = shanghai_today()
    sections = []
    for key, title, hint, where in spec["sections"]:
        scope = {"grid_paths": paths} if spec["place"] == "grid" else {"dept_paths": paths}
        rows = q.queue(s, **where, **scope, limit=QUEUE_LIMIT)
        sections.append(
            {"key": key, "title": title, "hint": hint, "rows": _rows(s, rows, today, conf.cityops_warn_days)}
        )
    return page(
        request,
        "cityops/queue.html",
        {**_words(), "title": spec["title"], "queue": name, "sections": sections, "limit": QUEUE_LIMIT},
    )


@router.get("/cityops/supervision")
@access(SUPERVISE)
def supervision(request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    return _queue_page(request, s, me, conf, "supervision")


@router.get("/cityops/command")
@access(COMMAND)
def command(request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    return _queue_page(request, s, me, conf, "command")


@router.get("/cityops/department")
@access(HANDLE)
def department(request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    return _queue_page(request, s, me, conf, "department")


# --- one case -----------------------------------------------------------------------------------------------


def _may(me: Principal, case: dict[str, Any], paths: tuple[str | None, str | None]) -> dict[str, bool]:
    """The steps the caller may take now: the permission over the grid or department, the status allowing."""
    grid_path, dept_path = paths

    def holds(permission: str, place: str) -> bool:
        path = grid_path if place == "grid" else dept_path
        return path is not None and me.can(permission, path)

    status, pending = case["status"], case["extension_requested"] is not None
    out = {a: status in allowed and holds(*loop.ACTORS[a]) for a, (allowed, _) in vocab.STEPS.items()}
    out["callback"] = (
        holds(SUPERVISE, "grid")
        and status in ("closed", "evaluated")
        and (case["channel"] == "hotline" or case["work_order_no"] is not None)
    )
    out["extend_ask"] = holds(HANDLE, "department") and status in vocab.HANDLING and not pending
    out["extend_decide"] = holds(COMMAND, "grid") and status in vocab.HANDLING and pending
    out["work_photos"] = holds(HANDLE, "department") and status in vocab.HANDLING
    return out


def _case_page(
    request: Request,
    s: Session,
    me: Principal,
    conf: Settings,
    case_id: int,
    error: str | None = None,
    status: int = 200,
) -> Any:
    row = q.one(s, case_id)
    user = _user(me)
    q.require_view(s, case_id, _staff(me), user)
    today = shanghai_today()
    case = q.detail(s, case_id, today, None, _staff(me), _personal(me), user)
    clock = q.clock_of(row[0], calendar.calendar(s), today, conf.cityops_warn_days)
    may = _may(me, case, q.case_paths(s, case_id))
    names = q.org_names(s, [case["department_id"], case["routed_department_id"]])
    base = f"/api/v1/cityops/cases/{case_id}/photos/"
    shots = [{**p, "url": base + str(p["id"])} for p in case["photos"]]
    reporter = q.is_follower(s, case_id, user)
    return page(
        request,
        "cityops/case.html",
        {
            **_words(),
            "case": case,
            "clock": clock,
            "may": may,
            "acting": any(may.values()),
            "staff": _staff(me),
            "department_name": names.get(case["department_id"] or 0, ""),
            "routed_department_name": names.get(case["routed_department_id"] or 0, ""),
            "departments": q.department_choices(s) if may["dispatch"] else [],
            "before": [p for p in shots if p["stage"] in ("report", "before")],
            "after": [p for p in shots if p["stage"] == "after"],
            "can_report_photo": me.can(INTAKE) or reporter,
            "can_follow": user is not None,
            "max_mb": conf.cityops_photo_max_mb,
            "back": _back(me),
            "error": error,
        },
        status,
    )


def _back(me: Principal) -> tuple[str, str]:
    for path, label, perm in (
        ("/cityops/department", "部门处置", HANDLE),
        ("/cityops/command", "指挥中心", COMMAND),
        ("/cityops/supervision", "监督中心", SUPERVISE),
        ("/cityops/cases", "案卷查询", CITYOPS_READ),
        ("/cityops/mine", "我的上报", REPORT),
    ):
        if me.can(perm):
            return path, label
    return "/", "首页"


@router.get("/cityops/cases/{case_id}")
@access(P.SELF)
def case_page(request: Request, case_id: int, s: Reader, me: Me, conf: Conf) -> Any:
    """One case: staff (cityops.read) see every case; a citizen the cases they reported or follow."""
    return _case_page(request, s, me, conf, case_id)


def _write(
    request: Request,
    db: Database,
    me: Principal,
    conf: Settings,
    case_id: int,
    run: Callable[[UnitOfWork], Any],
    ok: tuple[str, str],
) -> Any:
    """One write in its own transaction; refused input shows the case again (reloaded) with the reason, and a
    step that no longer applies says someone else acted first. Not allowed or not found: the error page."""
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, Forbidden) or getattr(exc, "status", 0) == 404:
            raise
        message, status = failure(request, exc, (RACE_ZH, RACE_EN))
        with db.read() as s:
            return _case_page(request, s, me, conf, case_id, message, status)
    return done(f"/cityops/cases/{case_id}", say(request, *ok))


def _viewer(uow: UnitOfWork, me: Principal, case_id: int) -> None:
    q.one(uow.session, case_id)
    q.require_view(uow.session, case_id, _staff(me), _user(me))


@router.post("/cityops/cases/{case_id}/act/{action}")
@access(P.SELF)
def act(
    request: Request,
    case_id: int,
    action: str,
    db: DB,
    me: Me,
    conf: Conf,
    reason: Text = "",
    note: Text = "",
    department_id: Text = "",
    days: Text = "",
    approve: Text = "",
    evaluation: Text = "",
    satisfaction: Text = "",
) -> Any:
    """One step of the loop from the case page's forms (the same service and checks as the API)."""
    if action not in loop.ACTIONS:
        raise Invalid(f"未知的操作：{action}", f"unknown action: {action}")
    ok = DONE[action]
    if action == "extend" and approve:
        ok = ("已批准延期", "Extension granted") if approve == "1" else ("已不批准延期", "Extension refused")

    def run(uow: UnitOfWork) -> None:
        if action == "extend" and approve not in ("", "0", "1"):
            raise Invalid("请选择批准或不批准", "choose grant or refuse")
        body = ActionIn(
            reason=reason.strip() or None,
            note=note.strip() or None,
            department_id=to_int(department_id, "department_id"),
            days=to_int(days, "days"),
            approve=None if approve == "" else approve == "1",
            evaluation=evaluation or None,
            satisfaction=to_int(satisfaction, "satisfaction"),
        )
        loop.step(uow, case_id, action, body, shanghai_today(), me.can)

    return _write(request, db, me, conf, case_id, run, ok)


@router.post("/cityops/cases/{case_id}/photos")
@access(P.SELF)
def add_photo(
    request: Request,
    case_id: int,
    db: DB,
    me: Me,
    conf: Conf,
    stage: Text = "report",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Any:
    """A report photo (intake holders, the case's reporters) or a before/after photo (the department)."""

    def run(uow: UnitOfWork) -> None:
        if stage not in vocab.PHOTO_STAGES:
            raise Invalid("照片类别应为 report、before 或 after", "stage must be report, before or after")
        if photo is None or not photo.filename:
            raise Invalid("请选择照片", "choose a photo")
        _viewer(uow, me, case_id)
        grid_path, dept_path = q.case_paths(uow.session, case_id)
        if stage == "report":
            if not (me.can(INTAKE) or q.is_follower(uow.session, case_id, _user(me))):
                raise Forbidden("无权为该案卷上传照片", "no permission to add photos to this case")
        elif dept_path is None or not me.can(HANDLE, dept_path):
            raise Forbidden("只有承办部门可以上传处置照片", "only the handling department adds these photos")
        max_bytes = int(conf.cityops_photo_max_mb * 1024 * 1024)
        photos.add(uow, case_id, stage, photo.file, photo.filename or "", max_bytes)

    return _write(request, db, me, conf, case_id, run, ("已上传照片", "Photo added"))


@router.post("/cityops/cases/{case_id}/comments")
@access(P.SELF)
def comment(request: Request, case_id: int, db: DB, me: Me, conf: Conf, text: Text = "") -> Any:
    """A comment on the timeline, by staff or by a reporter or follower; followers are told."""

    def run(uow: UnitOfWork) -> None:
        _viewer(uow, me, case_id)
        loop.comment(uow, case_id, text[:2000])

    return _write(request, db, me, conf, case_id, run, ("已留言", "Comment added"))


@router.post("/cityops/cases/{case_id}/follow")
@access(P.SELF)
def follow(request: Request, case_id: int, db: DB, me: Me, conf: Conf, on: Text = "1") -> Any:
    """Follow (on=1) or stop following (on=0) a case: told of every public change."""
    user = _user(me)
    if user is None:
        raise Forbidden("只有登录用户可以关注案卷", "only signed-in users follow cases")

    def run(uow: UnitOfWork) -> None:
        _viewer(uow, me, case_id)
        loop.follow(uow, case_id, user, on != "0")

    ok = ("已关注，案卷有进展时会通知您", "Following") if on != "0" else ("已取消关注", "No longer following")
    return _write(request, db, me, conf, case_id, run, ok)

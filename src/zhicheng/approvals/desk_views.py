"""Console of the window desk (综合窗口), for approvals.accept: the queue of cases submitted at the clerk's
windows (oldest first, with the working days they have waited), those waiting for the applicant's corrections
and those awaiting delivery; a case page with the form, the materials, the check result and the window's
actions (受理, 容缺受理, 不予受理, 补正, 送达); and 代为申报, applying on behalf of a citizen or an enterprise
who walks in. Every action calls the service the JSON API calls, with the same per-case checks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from zhicheng.approvals import acceptance, access, cases, config, corrections, queries, review
from zhicheng.approvals.permissions import ACCEPT
from zhicheng.approvals.portal_views import (
    CLOCK_BADGE,
    Posted,
    apply_page,
    case_context,
    snapshot,
    submit,
)
from zhicheng.approvals.schemas import AcceptIn, CorrectionIn, DeliverIn
from zhicheng.approvals.vocab import DELIVERY
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.forms import blank, done, failure, page, say, to_int
from zhicheng.web.security import access as declare

router = APIRouter(include_in_schema=False)
nav.add("一网通办", "窗口受理", "/desk", ACCEPT, order=76)


def _rows(s: Any, rows: list[Any], conf: Any) -> list[dict[str, Any]]:
    today = shanghai_today()
    cal = calendar.calendar(s)
    out = queries.case_rows(s, rows, today, config.warn_days(conf))
    for r in out:
        r["waiting"] = max(0, cal.workdays_between(r["submitted_on"], today))
    return out


@router.get("/desk")
@declare(ACCEPT)
def queue(request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    org_ids = queries.org_ids_under(s, me.paths(ACCEPT))
    submitted = queries.window_queue(s, org_ids, "submitted")
    returned = queries.cases_with_event(s, [c.id for c in submitted], "supplied")
    ctx = {
        "submitted": _rows(s, submitted, conf),
        "returned": returned,
        "correcting": _rows(s, queries.window_queue(s, org_ids, "correcting"), conf),
        "delivering": _rows(s, queries.delivery_queue(s, org_ids), conf),
        "items": queries.items_out(s, queries.items(s, limit=200)[:200]),
        "badges": CLOCK_BADGE,
    }
    return page(request, "approvals/desk_queue.html", ctx)


def _desk_case(s: Any, me: Any, case_id: int) -> Any:
    case = queries.case(s, case_id)
    window = queries.org_path(s, case.window_org_id)
    delivering = case.status == "delivering"
    if not me.can(ACCEPT, window) and not (delivering and access.is_staff(s, me, case)):
        raise Forbidden("该办件不属于您的窗口", "this case belongs to another window")
    return case


def desk_page(
    request: Request, s: Any, me: Any, conf: Any, case_id: int, error: str | None = None, status: int = 200
) -> Any:
    case = _desk_case(s, me, case_id)
    ctx = case_context(s, case, conf, staff=True)
    found = cases.report(s, case)
    ctx.update(
        report=found.shown(),
        missing_rongque=found.missing_rongque,
        rongque_max=acceptance.rongque_days_allowed(case.promised_days),
        delivery_zh=DELIVERY,
        error=error,
    )
    return page(request, "approvals/desk_case.html", ctx, status)


@router.get("/desk/cases/{case_id}")
@declare(ACCEPT)
def desk_case(case_id: int, request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    return desk_page(request, s, me, conf, case_id)


def _act(
    request: Request, db: Any, me: Any, conf: Any, case_id: int, act: Any, ok_zh: str, ok_en: str
) -> Any:
    """Run a window action on the case; on failure show the case page with the service's message."""
    try:
        with unit_of_work(db, me.actor) as uow:
            act(uow, queries.case(uow.session, case_id))
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        if status in (401, 403):
            raise
        with db.read() as s:
            return desk_page(request, s, me, conf, case_id, message, status)
    return done(f"/desk/cases/{case_id}", say(request, ok_zh, ok_en))


@router.post("/desk/cases/{case_id}/accept")
@declare(ACCEPT)
def accept(case_id: int, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    """受理, or 容缺受理: the clerk confirms each missing 容缺 material and sets the supplement deadline."""
    rongque = posted.get("rongque") == "1"

    def act(uow: Any, case: Any) -> None:
        access.require_window(uow.session, me, case)
        if rongque:
            missing = set(cases.report(uow.session, case).missing_rongque)
            confirmed = set(posted.getlist("missing"))
            if missing and confirmed != missing:
                raise Invalid(
                    "容缺受理须逐项确认所缺的可容缺材料；未确认的请要求补正",
                    "confirm each missing 容缺 material for a 容缺 acceptance; ask for corrections otherwise",
                )
        data = AcceptIn(
            rongque=rongque,
            supplement_days=to_int(posted.get("supplement_days"), "supplement_days") if rongque else None,
            note=(posted.get("note") or "").strip(),
            version=to_int(posted.get("version"), "version"),
        )
        acceptance.accept(uow, case.id, data)

    ok = ("已容缺受理", "Accepted with 容缺") if rongque else ("已受理", "Accepted")
    return _act(request, db, me, conf, case_id, act, *ok)


@router.post("/desk/cases/{case_id}/refuse")
@declare(ACCEPT)
def refuse(case_id: int, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    def act(uow: Any, case: Any) -> None:
        access.require_window(uow.session, me, case)
        acceptance.refuse(
            uow, case.id, (posted.get("reason") or "").strip(), to_int(posted.get("version"), "version")
        )

    return _act(request, db, me, conf, case_id, act, "已不予受理", "Refused")


@router.post("/desk/cases/{case_id}/corrections")
@declare(ACCEPT)
def ask_corrections(case_id: int, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    """补正 before acceptance: every material and field to correct, with the reasons, at once."""

    def act(uow: Any, case: Any) -> None:
        access.require_window(uow.session, me, case)
        data = CorrectionIn(
            materials=posted.getlist("materials"),
            fields=posted.getlist("fields"),
            note=(posted.get("note") or "").strip(),
            version=to_int(posted.get("version"), "version"),
        )
        corrections.request(uow, case.id, data)

    return _act(request, db, me, conf, case_id, act, "已一次性告知补正", "Corrections requested")


@router.post("/desk/cases/{case_id}/deliver")
@declare(ACCEPT)
def deliver(case_id: int, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    """送达: online, at the window, or by mail with the tracking number."""

    def act(uow: Any, case: Any) -> None:
        access.require_stage(uow.session, me, case, ACCEPT)
        method = (posted.get("method") or "").strip()
        if method not in DELIVERY:
            raise Invalid("请选择送达方式", "choose a delivery method")
        data = DeliverIn(
            method=method,
            tracking_no=blank(posted.get("tracking_no")),
            note=(posted.get("note") or "").strip(),
        )
        review.deliver(uow, case.id, data.method, data.tracking_no, data.note)

    return _act(request, db, me, conf, case_id, act, "已送达，办件办结", "Delivered; the case is completed")


# --- 代为申报 -------------------------------------------------------------------------------


@router.get("/desk/apply")
@declare(ACCEPT)
def apply_form(request: Request, s: Reader, item: str | None = None) -> Any:
    if not item:
        items = queries.items_out(s, queries.items(s, limit=200)[:200])
        return page(request, "approvals/desk_apply.html", {"items": items})
    it, snap = snapshot(s, item.strip())
    return apply_page(request, it, snap, on_behalf=True)


@router.post("/desk/apply/{code}")
@declare(ACCEPT)
def apply(code: str, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    return submit(request, db, me, conf, code, posted, on_behalf=True)

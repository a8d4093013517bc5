"""JSON routes of applications and cases under /api/v1/approvals: uploads, the live check, idempotent
submission, the case and its timeline, supplements and corrections, one-window acceptance, decision, delivery,
pauses. Every route declares its permission; every case is then checked against the caller (access.py).

The steps of the common path (submit, accept, conclude, decide, deliver) go through the group commit
(approvals.batch): the caller's rights are checked in a read, the step joins the steps of concurrent requests
in one transaction (refused with 409 if the case has left the stage the rights were checked at), and the
answer shows the case as committed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Header, Query, Response, UploadFile
from sqlalchemy import select

from zhicheng.approvals import (
    acceptance,
    access,
    batch,
    cases,
    checks,
    config,
    corrections,
    files,
    queries,
    review,
)
from zhicheng.approvals.models import ItemVersion, Upload
from zhicheng.approvals.permissions import ACCEPT, APPLY, DECIDE, REVIEW, SUPERVISE
from zhicheng.approvals.schemas import (
    AcceptIn,
    CaseIn,
    CaseOut,
    CasePage,
    CheckIn,
    ConcludeIn,
    CorrectionIn,
    DecideIn,
    DeliverIn,
    EventOut,
    PauseIn,
    ReasonIn,
    SupplyIn,
    UploadOut,
)
from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.orgs.realname import verifier
from zhicheng.core.paging import check_limit, encode
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.security import access as declare

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])


def _shown(s: Any, case: Any, conf: Any, staff: bool = True) -> dict[str, Any]:
    return queries.case_out(s, case, warn_days=config.warn_days(conf), staff=staff)


def _stage_of(db: Any, me: Any, case_id: int, permission: str) -> str:
    """The case's current stage, once the caller is found to act for it (access.require_stage)."""
    with db.read() as s:
        case = queries.case(s, case_id)
        access.require_stage(s, me, case, permission)
        return case.stage


def _step(db: Any, conf: Any, step: batch.Step) -> dict[str, Any]:
    """The step through the group commit, then its case as committed."""
    done = batch.submit(db, step)
    return _committed(db, conf, done.get("case_id", done["id"]))


def _committed(db: Any, conf: Any, case_id: int) -> dict[str, Any]:
    with db.read() as s:
        return _shown(s, queries.case(s, case_id), conf)


@router.post("/uploads", response_model=UploadOut, status_code=201)
@declare(APPLY)
def upload(
    db: DB, me: Me, conf: Conf, file: UploadFile = File(..., description="pdf, ofd, jpg, png, ...")
) -> Upload:
    """Upload one file (type checked by extension and content, SM3 digest kept); attach it by its id when
    submitting or supplying. Only its uploader may attach it."""
    with unit_of_work(db, me.actor) as uow:
        return files.store(uow, file.file, file.filename or "", config.max_upload_bytes(conf))


@router.post("/items/{code}/check")
@declare(APPLY)
def check(code: str, body: CheckIn, s: Reader, me: Me) -> dict:
    """The live reminders while the form is filled in: what is missing or invalid, and whether the application
    may be submitted (`ok`; missing 容缺-eligible materials do not block it)."""
    it = queries.item(s, code)
    snap = s.scalar(
        select(ItemVersion.snapshot).where(ItemVersion.item_id == it.id, ItemVersion.version == it.version)
    )
    uploads = {c: files.owned(s, uid, me.actor.label) for c, uid in body.materials.items()}
    return checks.check(snap, body.form, uploads).shown()


@router.post("/cases", response_model=CaseOut, status_code=201)
@declare(APPLY)
def submit(
    body: CaseIn,
    response: Response,
    db: DB,
    me: Me,
    conf: Conf,
    idempotency_key: str | None = Header(
        None, min_length=8, max_length=80, description="retries return the same case"
    ),
) -> dict:
    """Apply: a citizen or enterprise for itself; a portal system (API token) or a window clerk for the named
    `applicant`. The Idempotency-Key header (or `client_token`) is required: a double click or a retry with
    the same key returns the case the first request made (200, `replayed`), never a second case."""
    token = idempotency_key or body.client_token
    if not token:
        raise Invalid(
            "请提供幂等键（Idempotency-Key 请求头或 client_token），以免重复提交产生两个办件",
            "send an Idempotency-Key header (or client_token): a retry must not make a second case",
        )
    with db.read() as s:
        own = access.own_party(s, me)
    if own is not None and body.applicant is None:  # for oneself: the group commit
        done = batch.submit(db, batch.Step("submit", me.actor, application=body, party_id=own, token=token))
        out, created = _committed(db, conf, done["id"]), done["new"]
    else:  # for another applicant, who may have to be registered first: one unit of work
        with unit_of_work(db, me.actor) as uow:
            s = uow.session
            for_others = me.actor.kind == "system" or bool(me.paths(ACCEPT))
            verify = verifier(conf.realname_provider)
            party = cases.resolve_party(uow, own, body.applicant, for_others, verify)
            case, created = cases.submit(uow, body, party, token)
            out = _shown(s, case, conf)
    if not created:
        response.status_code = 200
        out["replayed"] = True
    return out


@router.get("/cases", response_model=CasePage)
@declare(P.SELF)
def list_cases(
    s: Reader,
    me: Me,
    conf: Conf,
    view: str = Query("mine", description="mine (the applicant's) | window | supervise"),
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict:
    check_limit(limit)
    if view == "mine":
        party = access.own_party(s, me)
        if party is None:
            raise Forbidden("此账号未关联办事人", "this login is not linked to an applicant")
        rows = queries.cases_of_party(s, party, status, limit, cursor)
    elif view in ("window", "supervise"):
        paths = me.paths(ACCEPT if view == "window" else SUPERVISE)
        if not paths:
            raise Forbidden()
        rows = queries.window_cases(s, queries.org_ids_under(s, paths), status, limit, cursor)
    else:
        raise Invalid("视图应为 mine、window 或 supervise", "view must be mine, window or supervise")
    page = rows[:limit]
    return {
        "items": queries.case_rows(s, page, shanghai_today(), config.warn_days(conf)),
        "next_cursor": encode(page[-1].id) if len(rows) > limit and page else None,
    }


@router.get("/cases/{case_id}", response_model=CaseOut)
@declare(P.SELF)
def get_case(case_id: int, s: Reader, me: Me, conf: Conf) -> dict:
    case = queries.case(s, case_id)
    staff = access.require_view(s, me, case)
    return _shown(s, case, conf, staff)


@router.get("/cases/{case_id}/timeline", response_model=list[EventOut])
@declare(P.SELF)
def timeline(case_id: int, s: Reader, me: Me) -> list:
    """全程留痕: every step of the case; the applicant sees the public ones, without staff names."""
    case = queries.case(s, case_id)
    staff = access.require_view(s, me, case)
    rows = [EventOut.model_validate(e) for e in queries.timeline(s, case.id, public_only=not staff)]
    if not staff:
        rows = [r.model_copy(update={"actor": None}) for r in rows]
    return rows


@router.get("/cases/{case_id}/check")
@declare(P.SELF)
def case_check(case_id: int, s: Reader, me: Me) -> dict:
    """What is missing or invalid in the case now (after corrections, 容缺 supplements)."""
    case = queries.case(s, case_id)
    access.require_view(s, me, case)
    return cases.report(s, case).shown()


@router.get("/cases/{case_id}/materials/{material_id}")
@declare(P.SELF)
def material_content(case_id: int, material_id: int, s: Reader, me: Me) -> Response:
    case = queries.case(s, case_id)
    access.require_view(s, me, case)
    m = queries.material(s, case_id, material_id)
    ext = m.filename.rsplit(".", 1)[-1].lower() if "." in m.filename else ""
    media = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
    return Response(
        files.content(s, m.sm3),
        media_type=media.get(ext, "application/octet-stream"),
        headers={"X-Content-SM3": m.sm3, "Content-Disposition": "attachment"},
    )


@router.post("/cases/{case_id}/supply", response_model=CaseOut)
@declare(APPLY)
def supply(case_id: int, body: SupplyIn, db: DB, me: Me, conf: Conf) -> dict:
    """The applicant (or the window for them) hands in corrected or 容缺 materials and fields."""
    with unit_of_work(db, me.actor) as uow:
        case = queries.case(uow.session, case_id)
        if not access.is_applicant(uow.session, me, case):
            access.require_window(uow.session, me, case)
        corrections.supply(uow, case_id, body)
        return _shown(uow.session, case, conf, staff=not access.is_applicant(uow.session, me, case))


@router.post("/cases/{case_id}/accept", response_model=CaseOut)
@declare(ACCEPT)
def accept(case_id: int, body: AcceptIn, db: DB, me: Me, conf: Conf) -> dict:
    """受理, or 容缺受理 (`rongque`) with a supplement deadline; starts the limits and the flow."""
    with db.read() as s:
        case = queries.case(s, case_id)
        access.require_window(s, me, case)
    return _step(db, conf, batch.Step("accept", me.actor, case_id=case_id, acceptance=body, stage=case.stage))


@router.post("/cases/{case_id}/refuse", response_model=CaseOut)
@declare(ACCEPT)
def refuse(case_id: int, body: ReasonIn, db: DB, me: Me, conf: Conf) -> dict:
    with unit_of_work(db, me.actor) as uow:
        access.require_window(uow.session, me, queries.case(uow.session, case_id))
        case = acceptance.refuse(uow, case_id, body.reason)
        return _shown(uow.session, case, conf)


@router.post("/cases/{case_id}/corrections", response_model=CaseOut)
@declare(P.SELF)
def ask_corrections(case_id: int, body: CorrectionIn, db: DB, me: Me, conf: Conf) -> dict:
    """补正: before acceptance the window (approvals.accept), during review a department of the current stage
    (approvals.review) asks for everything to correct at once; the clocks pause until it is supplied."""
    with unit_of_work(db, me.actor) as uow:
        case = queries.case(uow.session, case_id)
        if case.status == "submitted":
            access.require_window(uow.session, me, case)
        else:
            access.require_stage(uow.session, me, case, REVIEW)
        case = corrections.request(uow, case_id, body)
        return _shown(uow.session, case, conf)


@router.post("/cases/{case_id}/pause", response_model=CaseOut)
@declare(REVIEW)
def pause(case_id: int, body: PauseIn, db: DB, me: Me, conf: Conf) -> dict:
    """Stop the clocks for a hearing, testing, inspection, quarantine or expert review (excluded time)."""
    with unit_of_work(db, me.actor) as uow:
        access.require_stage(uow.session, me, queries.case(uow.session, case_id), REVIEW)
        case = review.pause(uow, case_id, body.reason, body.note)
        return _shown(uow.session, case, conf)


@router.post("/cases/{case_id}/resume", response_model=CaseOut)
@declare(REVIEW)
def resume(case_id: int, db: DB, me: Me, conf: Conf) -> dict:
    with unit_of_work(db, me.actor) as uow:
        access.require_stage(uow.session, me, queries.case(uow.session, case_id), REVIEW)
        case = review.resume(uow, case_id)
        return _shown(uow.session, case, conf)


@router.post("/cases/{case_id}/decide", response_model=CaseOut)
@declare(DECIDE)
def decide(case_id: int, body: DecideIn, db: DB, me: Me, conf: Conf) -> dict:
    """准予 or 不予许可 (with reasons). An approval issues the certificate; it is refused while 容缺 materials
    are still missing."""
    stage = _stage_of(db, me, case_id, DECIDE)
    what = {"approve": body.approve, "reason": body.reason, "version": body.version}
    return _step(db, conf, batch.Step("decide", me.actor, case_id=case_id, stage=stage, **what))


@router.post("/cases/{case_id}/deliver", response_model=CaseOut)
@declare(ACCEPT)
def deliver(case_id: int, body: DeliverIn, db: DB, me: Me, conf: Conf) -> dict:
    """Delivery of the result: online, at the window, or by mail with a tracking number; ends the case."""
    stage = _stage_of(db, me, case_id, ACCEPT)
    what = {"method": body.method, "tracking_no": body.tracking_no, "note": body.note}
    return _step(db, conf, batch.Step("deliver", me.actor, case_id=case_id, stage=stage, **what))


@router.post("/tasks/{task_id}/conclude", response_model=CaseOut)
@declare(REVIEW)
def conclude(task_id: int, body: ConcludeIn, db: DB, me: Me, conf: Conf) -> dict:
    """A department's review conclusion (approve, or reject with reasons). Send the task `version` you saw: if
    another reviewer acted first, the answer is 409."""
    with db.read() as s:
        access.require_task(s, me, queries.task(s, task_id), REVIEW)
    step = batch.Step(
        "conclude", me.actor, task_id=task_id, approve=body.approve, reason=body.reason, version=body.version
    )
    return _step(db, conf, step)

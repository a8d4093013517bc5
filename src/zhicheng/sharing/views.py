"""Console pages of data sharing: my department's requests and the application form, one request with its
timeline and the steps the caller may take, the inbox of what waits on the caller (most urgent first), and
the grants held and given. Reads go through sharing.queries; writes only through sharing.services, with the
same per-object checks as the API (its helpers are reused)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.catalog import queries as catalog
from zhicheng.catalog import vocab
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.core.orgs.models import Org
from zhicheng.sharing import queries, services
from zhicheng.sharing.access import is_authority, is_party, require_authority
from zhicheng.sharing.permissions import SHARING_DECIDE, SHARING_REQUEST, SHARING_REVIEW
from zhicheng.sharing.schemas import RequestIn
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("数据共享", "共享申请", "/sharing/requests", SHARING_REQUEST, order=62)
nav.add("数据共享", "审核待办", "/sharing/inbox", P.SELF, order=63)
nav.add("数据共享", "我的授权", "/sharing/grants", P.SELF, order=64)

STATUS_ZH = services.STATUS_ZH
CLOCK_BADGE = {"ok": ("ok", "正常"), "warning": ("warn", "即将到期"), "overdue": ("bad", "已超期")}
# the timeline: audit tag → what happened (who and when come from the audit record of the step)
STEP_ZH = {
    "sharing:request:submit": "提交申请",
    "sharing:request:approve": "审核通过",
    "sharing:request:reject": "审核未通过",
    "sharing:request:grant": "提供方同意共享",
    "sharing:request:refuse": "提供方不予共享",
    "sharing:request:dispute": "提出争议",
    "sharing:request:settle": "争议处理",
    "sharing:request:escalate": "超期督办",
}
FIELD_ZH = {
    "purpose": "用途",
    "scenario": "使用场景",
    "system_name": "业务系统名称",
    "items": "信息项",
    "valid_from": "使用期限开始",
    "valid_until": "使用期限结束",
    "resource_id": "数据资源",
}
RACE_ZH, RACE_EN = "已被他人处理，请刷新", "Someone else has acted on it already; please reload"


def _names(s: Session, model: Any, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(s.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def _lookups(s: Session, rows: list[Any]) -> dict[str, Any]:
    """Resource and department names for a list of requests or grants (dicts or objects)."""

    def get(r: Any, k: str) -> Any:
        return r[k] if isinstance(r, dict) else getattr(r, k)

    return {
        "resources": _names(s, Resource, {get(r, "resource_id") for r in rows}),
        "orgs": _names(
            s, Org, {get(r, "consumer_org_id") for r in rows} | {get(r, "provider_org_id") for r in rows}
        ),
        "status_zh": STATUS_ZH,
        "badges": CLOCK_BADGE,
    }


# --- my department's requests and the application form ----------------------------------------------------


@router.get("/sharing/requests")
@access(SHARING_REQUEST)
def request_list(request: Request, s: Reader, me: Me) -> Any:
    rows = queries.requests_in_view(s, "mine", me.paths(SHARING_REQUEST))
    return page(request, "sharing/requests.html", {"rows": rows, **_lookups(s, rows)})


def _form_page(
    request: Request,
    s: Session,
    resource_id: int | None,
    form: dict[str, Any],
    error: str | None,
    status: int,
) -> Any:
    res = s.get(Resource, resource_id) if resource_id else None
    if res is not None and res.status != "published":
        res = None
    items = catalog.items(s, res.id) if res else []
    if res is None and error is None:
        error, status = (
            say(request, "请先在数据资源目录中选择要申请的资源", "Choose a resource in the catalog first"),
            404,
        )
    return page(
        request,
        "sharing/form.html",
        {
            "res": res,
            "items": items,
            "form": form,
            "error": error,
            "share_types": vocab.SHARE_TYPES,
            "provider": s.get(Org, res.provider_org_id) if res else None,
        },
        status,
    )


@router.get("/sharing/requests/new")
@access(SHARING_REQUEST)
def request_new(request: Request, s: Reader, resource: int | None = None) -> Any:
    today = shanghai_today()
    form = {
        "items": [],
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=365)).isoformat(),
    }
    return _form_page(request, s, resource, form, None, 200)


async def _posted(request: Request) -> Any:
    return await request.form()


Posted = Annotated[Any, Depends(_posted)]


def _explain(exc: ValidationError, lang: str) -> str:
    parts = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e.get("loc") else ""
        label = FIELD_ZH.get(field, field)
        if lang == "en":
            parts.append(f"{field}: {e['msg']}")
        elif e["type"] == "missing" or e["type"] == "too_short" and field == "items":
            parts.append(f"{label}：{'请至少选择一项' if field == 'items' else '必填'}")
        elif e["type"] == "string_too_short":
            parts.append(f"{label}：至少 {e['ctx']['min_length']} 个字")
        elif e["type"].startswith("date"):
            parts.append(f"{label}：应为日期（年-月-日）")
        else:
            parts.append(f"{label}：无效")
    return ("；" if lang == "zh" else "; ").join(parts)


@router.post("/sharing/requests/new")
@access(SHARING_REQUEST)
def request_create(request: Request, db: DB, me: Me, posted: Posted) -> Any:
    form = {
        k: (posted.get(k) or "").strip()
        for k in ("purpose", "scenario", "system_name", "valid_from", "valid_until")
    }
    form["items"] = posted.getlist("items")
    raw_id = (posted.get("resource_id") or "").strip()
    resource_id = int(raw_id) if raw_id.isdigit() else None
    try:
        consumer = me.actor.org_id
        if consumer is None:
            raise Invalid("您的账号不属于任何部门，不能申请", "your account belongs to no department")
        data = RequestIn.model_validate({**{k: v for k, v in form.items() if v}, "resource_id": resource_id})
        with unit_of_work(db, me.actor) as uow:
            require(me, SHARING_REQUEST, queries.org_path(uow.session, consumer) or None)
            rid = services.submit(uow, data, consumer).id
    except ValidationError as exc:
        message, status = _explain(exc, request_lang(request)), 422
        with db.read() as s:
            return _form_page(request, s, resource_id, form, message, status)
    except DomainError as exc:
        message, status = failure(request, exc, (RACE_ZH, RACE_EN))
        with db.read() as s:
            return _form_page(request, s, resource_id, form, message, status)
    return done(f"/sharing/requests/{rid}", say(request, f"已提交共享申请 {rid}", f"Request {rid} submitted"))


# --- one request: timeline and the steps the caller may take ------------------------------------------------


def _timeline(s: Session, req: Any) -> list[dict[str, Any]]:
    """Who did what when, from the audit records of the request (they carry the reasons too; an approval's
    optional note is on the request)."""
    records = s.scalars(
        select(AuditRecord)
        .where(AuditRecord.subject == f"request:{req.id}", AuditRecord.tag.in_(STEP_ZH))
        .order_by(AuditRecord.id)
    )
    steps = []
    for r in records:
        change = json.loads(r.change)
        step = STEP_ZH[r.tag]
        if r.tag == "sharing:request:settle":
            step = "争议成立，予以共享" if change.get("upheld") else "争议不成立，维持不予共享"
        reason = change.get("reason") or (req.review_reason if r.tag == "sharing:request:approve" else None)
        steps.append({"step": step, "at": r.at, "actor": r.actor, "reason": reason})
    return steps


def _actions(me: Any, s: Session, req: Any) -> list[str]:
    consumer, provider = queries.org_path(s, req.consumer_org_id), queries.org_path(s, req.provider_org_id)
    authority = is_authority(me, s, req)
    can = {
        "review": req.status == "submitted" and authority,
        "decide": req.status == "awaiting_provider" and me.can(SHARING_DECIDE, provider),
        "dispute": req.status == "refused" and me.can(SHARING_REQUEST, consumer),
        "settle": req.status == "disputed" and authority,
    }
    return [k for k, ok in can.items() if ok]


def _detail(
    request: Request,
    s: Session,
    me: Any,
    request_id: int,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Any:
    req = queries.request(s, request_id)
    if not is_party(me, s, req):
        raise Forbidden()
    shown = queries.shown(s, req)
    return page(
        request,
        "sharing/detail.html",
        {
            "req": shown,
            "res": s.get(Resource, req.resource_id),
            "timeline": _timeline(s, req),
            "actions": _actions(me, s, req),
            "error": error,
            "typed": typed or {},
            **_lookups(s, [shown]),
        },
        status,
    )


@router.get("/sharing/requests/{request_id}")
@access(P.SELF)
def request_detail(request: Request, request_id: int, s: Reader, me: Me) -> Any:
    return _detail(request, s, me, request_id)


def _step(
    request: Request,
    db: Any,
    me: Any,
    request_id: int,
    action: str,
    reason: str,
    run: Any,
    ok: tuple[str, str],
) -> Any:
    """Run one step in its own transaction; on a domain error show the request again with the message."""
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow, queries.request(uow.session, request_id))
    except DomainError as exc:
        if exc.status == 404 or isinstance(exc, Forbidden):
            raise
        message, status = failure(request, exc, (RACE_ZH, RACE_EN))
        with db.read() as s:
            return _detail(request, s, me, request_id, message, status, {action: reason})
    return done(f"/sharing/requests/{request_id}", say(request, *ok))


Reason = Annotated[str, Form()]


@router.post("/sharing/requests/{request_id}/review")
@access(SHARING_REVIEW)
def request_review(
    request: Request,
    request_id: int,
    db: DB,
    me: Me,
    approve: Annotated[str, Form()] = "",
    reason: Reason = "",
) -> Any:
    yes = approve == "1"

    def run(uow: Any, req: Any) -> None:
        require_authority(me, uow.session, req)
        services.review(uow, request_id, yes, reason)

    ok = ("审核通过", "Approved") if yes else ("已退回：审核未通过", "Rejected")
    return _step(request, db, me, request_id, "review", reason, run, ok)


@router.post("/sharing/requests/{request_id}/decide")
@access(SHARING_DECIDE)
def request_decide(
    request: Request, request_id: int, db: DB, me: Me, grant: Annotated[str, Form()] = "", reason: Reason = ""
) -> Any:
    yes = grant == "1"

    def run(uow: Any, req: Any) -> None:
        require(me, SHARING_DECIDE, queries.org_path(uow.session, req.provider_org_id))
        services.decide(uow, request_id, yes, reason)

    ok = ("已同意共享，授权已生成", "Granted") if yes else ("已答复不予共享", "Refused")
    return _step(request, db, me, request_id, "decide", reason, run, ok)


@router.post("/sharing/requests/{request_id}/dispute")
@access(SHARING_REQUEST)
def request_dispute(request: Request, request_id: int, db: DB, me: Me, reason: Reason = "") -> Any:
    def run(uow: Any, req: Any) -> None:
        require(me, SHARING_REQUEST, queries.org_path(uow.session, req.consumer_org_id))
        services.dispute(uow, request_id, reason)

    return _step(request, db, me, request_id, "dispute", reason, run, ("已提出争议", "Dispute filed"))


@router.post("/sharing/requests/{request_id}/settle")
@access(SHARING_REVIEW)
def request_settle(
    request: Request,
    request_id: int,
    db: DB,
    me: Me,
    upheld: Annotated[str, Form()] = "",
    reason: Reason = "",
) -> Any:
    yes = upheld == "1"

    def run(uow: Any, req: Any) -> None:
        require_authority(me, uow.session, req)
        services.settle(uow, request_id, yes, reason)

    ok = (
        ("争议成立，已授权", "Dispute upheld; granted")
        if yes
        else ("争议不成立，维持不予共享", "Dispute dismissed")
    )
    return _step(request, db, me, request_id, "settle", reason, run, ok)


# --- the inbox: what waits on the caller, the fewest working days left first --------------------------------


@router.get("/sharing/inbox")
@access(P.SELF)
def inbox(request: Request, s: Reader, me: Me) -> Any:
    review_paths, decide_paths = me.paths(SHARING_REVIEW), me.paths(SHARING_DECIDE)
    review = queries.requests_in_view(s, "review", review_paths) if review_paths else None
    decide = queries.requests_in_view(s, "decide", decide_paths) if decide_paths else None
    rows = (review or []) + (decide or [])
    return page(request, "sharing/inbox.html", {"review": review, "decide": decide, **_lookups(s, rows)})


# --- grants held and given ----------------------------------------------------------------------------------


def _grants(request: Request, s: Session, me: Any, error: str | None = None, status: int = 200) -> Any:
    mine_paths, provided_paths = me.paths(SHARING_REQUEST), me.paths(SHARING_DECIDE)
    mine = queries.grants_in_view(s, "mine", mine_paths) if mine_paths else None
    provided = queries.grants_in_view(s, "provided", provided_paths) if provided_paths else None
    revocable = {
        g.id
        for g in (provided or [])
        if g.status == "active"
        and (me.can(SHARING_DECIDE, queries.org_path(s, g.provider_org_id)) or is_authority(me, s, g))
    }
    return page(
        request,
        "sharing/grants.html",
        {
            "mine": mine,
            "provided": provided,
            "revocable": revocable,
            "error": error,
            **_lookups(s, (mine or []) + (provided or [])),
        },
        status,
    )


@router.get("/sharing/grants")
@access(P.SELF)
def grant_list(request: Request, s: Reader, me: Me) -> Any:
    return _grants(request, s, me)


@router.post("/sharing/grants/{grant_id}/revoke")
@access(P.SELF)
def grant_revoke(request: Request, grant_id: int, db: DB, me: Me, reason: Reason = "") -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            grant = queries.grant(uow.session, grant_id)
            provider = queries.org_path(uow.session, grant.provider_org_id)
            if not (me.can(SHARING_DECIDE, provider) or is_authority(me, uow.session, grant)):
                raise Forbidden("无权撤销该授权", "only the provider or the data authority may revoke it")
            services.revoke(uow, grant_id, reason)
    except DomainError as exc:
        if exc.status == 404 or isinstance(exc, Forbidden):
            raise
        message, status = failure(request, exc, (RACE_ZH, RACE_EN))
        with db.read() as s:
            return _grants(request, s, me, message, status)
    return done("/sharing/grants", say(request, f"已撤销授权 {grant_id}", f"Grant {grant_id} revoked"))

"""Console pages of data quality: the inbox of what waits on the caller (the fewest working days left first),
a resource's quality page (timeliness, completeness bars, corrections, maintenance tasks), the correction
form, one correction with its timeline and the provider's answer. Reads go through quality.queries, writes
only through quality.services, with the same per-object checks as the API (quality.access)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.catalog import queries as catalog
from zhicheng.catalog import vocab
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.core.orgs.models import Org
from zhicheng.quality import access, queries, services
from zhicheng.quality.permissions import AUTHORITY, CONSUMER, PROVIDER, READ
from zhicheng.quality.schemas import CorrectionIn
from zhicheng.sharing.permissions import SHARING_REQUEST
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access as route_access

router = APIRouter(include_in_schema=False)
nav.add("数据质量", "质量待办", "/quality/inbox", P.SELF, order=70)
nav.add("数据质量", "数据纠错", "/quality/corrections", SHARING_REQUEST, order=71)

CLOCK_BADGE = {"ok": ("ok", "正常"), "warning": ("warn", "即将到期"), "overdue": ("bad", "已超期")}
CLEARED_ZH = {"updated": "数据已更新", "cycle": "更新周期已调整", "retired": "资源已撤销"}
STEP_ZH = {
    "quality:correction:report": "报告数据错误",
    "quality:correction:correct": "提供方已更正",
    "quality:correction:reject": "提供方不予更正",
    "quality:correction:escalate": "超期督办",
}
FIELD_ZH = {"item": "信息项", "record_key": "记录标识", "problem": "错误说明", "suggested": "建议值"}
RACE_ZH, RACE_EN = "已被他人处理，请刷新", "Someone else has acted on it already; please reload"
Text = Annotated[str, Form()]


def _lookups(s: Session, rows: list[Any]) -> dict[str, Any]:
    def get(r: Any, k: str) -> Any:
        return r.get(k) if isinstance(r, dict) else getattr(r, k, None)

    resources = {get(r, "resource_id") for r in rows}
    orgs = {get(r, "consumer_org_id") for r in rows} | {get(r, "provider_org_id") for r in rows}
    return {
        **queries.names(s, {i for i in resources if i}, {i for i in orgs if i}),
        "status_zh": services.STATUS_ZH,
        "task_zh": services.TASK_STATUS_ZH,
        "cycles": vocab.UPDATE_CYCLES,
        "badges": CLOCK_BADGE,
    }


def _failure(request: Request, exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ValidationError):
        return _explain(request, exc), 422
    return failure(request, exc, (RACE_ZH, RACE_EN))


def _explain(request: Request, exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e.get("loc") else ""
        if say(request, "zh", "en") == "en":
            parts.append(f"{field}: {e['msg']}")
        elif e["type"] == "missing":
            parts.append(f"{FIELD_ZH.get(field, field)}：必填")
        elif e["type"] == "string_too_short":
            parts.append(f"{FIELD_ZH.get(field, field)}：至少 {e['ctx']['min_length']} 个字")
        else:
            parts.append(f"{FIELD_ZH.get(field, field)}：无效")
    return say(request, "；", "; ").join(parts)


# --- the inbox ----------------------------------------------------------------------------------------------


@router.get("/quality/inbox")
@route_access(P.SELF)
def inbox(request: Request, s: Reader, me: Me) -> Any:
    """Provider: corrections to answer, catalog entries to update, stale data. Data authority: escalated
    corrections, the maintenance tasks it oversees, stale data per department."""
    provided, review = access.paths(me, *PROVIDER), access.paths(me, AUTHORITY)
    ctx: dict[str, Any] = {"provided": None, "review": None}
    rows: list[Any] = []
    if provided:
        ctx["provided"] = {
            "corrections": queries.corrections_in_view(s, "provided", provided, "submitted"),
            "tasks": queries.tasks_in_view(s, provided, "open"),
            "issues": queries.issues_in_view(s, provided),
        }
        rows += [*ctx["provided"]["corrections"], *ctx["provided"]["tasks"], *ctx["provided"]["issues"]]
    if review:
        ctx["review"] = {
            "corrections": queries.corrections_in_view(s, "review", review, "submitted", escalated=True),
            "tasks": queries.tasks_in_view(s, review, "open"),
            "stale": queries.stale_by_department(s, review),
        }
        rows += [*ctx["review"]["corrections"], *ctx["review"]["tasks"]]
    return page(request, "quality/inbox.html", {**ctx, **_lookups(s, rows)})


# --- a resource's quality -----------------------------------------------------------------------------------


def _resource_page(
    request: Request, s: Session, me: Principal, resource_id: int, error: str | None = None, status: int = 200
) -> Any:
    found = queries.resource_quality(s, resource_id)
    provider = queries.org_path(s, found["provider_org_id"])
    is_provider = access.any_of(me, PROVIDER, provider)
    is_authority = access.any_of(me, (AUTHORITY,), provider)

    def visible(c: dict[str, Any]) -> bool:  # as the API's per-object check: provider, consumer or authority
        consumer = queries.org_path(s, c["consumer_org_id"])
        authority = is_authority and access.any_of(me, (AUTHORITY,), consumer)
        return is_provider or authority or access.any_of(me, CONSUMER, consumer)

    listed = queries.corrections_in_view(s, "provided", [provider], resource_id=resource_id)
    corrections = [c for c in listed if visible(c)]
    tasks = (
        queries.tasks_in_view(s, [provider], resource_id=resource_id) if is_provider or is_authority else []
    )
    issues = queries.issues_in_view(s, [provider], open_only=False, resource_id=resource_id)
    return page(
        request,
        "quality/resource.html",
        {
            "q": found,
            "res": catalog.resource(s, resource_id),
            "corrections": corrections,
            "tasks": tasks,
            "issues": issues[:20],
            "cleared_zh": CLEARED_ZH,
            "can_report": found["status"] == "published" and bool(access.paths(me, *CONSUMER)),
            "can_open": found["status"] == "published" and is_authority and not found["open_task_id"],
            "can_cancel": is_authority,
            "error": error,
            **_lookups(
                s,
                [
                    *corrections,
                    *tasks,
                    *issues,
                    {"resource_id": resource_id, "provider_org_id": found["provider_org_id"]},
                ],
            ),
        },
        status,
    )


@router.get("/quality/resources/{resource_id}")
@route_access(READ)
def resource_page(request: Request, resource_id: int, s: Reader, me: Me) -> Any:
    return _resource_page(request, s, me, resource_id)


def _act(
    request: Request,
    db: Database,
    me: Principal,
    run: Callable[[UnitOfWork], Any],
    back: str,
    again: Callable[[Session, str, int], Any],
    ok: tuple[str, str],
) -> Any:
    """Run one step in its own transaction; on a domain error show the page again with the message."""
    try:
        with unit_of_work(db, me.actor) as uow:
            run(uow)
    except DomainError as exc:
        if exc.status == 404 or isinstance(exc, Forbidden):
            raise
        message, status = _failure(request, exc)
        with db.read() as s:
            return again(s, message, status)
    return done(back, say(request, *ok))


@router.post("/quality/resources/{resource_id}/tasks")
@route_access(AUTHORITY)
def task_open(request: Request, resource_id: int, db: DB, me: Me, reason: Text = "") -> Any:
    def run(uow: UnitOfWork) -> None:
        access.require_authority_over(
            me, uow.session, queries.resource(uow.session, resource_id).provider_org_id
        )
        services.open_task(uow, resource_id, reason)

    return _act(
        request,
        db,
        me,
        run,
        f"/quality/resources/{resource_id}",
        lambda s, m, st: _resource_page(request, s, me, resource_id, m, st),
        ("已下达目录维护任务", "Maintenance task opened"),
    )


@router.post("/quality/tasks/{task_id}/cancel")
@route_access(AUTHORITY)
def task_cancel(request: Request, task_id: int, db: DB, me: Me, reason: Text = "") -> Any:
    with db.read() as s:
        resource_id = queries.task(s, task_id).resource_id

    def run(uow: UnitOfWork) -> None:
        access.require_authority_over(me, uow.session, queries.task(uow.session, task_id).provider_org_id)
        services.cancel_task(uow, task_id, reason)

    return _act(
        request,
        db,
        me,
        run,
        f"/quality/resources/{resource_id}",
        lambda s, m, st: _resource_page(request, s, me, resource_id, m, st),
        ("已取消目录维护任务", "Maintenance task cancelled"),
    )


# --- corrections --------------------------------------------------------------------------------------------


@router.get("/quality/corrections")
@route_access(P.SELF)
def correction_list(request: Request, s: Reader, me: Me) -> Any:
    paths = access.paths(me, *CONSUMER)
    if not paths:
        raise Forbidden()
    rows = queries.corrections_in_view(s, "mine", paths)
    return page(request, "quality/corrections.html", {"rows": rows, **_lookups(s, rows)})


def _form_page(
    request: Request,
    s: Session,
    resource_id: int | None,
    form: dict[str, str],
    error: str | None,
    status: int,
) -> Any:
    res = catalog.resource(s, resource_id) if resource_id else None
    if res is not None and res.status != "published":
        res = None
    if res is None and error is None:
        error = say(request, "请先在数据资源目录中选择资源", "Choose a resource in the catalog first")
        status = 404
    return page(
        request,
        "quality/form.html",
        {
            "res": res,
            "items": catalog.items(s, res.id) if res else [],
            "form": form,
            "error": error,
            "provider": s.get(Org, res.provider_org_id) if res else None,
            "days": services.CORRECTION_DAYS,
        },
        status,
    )


@router.get("/quality/corrections/new")
@route_access(P.SELF)
def correction_new(request: Request, s: Reader, me: Me, resource: int | None = None) -> Any:
    if not access.paths(me, *CONSUMER):
        raise Forbidden()
    return _form_page(request, s, resource, {}, None, 200)


@router.post("/quality/corrections/new")
@route_access(P.SELF)
def correction_create(
    request: Request,
    db: DB,
    me: Me,
    resource_id: Text = "",
    item: Text = "",
    record_key: Text = "",
    problem: Text = "",
    suggested: Text = "",
) -> Any:
    form = {
        "item": item,
        "record_key": record_key.strip(),
        "problem": problem.strip(),
        "suggested": suggested,
    }
    rid = int(resource_id) if resource_id.strip().isdigit() else None
    try:
        consumer = me.actor.org_id
        if consumer is None:
            raise Invalid("您的账号不属于任何部门，不能报告纠错", "your account belongs to no department")
        data = CorrectionIn.model_validate({**{k: v for k, v in form.items() if v}, "resource_id": rid or 0})
        with unit_of_work(db, me.actor) as uow:
            access.require_consumer(me, uow.session, consumer)
            cid = services.report(uow, data, consumer).id
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, Forbidden):
            raise
        message, status = _failure(request, exc)
        with db.read() as s:
            return _form_page(request, s, rid, form, message, status)
    return done(
        f"/quality/corrections/{cid}", say(request, f"已报告数据纠错 {cid}", f"Correction {cid} reported")
    )


def _timeline(s: Session, correction_id: int) -> list[dict[str, Any]]:
    records = s.scalars(
        select(AuditRecord)
        .where(AuditRecord.subject == f"correction:{correction_id}", AuditRecord.tag.in_(STEP_ZH))
        .order_by(AuditRecord.id)
    )
    return [
        {"step": STEP_ZH[r.tag], "at": r.at, "actor": r.actor, "reason": json.loads(r.change).get("reason")}
        for r in records
    ]


def _detail(
    request: Request,
    s: Session,
    me: Principal,
    correction_id: int,
    error: str | None = None,
    status: int = 200,
    typed: str = "",
) -> Any:
    c = queries.correction(s, correction_id)
    access.require_party(me, s, c)
    shown = queries.shown_correction(s, c)
    return page(
        request,
        "quality/correction.html",
        {
            "c": shown,
            "res": catalog.resource(s, c.resource_id),
            "timeline": _timeline(s, c.id),
            "can_answer": c.status == "submitted" and access.is_provider(me, s, c),
            "error": error,
            "typed": typed,
            **_lookups(s, [shown]),
        },
        status,
    )


@router.get("/quality/corrections/{correction_id}")
@route_access(P.SELF)
def correction_detail(request: Request, correction_id: int, s: Reader, me: Me) -> Any:
    return _detail(request, s, me, correction_id)


@router.post("/quality/corrections/{correction_id}/answer")
@route_access(P.SELF)
def correction_answer(
    request: Request, correction_id: int, db: DB, me: Me, corrected: Text = "", note: Text = ""
) -> Any:
    yes = corrected == "1"

    def run(uow: UnitOfWork) -> None:
        access.require_provider(me, uow.session, queries.correction(uow.session, correction_id))
        services.answer(uow, correction_id, yes, note)

    return _act(
        request,
        db,
        me,
        run,
        f"/quality/corrections/{correction_id}",
        lambda s, m, st: _detail(request, s, me, correction_id, m, st, note),
        ("已答复：数据已更正", "Answered: corrected") if yes else ("已答复：不予更正", "Answered: rejected"),
    )

"""JSON routes of data quality under /api/v1/quality. Routes declare what a caller must hold somewhere;
each object is then checked against the consumer's or the provider's department (see quality.access)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.quality import access, queries, services
from zhicheng.quality.permissions import AUTHORITY, CONSUMER, PROVIDER, READ
from zhicheng.quality.schemas import (
    AnswerIn,
    CorrectionIn,
    CorrectionOut,
    IssueOut,
    ReasonIn,
    ResourceQualityOut,
    TaskIn,
    TaskOut,
)
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access as route_access

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])
CORRECTION_VIEWS = {"mine": CONSUMER, "provided": PROVIDER, "review": (AUTHORITY,)}
TASK_VIEWS = {"provided": PROVIDER, "review": (AUTHORITY,)}


def view_paths(me: Principal, view: str, views: dict[str, tuple[str, ...]]) -> list[str]:
    if view not in views:
        raise Invalid(f"视图应为 {sorted(views)} 之一", f"view must be one of {sorted(views)}")
    paths = access.paths(me, *views[view])
    if not paths:
        raise Forbidden()
    return paths


# --- timeliness and completeness ----------------------------------------------------------------------------


@router.get("/resources/{resource_id}", response_model=ResourceQualityOut)
@route_access(READ)
def resource_quality(resource_id: int, s: Reader) -> dict:
    """Timeliness against the update cycle, completeness of hosted rows (counts only, no values)."""
    return queries.resource_quality(s, resource_id)


@router.get("/issues", response_model=list[IssueOut])
@route_access(P.SELF)
def list_issues(
    s: Reader,
    me: Me,
    view: str = Query("provided", description="provided | review"),
    open_only: bool = Query(True, alias="open", description="only the issues not cleared yet"),
) -> list:
    """Stale data of the provider departments the caller manages (provided) or oversees (review)."""
    return queries.issues_in_view(s, view_paths(me, view, TASK_VIEWS), open_only)


# --- corrections --------------------------------------------------------------------------------------------


@router.post("/corrections", response_model=CorrectionOut, status_code=201)
@route_access(P.SELF)
def report(body: CorrectionIn, db: DB, me: Me) -> dict:
    """Report wrong data for a department: the caller's own unless `consumer_org_id` names another."""
    consumer = body.consumer_org_id or me.actor.org_id
    if consumer is None:
        raise Invalid("请指定报告部门", "name the reporting department (consumer_org_id)")
    with unit_of_work(db, me.actor) as uow:
        access.require_consumer(me, uow.session, consumer)
        c = services.report(uow, body, consumer)
        return queries.shown_correction(uow.session, c)


@router.get("/corrections", response_model=list[CorrectionOut])
@route_access(P.SELF)
def list_corrections(
    s: Reader,
    me: Me,
    view: str = Query("mine", description="mine | provided | review"),
    status: str | None = Query(None, description="submitted | corrected | rejected"),
    resource_id: int | None = None,
) -> list:
    paths = view_paths(me, view, CORRECTION_VIEWS)
    return queries.corrections_in_view(s, view, paths, status, resource_id)


@router.get("/corrections/{correction_id}", response_model=CorrectionOut)
@route_access(P.SELF)
def get_correction(correction_id: int, s: Reader, me: Me) -> dict:
    c = queries.correction(s, correction_id)
    access.require_party(me, s, c)
    return queries.shown_correction(s, c)


@router.post("/corrections/{correction_id}/answer", response_model=CorrectionOut)
@route_access(P.SELF)
def answer(correction_id: int, body: AnswerIn, db: DB, me: Me) -> dict:
    """The provider: corrected (a note optional) or rejected (reasons of at least 10 characters)."""
    with unit_of_work(db, me.actor) as uow:
        access.require_provider(me, uow.session, queries.correction(uow.session, correction_id))
        c = services.answer(uow, correction_id, body.corrected, body.note)
        return queries.shown_correction(uow.session, c)


# --- catalog maintenance tasks ------------------------------------------------------------------------------


@router.post("/tasks", response_model=TaskOut, status_code=201)
@route_access(AUTHORITY)
def open_task(body: TaskIn, db: DB, me: Me) -> dict:
    """The data authority: a resource's catalog entry must be updated within 15 working days."""
    with unit_of_work(db, me.actor) as uow:
        res = queries.resource(uow.session, body.resource_id)
        access.require_authority_over(me, uow.session, res.provider_org_id)
        t = services.open_task(uow, body.resource_id, body.reason)
        return queries.shown_task(uow.session, t)


@router.get("/tasks", response_model=list[TaskOut])
@route_access(P.SELF)
def list_tasks(
    s: Reader,
    me: Me,
    view: str = Query("provided", description="provided | review"),
    status: str | None = Query(None, description="open | done | cancelled"),
    resource_id: int | None = None,
) -> list:
    return queries.tasks_in_view(s, view_paths(me, view, TASK_VIEWS), status, resource_id)


@router.get("/tasks/{task_id}", response_model=TaskOut)
@route_access(P.SELF)
def get_task(task_id: int, s: Reader, me: Me) -> dict:
    t = queries.task(s, task_id)
    access.require_party(me, s, t)
    return queries.shown_task(s, t)


@router.post("/tasks/{task_id}/cancel", response_model=TaskOut)
@route_access(AUTHORITY)
def cancel_task(task_id: int, body: ReasonIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        access.require_authority_over(me, uow.session, queries.task(uow.session, task_id).provider_org_id)
        t = services.cancel_task(uow, task_id, body.reason)
        return queries.shown_task(uow.session, t)

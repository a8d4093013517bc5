"""JSON routes of sharing under /api/v1/sharing. Each route declares its permission; each object is then
checked against the consumer's or the provider's department (the data authority needs both)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.sharing import queries, services
from zhicheng.sharing.access import is_authority, is_party, require_authority
from zhicheng.sharing.permissions import SHARING_DECIDE, SHARING_REQUEST, SHARING_REVIEW
from zhicheng.sharing.schemas import DecideIn, GrantOut, ReasonIn, RequestIn, RequestOut, ReviewIn, SettleIn
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])
VIEW_PERMISSION = {"mine": SHARING_REQUEST, "review": SHARING_REVIEW, "decide": SHARING_DECIDE}


def _view_paths(me: Principal, view: str, permissions: dict[str, str]) -> list[str]:
    if view not in permissions:
        raise Invalid(f"视图应为 {sorted(permissions)} 之一", f"view must be one of {sorted(permissions)}")
    paths = me.paths(permissions[view])
    if not paths:
        raise Forbidden()
    return paths


@router.post("/requests", response_model=RequestOut, status_code=201)
@access(SHARING_REQUEST)
def submit(body: RequestIn, db: DB, me: Me) -> dict:
    """Apply on behalf of a department: the caller's own unless `consumer_org_id` names another."""
    consumer = body.consumer_org_id or me.actor.org_id
    if consumer is None:
        raise Invalid("请指定申请部门", "name the consumer department (consumer_org_id)")
    with unit_of_work(db, me.actor) as uow:
        require(me, SHARING_REQUEST, queries.org_path(uow.session, consumer) or None)
        req = services.submit(uow, body, consumer)
        return queries.shown(uow.session, req)


@router.get("/requests", response_model=list[RequestOut])
@access(P.SELF)
def list_requests(
    s: Reader,
    me: Me,
    view: str = Query("mine", description="mine | review | decide"),
    status: str | None = None,
) -> list:
    return queries.requests_in_view(s, view, _view_paths(me, view, VIEW_PERMISSION), status)


@router.get("/requests/{request_id}", response_model=RequestOut)
@access(P.SELF)
def get_request(request_id: int, s: Reader, me: Me) -> dict:
    req = queries.request(s, request_id)
    if not is_party(me, s, req):
        raise Forbidden()
    return queries.shown(s, req)


@router.post("/requests/{request_id}/review", response_model=RequestOut)
@access(SHARING_REVIEW)
def review(request_id: int, body: ReviewIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        require_authority(me, uow.session, queries.request(uow.session, request_id))
        req = services.review(uow, request_id, body.approve, body.reason)
        return queries.shown(uow.session, req)


@router.post("/requests/{request_id}/decide", response_model=RequestOut)
@access(SHARING_DECIDE)
def decide(request_id: int, body: DecideIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        req = queries.request(uow.session, request_id)
        require(me, SHARING_DECIDE, queries.org_path(uow.session, req.provider_org_id))
        req = services.decide(uow, request_id, body.grant, body.reason)
        return queries.shown(uow.session, req)


@router.post("/requests/{request_id}/dispute", response_model=RequestOut)
@access(SHARING_REQUEST)
def dispute(request_id: int, body: ReasonIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        req = queries.request(uow.session, request_id)
        require(me, SHARING_REQUEST, queries.org_path(uow.session, req.consumer_org_id))
        req = services.dispute(uow, request_id, body.reason)
        return queries.shown(uow.session, req)


@router.post("/requests/{request_id}/settle", response_model=RequestOut)
@access(SHARING_REVIEW)
def settle(request_id: int, body: SettleIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        require_authority(me, uow.session, queries.request(uow.session, request_id))
        req = services.settle(uow, request_id, body.upheld, body.reason)
        return queries.shown(uow.session, req)


@router.get("/grants", response_model=list[GrantOut])
@access(P.SELF)
def list_grants(s: Reader, me: Me, view: str = Query("mine", description="mine | provided")) -> list:
    permissions = {"mine": SHARING_REQUEST, "provided": SHARING_DECIDE}
    return queries.grants_in_view(s, view, _view_paths(me, view, permissions))


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
@access(P.SELF)
def revoke(grant_id: int, body: ReasonIn, db: DB, me: Me) -> object:
    """The provider (sharing.decide over it) or the data authority may revoke a grant."""
    with unit_of_work(db, me.actor) as uow:
        grant = queries.grant(uow.session, grant_id)
        provider = queries.org_path(uow.session, grant.provider_org_id)
        if not (me.can(SHARING_DECIDE, provider) or is_authority(me, uow.session, grant)):
            raise Forbidden("无权撤销该授权", "only the provider or the data authority may revoke it")
        return services.revoke(uow, grant_id, body.reason)

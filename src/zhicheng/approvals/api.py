"""JSON routes of the service item catalog and the flows, under /api/v1/approvals. Anyone signed in may read
the catalog (it is the public 办事指南); keeping items and flows needs approvals.items over the implementing
(or owning) organization."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from zhicheng.approvals import flowdef, flows, items, queries
from zhicheng.approvals.permissions import ITEMS
from zhicheng.approvals.schemas import (
    FlowCheckIn,
    FlowIn,
    FlowOut,
    ItemBody,
    ItemIn,
    ItemOut,
    ReasonIn,
    VersionOut,
)
from zhicheng.approvals.vocab import ITEM_KINDS, key_for
from zhicheng.core.auth import permissions as P
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.paging import check_limit, encode
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])


@router.get("/items")
@access(P.SELF)
def list_items(
    s: Reader,
    q: str | None = None,
    org_id: int | None = Query(None, description="implementing or deciding organization"),
    kind: str | None = Query(None, description="行政许可, 公共服务, ... or license, public_service, ..."),
    status: str = Query("active", description="active | retired | all"),
    limit: int = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    check_limit(limit)
    if kind and key_for(ITEM_KINDS, kind) is None:
        raise Invalid(f"事项类型 {kind} 未知", f"unknown item kind {kind}")
    rows = queries.items(
        s,
        q,
        org_id,
        key_for(ITEM_KINDS, kind) if kind else None,
        None if status == "all" else status,
        limit,
        cursor,
    )
    page = rows[:limit]
    nxt = encode(page[-1].id) if len(rows) > limit and page else None
    return {"items": queries.items_out(s, page), "next_cursor": nxt}


@router.post("/items", response_model=ItemOut, status_code=201)
@access(ITEMS)
def create_item(body: ItemIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        require(me, ITEMS, queries.org_path(uow.session, body.org_id) or None)
        item = items.create_item(uow, body)
        return queries.item_out(uow.session, item)


@router.get("/items/{code}", response_model=ItemOut)
@access(P.SELF)
def get_item(code: str, s: Reader) -> dict:
    return queries.item_out(s, queries.item(s, code))


@router.put("/items/{code}", response_model=ItemOut)
@access(ITEMS)
def update_item(code: str, body: ItemBody, db: DB, me: Me) -> dict:
    """New values; a new version is kept when anything changed. Moving an item to another organization needs
    the permission over both."""
    with unit_of_work(db, me.actor) as uow:
        current = queries.item(uow.session, code)
        require(me, ITEMS, queries.org_path(uow.session, current.org_id))
        require(me, ITEMS, queries.org_path(uow.session, body.org_id) or None)
        item, _changed = items.update_item(uow, code, body)
        return queries.item_out(uow.session, item)


@router.post("/items/{code}/retire", response_model=ItemOut)
@access(ITEMS)
def retire_item(code: str, body: ReasonIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        require(me, ITEMS, queries.org_path(uow.session, queries.item(uow.session, code).org_id))
        return queries.item_out(uow.session, items.retire_item(uow, code, body.reason))


@router.get("/items/{code}/versions", response_model=list[VersionOut])
@access(P.SELF)
def item_versions(code: str, s: Reader) -> list:
    return queries.versions(s, code)


@router.get("/items/{code}/versions/{version}", response_model=VersionOut)
@access(P.SELF)
def item_version(code: str, version: int, s: Reader) -> object:
    return queries.version(s, code, version)


@router.get("/flows", response_model=list[FlowOut])
@access(P.SELF)
def list_flows(s: Reader) -> list:
    return [queries.flow_out(s, f) for f in queries.flows_latest(s)]


@router.post("/flows", response_model=FlowOut, status_code=201)
@access(ITEMS)
def publish_flow(body: FlowIn, db: DB, me: Me) -> dict:
    """Publish a flow: version 1, or the next version of an existing code (versions are immutable; cases keep
    theirs). Publishing the definition in force again returns it unchanged."""
    with unit_of_work(db, me.actor) as uow:
        require(me, ITEMS, queries.org_path(uow.session, body.owner_org_id) or None)
        row, _new = flows.publish(uow, body)
        return queries.flow_out(uow.session, row)


@router.post("/flows/validate")
@access(ITEMS)
def validate_flow(body: FlowCheckIn, s: Reader) -> dict:
    """Check a definition without saving it: every problem at once, or the stages in order."""
    try:
        flow = flows.check(s, body.definition)
    except flowdef.FlowInvalid as exc:
        return {"valid": False, "errors": exc.extra["errors"]}
    return {
        "valid": True,
        "errors": [],
        "stages": [{"id": st.id, "kind": st.kind, "name": st.name, "days": st.days} for st in flow.path()],
        "decision_days": flow.decision_days(),
    }


@router.get("/flows/{code}", response_model=FlowOut)
@access(P.SELF)
def get_flow(code: str, s: Reader) -> dict:
    try:
        row = flows.latest(s, code)
    except Invalid:
        raise NotFound(f"办理流程 {code} 不存在", f"flow {code} not found") from None
    return queries.flow_out(s, row)


@router.get("/flows/{code}/versions/{version}", response_model=FlowOut)
@access(P.SELF)
def get_flow_version(code: str, version: int, s: Reader) -> dict:
    return queries.flow_out(s, flows.version(s, code, version))

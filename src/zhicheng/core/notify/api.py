"""The signed-in person's site messages (the inbox), and the outbox for operators.

The inbox holds the delivered site messages addressed to the user or to the party (citizen or enterprise)
the user logs in for. API tokens belong to systems, which have no inbox.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.notify import queries, services
from zhicheng.core.notify.schemas import Inbox, MessageOut, OutboxOut, ReadAllOut
from zhicheng.core.notify.senders import CHANNELS, mask_address
from zhicheng.core.paging import Page, decode_id, page
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


def _user(me: Principal) -> int:
    if me.actor.user_id is None:
        raise Forbidden("系统令牌没有消息收件箱", "API tokens have no inbox; sign in as a person")
    return me.actor.user_id


@router.get("", response_model=Inbox)
@access(P.SELF)
def inbox(
    s: Reader,
    me: Me,
    unread: bool = False,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> dict:
    """The caller's site messages, newest first (`unread=true`: only unread), and the unread count."""
    user_id = _user(me)
    rows = queries.inbox(s, user_id, unread, limit + 1, decode_id(cursor))
    items, nxt = page(rows, limit, lambda m: m.id)
    return {"items": items, "next_cursor": nxt, "unread": queries.unread_count(s, user_id)}


@router.post("/read-all", response_model=ReadAllOut)
@access(P.SELF)
def read_all(db: DB, me: Me) -> dict:
    """Mark every message of the caller's inbox read."""
    user_id = _user(me)
    with unit_of_work(db, me.actor) as uow:
        return {"marked": services.mark_all_read(uow, user_id)}


@router.post("/{message_id}/read", response_model=MessageOut)
@access(P.SELF)
def read(message_id: int, db: DB, me: Me) -> object:
    """Mark one message read; another person's message is not found."""
    user_id = _user(me)
    with unit_of_work(db, me.actor) as uow:
        return services.mark_read(uow, user_id, message_id)


def _masked(m: object) -> OutboxOut:
    out = OutboxOut.model_validate(m)
    if out.channel in ("sms", "email"):
        out.address = mask_address(out.address)
    elif out.address:  # a webhook's query string may carry its receiver's key
        out.address = out.address.split("?", 1)[0]
    return out


@router.get("/outbox", response_model=Page[OutboxOut])
@access(P.JOBS_READ)
def outbox(
    s: Reader,
    status: str | None = Query(None, description="pending | sending | delivered | dead"),
    channel: str | None = Query(None, description="sms | email | site | webhook"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict:
    """Every message, newest first, for operators: dead letters with their last error (addresses masked)."""
    if status and status not in queries.STATUSES:
        raise Invalid(
            f"状态应为 {'、'.join(queries.STATUSES)} 之一", f"status must be one of {queries.STATUSES}"
        )
    if channel and channel not in CHANNELS:
        raise Invalid(f"渠道应为 {'、'.join(CHANNELS)} 之一", f"channel must be one of {CHANNELS}")
    rows = queries.outbox(s, status, channel, limit + 1, decode_id(cursor))
    items, nxt = page(rows, limit, lambda m: m.id)
    return {"items": [_masked(m) for m in items], "next_cursor": nxt}


@router.post("/{message_id}/retry", response_model=OutboxOut)
@access(P.JOBS_MANAGE)
def retry(message_id: int, db: DB, me: Me) -> OutboxOut:
    """Give a dead-lettered message fresh attempts, due now (audited as notify:message:retry)."""
    with unit_of_work(db, me.actor) as uow:
        return _masked(services.retry(uow, message_id))

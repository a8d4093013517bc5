"""Console page of the signed-in person's site messages (the inbox): newest first, unread marked, marking one
or all read. The same queries and services as the inbox API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden
from zhicheng.core.notify import queries, services
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.forms import done, page, say
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("消息", "站内消息", "/notifications", P.SELF, order=5)
PAGE = 100


def _user(me: Principal) -> int:
    if me.actor.user_id is None:
        raise Forbidden("系统令牌没有消息收件箱", "API tokens have no inbox; sign in as a person")
    return me.actor.user_id


@router.get("/notifications")
@access(P.SELF)
def inbox(request: Request, s: Reader, me: Me, unread: bool = False, before: int | None = None) -> Any:
    user_id = _user(me)
    rows = queries.inbox(s, user_id, unread, PAGE + 1, before)
    ctx = {
        "messages": rows[:PAGE],
        "more": rows[PAGE - 1].id if len(rows) > PAGE else None,
        "unread_count": queries.unread_count(s, user_id),
        "only_unread": unread,
    }
    return page(request, "notify/inbox.html", ctx)


@router.post("/notifications/read-all")
@access(P.SELF)
def read_all(request: Request, db: DB, me: Me) -> Any:
    user_id = _user(me)
    with unit_of_work(db, me.actor) as uow:
        n = services.mark_all_read(uow, user_id)
    return done("/notifications", say(request, f"已将 {n} 条消息标为已读", f"{n} message(s) marked read"))


@router.post("/notifications/{message_id}/read")
@access(P.SELF)
def read(message_id: int, request: Request, db: DB, me: Me) -> Any:
    """Mark one message read; another person's message is not found."""
    user_id = _user(me)
    with unit_of_work(db, me.actor) as uow:
        services.mark_read(uow, user_id, message_id)
    return done("/notifications", say(request, "已标为已读", "Marked read"))

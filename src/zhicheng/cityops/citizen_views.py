"""The citizen reporter's console page (我的上报): the cases they reported through the app or follow, newest
first, with the case's status; each opens the case page, where they follow, unfollow and comment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from zhicheng.cityops import case_queries as q
from zhicheng.cityops import vocab
from zhicheng.cityops.permissions import REPORT
from zhicheng.core import paging
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import Forbidden
from zhicheng.web import nav
from zhicheng.web.deps import Me, Reader
from zhicheng.web.forms import page
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("一网统管", "我的上报", "/cityops/mine", REPORT, order=96)
PAGE = 50


@router.get("/cityops/mine")
@access(REPORT)
def mine(request: Request, s: Reader, me: Me, cursor: str | None = None) -> Any:
    if me.actor.kind != "user" or me.actor.user_id is None:
        raise Forbidden("只有登录用户有“我的上报”", "only signed-in users have reports of their own")
    today = shanghai_today()
    rows = q.cases(s, today, follower=me.actor.user_id, limit=PAGE + 1, after=paging.decode_id(cursor))
    items, nxt = paging.page(rows, PAGE, lambda r: r[0].id)
    return page(
        request,
        "cityops/mine.html",
        {"rows": [q.shown(r, today) for r in items], "statuses": vocab.STATUSES, "next_cursor": nxt},
    )

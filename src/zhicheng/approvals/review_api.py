"""JSON routes of the work lists and supervision under /api/v1/approvals: the inbox (review, decide, deliver
tasks sorted by remaining working days), the supervision board (cases overdue or near their limit, escalations
and their instructions, on-time statistics) and the credit blacklist."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query

from zhicheng.approvals import blacklist, boards, config, queries, supervision
from zhicheng.approvals.permissions import ACCEPT, DECIDE, REVIEW, SUPERVISE
from zhicheng.approvals.schemas import AckIn, BlacklistIn, BlacklistOut, ReasonIn, TaskPage
from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar.clock import parse_day
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.paging import check_limit, encode
from zhicheng.web.deps import DB, Conf, Me, Reader, require
from zhicheng.web.security import access as declare

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])
QUEUES = {"review": REVIEW, "decide": DECIDE, "deliver": ACCEPT}


def _orgs(s: Reader, me: Me, permission: str, org_id: int | None) -> list[int]:
    paths = me.paths(permission)
    if not paths:
        raise Forbidden()
    if org_id is not None:
        require(me, permission, queries.org_path(s, org_id) or None)
        return [org_id]
    return queries.org_ids_under(s, paths)


@router.get("/tasks", response_model=TaskPage)
@declare(P.SELF)
def inbox(
    s: Reader,
    me: Me,
    conf: Conf,
    queue: str = Query(
        "review", description="review (approvals.review) | decide (approvals.decide) | deliver"
    ),
    org_id: int | None = Query(None, description="one of the caller's organizations"),
    limit: int = 50,
    cursor: str | None = None,
) -> dict:
    """Open tasks of the caller's departments, the fewest remaining working days first."""
    if queue not in QUEUES:
        raise Invalid("queue 应为 review、decide 或 deliver", "queue must be review, decide or deliver")
    check_limit(limit)
    orgs = _orgs(s, me, QUEUES[queue], org_id)
    rows, nxt = boards.inbox(s, orgs, queue, limit, cursor, shanghai_today(), config.warn_days(conf))
    return {"items": rows, "next_cursor": nxt}


@router.get("/supervision/attention")
@declare(SUPERVISE)
def attention(s: Reader, me: Me, conf: Conf, org_id: int | None = None, limit: int = 100) -> list:
    """Running cases overdue (red) or within the warning days of their promised limit (yellow)."""
    check_limit(limit)
    orgs = _orgs(s, me, SUPERVISE, org_id)
    return boards.attention(s, orgs, shanghai_today(), config.warn_days(conf), limit)


@router.get("/supervision/escalations")
@declare(SUPERVISE)
def escalations(
    s: Reader, me: Me, open_only: bool = True, org_id: int | None = None, limit: int = 100
) -> list:
    check_limit(limit)
    return boards.escalations(s, _orgs(s, me, SUPERVISE, org_id), open_only, limit)


@router.post("/supervision/escalations/{escalation_id}/ack")
@declare(SUPERVISE)
def acknowledge(escalation_id: int, body: AckIn, db: DB, me: Me) -> dict:
    """督办意见: the supervisor's instruction on an escalation (kept on the case's internal timeline)."""
    with unit_of_work(db, me.actor) as uow:
        from zhicheng.approvals.models import Escalation

        row = uow.session.get(Escalation, escalation_id)
        if row is not None:
            require(me, SUPERVISE, queries.org_path(uow.session, row.org_id))
        row = supervision.acknowledge(uow, escalation_id, body.instruction)
        return {
            "id": row.id,
            "acked_at": row.acked_at,
            "acked_by": row.acked_by,
            "instruction": row.instruction,
        }


@router.get("/supervision/stats")
@declare(SUPERVISE)
def stats(
    s: Reader,
    me: Me,
    start: str = Query(..., alias="from", description="YYYY-MM-DD"),
    end: str = Query(..., alias="to", description="YYYY-MM-DD"),
    org_id: int | None = None,
) -> dict:
    """On-time rates of the decisions made in the period, against the promised and the statutory limits."""
    first, last = parse_day(start), parse_day(end)
    if (last - first) > dt.timedelta(days=3660):
        raise Invalid("统计区间最长十年", "the period is at most ten years")
    return boards.on_time(s, _orgs(s, me, SUPERVISE, org_id), first, last, shanghai_today())


@router.get("/blacklist", response_model=dict)
@declare(SUPERVISE)
def list_blacklist(s: Reader, active: bool = True, limit: int = 100, cursor: str | None = None) -> dict:
    check_limit(limit)
    rows = queries.blacklist(s, active, limit, cursor)
    page = rows[:limit]
    return {
        "items": [BlacklistOut.model_validate(r).model_dump() for r in page],
        "next_cursor": encode(page[-1].id) if len(rows) > limit and page else None,
    }


@router.post("/blacklist", response_model=BlacklistOut, status_code=201)
@declare(SUPERVISE)
def add_blacklist(body: BlacklistIn, db: DB, me: Me) -> object:
    """List a party on the credit blacklist: no 容缺受理 for it while listed."""
    with unit_of_work(db, me.actor) as uow:
        return blacklist.add(uow, body)


@router.post("/blacklist/{entry_id}/lift", response_model=BlacklistOut)
@declare(SUPERVISE)
def lift_blacklist(entry_id: int, body: ReasonIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        return blacklist.lift(uow, entry_id, body.reason)

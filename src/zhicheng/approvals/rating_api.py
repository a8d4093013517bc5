"""JSON routes of 好差评 under /api/v1/approvals: rating a finished case, reading a case's rating, statistics
by item, department or window, and the rectification tasks of bad ratings (answer, follow-up). Who may do
what is decided per object in approvals.ratings (the same checks as the console)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from zhicheng.approvals import access, ratings
from zhicheng.approvals import ratings_queries as rq
from zhicheng.approvals.permissions import ACCEPT, APPLY, REVIEW, SUPERVISE
from zhicheng.approvals.queries import case as get_case
from zhicheng.approvals.queries import org_path
from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar.clock import parse_day
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden, NotFound
from zhicheng.core.paging import check_limit
from zhicheng.web.deps import DB, Conf, Me, Reader, require
from zhicheng.web.security import access as declare

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])


class RatingIn(BaseModel):
    level: int = Field(strict=True, description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    comment: str = Field("", max_length=ratings.COMMENT_MAX)
    channel: str = Field(
        "online", description="online | app | sms | hotline; a window clerk's rating is always window"
    )


class AnswerIn(BaseModel):
    answer: str = Field(min_length=ratings.ANSWER_MIN, max_length=4000, description="整改情况")


class FollowUpIn(BaseModel):
    result: Literal["satisfied", "unsatisfied"] = Field(description="回访结果")
    note: str = Field("", max_length=2000, description="required when unsatisfied")


@router.post("/cases/{case_id}/rating", status_code=201)
@declare(APPLY)
def rate(case_id: int, body: RatingIn, db: DB, me: Me, conf: Conf) -> dict:
    """好差评 of a finished case, once: by its applicant, or by the window recording its device's rating.
    A bad rating (1 or 2) opens a rectification task for the item's department."""
    with unit_of_work(db, me.actor) as uow:
        r = ratings.rate(
            uow, me, case_id, body.level, body.comment, body.channel, conf.approvals_rectification_days
        )
        return rq.rating_out(uow.session, r, staff=True)


@router.get("/cases/{case_id}/rating")
@declare(P.SELF)
def rating(case_id: int, s: Reader, me: Me) -> dict:
    """The case's rating (404 while not rated); staff also see who recorded it and its rectification."""
    staff = access.require_view(s, me, get_case(s, case_id))
    r = rq.rating_of_case(s, case_id)
    if r is None:
        raise NotFound("该办件尚未评价", "this case has not been rated")
    return rq.rating_out(s, r, staff=staff)


@router.get("/ratings/stats")
@declare(SUPERVISE)
def stats(
    s: Reader,
    me: Me,
    by: str = Query("department", description="item | department | window"),
    start: str = Query(..., alias="from", description="YYYY-MM-DD (rating day)"),
    end: str = Query(..., alias="to", description="YYYY-MM-DD"),
    org_id: int | None = Query(None, description="one organization under the caller's supervision"),
) -> dict:
    """Ratings per level, bad ratings, satisfaction rate (非常满意+满意+基本满意 over all) and open / overdue
    rectifications, of the cases whose department or window is under the caller's supervision."""
    first, last = parse_day(start), parse_day(end)
    if org_id is not None:
        require(me, SUPERVISE, org_path(s, org_id) or None)
        orgs: list[int] | None = [org_id]
    else:
        orgs = rq.org_scope(s, me, SUPERVISE)
    return rq.stats(s, by, first, last, orgs)


@router.get("/rectifications")
@declare(P.SELF)
def rectifications(
    s: Reader,
    me: Me,
    status: str | None = Query(None, description="open | answered | reopened | closed"),
    limit: int = 100,
) -> list:
    """Rectification tasks of the caller's departments (approvals.accept / review) and of those it
    supervises: open and reopened first, then awaiting follow-up, then closed; earliest due date first."""
    check_limit(limit)
    scope = rq.org_scope(s, me, ACCEPT, REVIEW, SUPERVISE)
    if scope is not None and not scope:
        raise Forbidden()
    return rq.rectifications(s, scope, status, limit)


@router.post("/rectifications/{rectification_id}/answer")
@declare(P.SELF)
def answer(rectification_id: int, body: AnswerIn, db: DB, me: Me) -> dict:
    """整改情况 of the responsible department (approvals.accept or approvals.review over it)."""
    with unit_of_work(db, me.actor) as uow:
        row = ratings.answer(uow, me, rectification_id, body.answer)
        return rq.rectification_out(uow.session, row)


@router.post("/rectifications/{rectification_id}/follow-up")
@declare(SUPERVISE)
def follow_up(rectification_id: int, body: FollowUpIn, db: DB, me: Me, conf: Conf) -> dict:
    """回访 by a supervisor: satisfied closes the task, unsatisfied reopens it on a new clock."""
    with unit_of_work(db, me.actor) as uow:
        row = ratings.follow_up(
            uow,
            me,
            rectification_id,
            body.result == "satisfied",
            body.note,
            conf.approvals_rectification_days,
        )
        return rq.rectification_out(uow.session, row)

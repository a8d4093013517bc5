"""The calendar's JSON API: read a year, count working days, and (calendar.manage) edit and publish."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from zhicheng.core.auth import permissions as P
from zhicheng.core.calendar import queries, services
from zhicheng.core.calendar.clock import MAX_WORKDAYS, MAX_YEAR, MIN_YEAR
from zhicheng.core.calendar.schemas import DayIn, DayOut, DeadlineOut, PublishOut, YearOut
from zhicheng.core.db import unit_of_work
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="e.g. 2027")]


# declared before /{year} so that "add-workdays" is never read as a year
@router.get("/add-workdays", response_model=DeadlineOut)
@access(P.SELF)
def add_workdays(
    s: Reader,
    start: Annotated[dt.date, Query(description="YYYY-MM-DD; not itself counted")],
    days: Annotated[int, Query(ge=0, le=MAX_WORKDAYS, description="working days to add")],
) -> DeadlineOut:
    deadline = queries.add_workdays(s, start, days)
    return DeadlineOut(start=start, days=days, due=deadline.date, provisional=deadline.provisional)


@router.get("/{year}", response_model=YearOut)
@access(P.SELF)
def get_year(year: Year, s: Reader) -> YearOut:
    view = queries.year(s, year)
    return YearOut(
        year=view.year,
        published=view.published,
        source=view.source,
        published_at=view.published_at,
        days=[DayOut.model_validate(d) for d in view.days],
    )


@router.post("/days", response_model=DayOut, status_code=201)
@access(P.CALENDAR_MANAGE)
def set_day(body: DayIn, db: DB, me: Me) -> DayOut:
    with unit_of_work(db, me.actor) as uow:
        row = services.set_day(uow, body.day, body.kind, body.name)
        return DayOut.model_validate(row)


@router.delete("/days/{day}", status_code=204)
@access(P.CALENDAR_MANAGE)
def unset_day(day: Annotated[dt.date, Path(description="YYYY-MM-DD")], db: DB, me: Me) -> Response:
    with unit_of_work(db, me.actor) as uow:
        services.unset_day(uow, day)
    return Response(status_code=204)


@router.post("/years/{year}/publish", response_model=PublishOut)
@access(P.CALENDAR_MANAGE)
def publish_year(year: Year, db: DB, me: Me) -> PublishOut:
    with unit_of_work(db, me.actor) as uow:
        row, moved = services.publish_year(uow, year)
        return PublishOut(
            year=row.year, published=row.published, published_at=row.published_at, recomputed=moved
        )

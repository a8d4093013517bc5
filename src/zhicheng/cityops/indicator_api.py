"""JSON routes of the indicators (考核指标) and the city dashboard (城市运行体征) under /api/v1/cityops:
the figures per period, department, area and category, the drill-down to the cases behind a numerator or a
denominator, and everything the dashboard page shows (it fetches this every few seconds). All need
cityops.read: the case picture is shared by every centre and department."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query

from zhicheng.cityops import indicators as ind
from zhicheng.cityops.permissions import CITYOPS_READ
from zhicheng.core import paging
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.web.deps import Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])
FROM = Query(None, alias="from", description="first day reported (default: the 1st of the month of `to`)")
TO = Query(None, description="last day reported (default: today, Asia/Shanghai)")
AREA = Query(None, description="district (6 digits), street (9), community (12) or grid (15) code")
DEPARTMENT = Query(None, description="the department (org id); 0: cases with none")
CATEGORY = Query(None, description="<kind>:<code>, e.g. part:0101")


@router.get("/indicators")
@access(CITYOPS_READ)
def indicators(
    s: Reader,
    first: dt.date | None = FROM,
    last: dt.date | None = Query(None, alias="to", description="last day reported (default: today)"),
    department: int | None = DEPARTMENT,
    area: str | None = AREA,
    category: str | None = CATEGORY,
    by: str = Query("total", description="total | day | week | month"),
    group: str = Query(
        "none", description="none | department | district | street | community | grid | category"
    ),
) -> dict[str, Any]:
    """The six indicators, with the numerator and denominator of each, over the cases reported in the
    period, per period bucket and group."""
    f = ind.filters(first, last, shanghai_today(), department, area, category)
    return {
        "from": f.first,
        "to": f.last,
        "department": f.department,
        "area": f.area,
        "category": f.category,
        "by": by,
        "group": group,
        "definitions": [
            {
                "name": i.name,
                "zh": i.zh,
                "en": i.en,
                "numerator": i.numerator,
                "denominator": i.denominator,
            }
            for i in ind.INDICATORS.values()
        ],
        "rows": ind.figures(s, f, by, group),
    }


@router.get("/indicators/cases")
@access(CITYOPS_READ)
def indicator_cases(
    s: Reader,
    indicator: str = Query(description=", ".join(ind.INDICATORS)),
    part: str = Query("numerator", description="numerator | denominator"),
    first: dt.date | None = FROM,
    last: dt.date | None = Query(None, alias="to", description="last day reported (default: today)"),
    department: int | None = DEPARTMENT,
    area: str | None = AREA,
    category: str | None = CATEGORY,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Drill-down: the cases counted in one indicator's numerator or denominator, newest first (keyset)."""
    f = ind.filters(first, last, shanghai_today(), department, area, category)
    rows = ind.drill(s, f, indicator, part, paging.check_limit(limit) + 1, paging.decode_id(cursor))
    items, next_cursor = paging.page(rows, limit, lambda r: r[0].id)
    return {"items": [ind.drilled(r) for r in items], "next_cursor": next_cursor}


@router.get("/dashboard")
@access(CITYOPS_READ)
def dashboard(
    s: Reader,
    days: int = Query(30, ge=7, le=366, description="the window of the trend, top categories and ranking"),
    area: str | None = AREA,
) -> dict[str, Any]:
    """The city dashboard's figures: totals, open and overdue cases per grid, reported and closed per day,
    top categories, department ranking by on-time closure rate, the overdue cases."""
    if area:
        ind.filters(None, None, shanghai_today(), area=area)
    return ind.dashboard(s, shanghai_today(), days, area or None)

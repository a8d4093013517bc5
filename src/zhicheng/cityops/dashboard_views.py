"""Console pages of the city dashboard (城市运行体征) and the indicators (考核指标).

The dashboard is rendered with its figures as tables (which stay without JavaScript or without the chart
library), then ECharts draws the map of open cases over the grid (the grids' GeoJSON from our own export
API, registered with `echarts.registerMap`: no internet tiles), the trend, the top categories and the
department ranking, and the page fetches GET /api/v1/cityops/dashboard every `cityops_dashboard_refresh_s`
seconds to update them. The indicators page shows the six indicators per period and group, each numerator
and denominator linking to the cases behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from zhicheng.cityops import indicators as ind
from zhicheng.cityops import vocab
from zhicheng.cityops.permissions import CITYOPS_READ
from zhicheng.core import paging
from zhicheng.core.calendar.clock import parse_day
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.errors import Invalid
from zhicheng.web import nav
from zhicheng.web.deps import Conf, Reader
from zhicheng.web.forms import page, to_int
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("一网统管", "城市运行体征", "/cityops/dashboard", CITYOPS_READ, order=97)
nav.add("一网统管", "考核指标", "/cityops/indicators", CITYOPS_READ, order=98)
LIST = 100
BY_ZH = {"total": "合计", "day": "按日", "week": "按周", "month": "按月"}
GROUP_ZH = {
    "none": "不分组",
    "department": "按部门",
    "district": "按区县",
    "street": "按街道",
    "community": "按社区",
    "grid": "按网格",
    "category": "按类别",
}


def _area(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value:
        ind.filters(None, None, shanghai_today(), area=value)
    return value


@router.get("/cityops/dashboard")
@access(CITYOPS_READ)
def dashboard(request: Request, s: Reader, conf: Conf) -> Any:
    q = request.query_params
    refresh = max(2, to_int(q.get("refresh"), "refresh") or conf.cityops_dashboard_refresh_s)
    area = _area(q.get("area"))
    data = ind.dashboard(s, shanghai_today(), 30, area)
    return page(request, "cityops/dashboard.html", {"d": data, "refresh": refresh, "area": area or ""})


def _filters(request: Request) -> tuple[ind.Filters, dict[str, str]]:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip() for k in ("from", "to", "department", "area", "category")}
    f = ind.filters(
        parse_day(raw["from"]) if raw["from"] else None,
        parse_day(raw["to"]) if raw["to"] else None,
        shanghai_today(),
        to_int(raw["department"], "department"),
        raw["area"] or None,
        raw["category"] or None,
    )
    kept = {"from": f.first.isoformat(), "to": f.last.isoformat()}
    kept.update({k: raw[k] for k in ("department", "area", "category") if raw[k]})
    return f, kept


@router.get("/cityops/indicators")
@access(CITYOPS_READ)
def indicators(request: Request, s: Reader) -> Any:
    f, kept = _filters(request)
    by = request.query_params.get("by") or "total"
    group = request.query_params.get("group") or "none"
    rows = ind.figures(s, f, by, group)
    return page(
        request,
        "cityops/indicators.html",
        {
            "f": f,
            "kept": kept,
            "by": by,
            "group": group,
            "rows": rows,
            "defs": list(ind.INDICATORS.values()),
            "by_zh": BY_ZH,
            "group_zh": GROUP_ZH,
            "drill": lambda row, name, part: _drill_url(kept, row, group, by, name, part),
        },
    )


def _drill_url(kept: dict[str, str], row: dict[str, Any], group: str, by: str, name: str, part: str) -> str:
    """The drill-down of one figure: the row's own period and group narrow the page's filters."""
    params = {**kept, "indicator": name, "part": part}
    if by != "total":
        first = dt.date.fromisoformat(row["period"] + ("-01" if by == "month" else ""))
        if by == "day":
            last = first
        elif by == "week":
            last = first + dt.timedelta(days=6)
        else:
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        params["from"] = max(first, dt.date.fromisoformat(kept["from"])).isoformat()
        params["to"] = min(last, dt.date.fromisoformat(kept["to"])).isoformat()
    if group == "department":
        params["department"] = str(row["group"]["key"])
    elif group in ("district", "street", "community", "grid"):
        params["area"] = row["group"]["key"]
    elif group == "category":
        params["category_id"] = str(row["group"]["key"])
    return "/cityops/indicators/cases?" + urlencode(params)


@router.get("/cityops/indicators/cases")
@access(CITYOPS_READ)
def indicator_cases(request: Request, s: Reader) -> Any:
    f, kept = _filters(request)
    q = request.query_params
    name, part = q.get("indicator") or "", q.get("part") or "numerator"
    if name not in ind.INDICATORS:
        raise Invalid(f"未知的指标：{name}", f"unknown indicator: {name}")
    category_id = to_int(q.get("category_id"), "category_id")
    rows = ind.drill(s, f, name, part, LIST + 1, paging.decode_id(q.get("cursor")), category_id=category_id)
    items, cursor = paging.page(rows, LIST, lambda r: r[0].id)
    base = {**kept, "indicator": name, "part": part}
    if category_id is not None:
        base["category_id"] = str(category_id)
    return page(
        request,
        "cityops/indicator_cases.html",
        {
            "i": ind.INDICATORS[name],
            "part": part,
            "f": f,
            "items": [ind.drilled(r) for r in items],
            "statuses": vocab.STATUSES,
            "next_url": "/cityops/indicators/cases?" + urlencode({**base, "cursor": cursor})
            if cursor
            else None,
            "back_url": "/cityops/indicators?" + urlencode(kept),
        },
    )

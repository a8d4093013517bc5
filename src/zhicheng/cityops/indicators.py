"""Indicators (考核指标) and the city dashboard's figures (城市运行体征), read from the roll-ups
(rollup_models) kept in step with the cases, and the drill-down to the cases behind every figure.

Every indicator is a ratio over one set of cases: those *reported* in the period (the cohort), filtered by
department, area (a district, street, community or grid code prefix) and category. The counters are
defined once, in rollup.cohort (Python) and rollup.conditions (SQL, for the drill-down and the recount):

- 立案率 registration_rate = registered / decided (registered or cancelled);
- 按期处置率 ontime_handling_rate = handled on time / handled (the department fed back at least once; on
  time when its last feedback was within the handle clock, extensions included);
- 结案率 closure_rate = closed (结案: closed or evaluated) / due to close (应结案 = registered);
- 按期结案率 ontime_closure_rate = closed on time / due to close;
- 返工率 rework_rate = reworked (sent back by the check at least once) / handled;
- 满意率 satisfaction_rate = satisfied (回访 satisfaction 4 or 5) / called back (12345 cases with a
  recorded satisfaction); the mean satisfaction is given beside it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, func, or_, select
from sqlalchemy.orm import Session

from zhicheng.cityops import rollup, vocab
from zhicheng.cityops.categories import key_of, parse_key
from zhicheng.cityops.models import Case, Category, Grid
from zhicheng.cityops.rollup_models import COUNTERS, Daily, Live
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.models import Org


@dataclass(frozen=True)
class Indicator:
    name: str
    zh: str
    en: str
    numerator: str
    denominator: str
    numerator_zh: str
    denominator_zh: str


INDICATORS = {
    i.name: i
    for i in (
        Indicator(
            "registration_rate",
            "立案率",
            "registration rate",
            "registered",
            "decided",
            "立案数",
            "受理判定数",
        ),
        Indicator(
            "ontime_handling_rate",
            "按期处置率",
            "on-time handling rate",
            "handled_on_time",
            "handled",
            "按期处置数",
            "处置反馈数",
        ),
        Indicator("closure_rate", "结案率", "closure rate", "closed", "registered", "结案数", "应结案数"),
        Indicator(
            "ontime_closure_rate",
            "按期结案率",
            "on-time closure rate",
            "closed_on_time",
            "registered",
            "按期结案数",
            "应结案数",
        ),
        Indicator("rework_rate", "返工率", "rework rate", "reworked", "handled", "返工数", "处置反馈数"),
        Indicator(
            "satisfaction_rate", "满意率", "satisfaction rate", "satisfied", "called_back", "满意数", "回访数"
        ),
    )
}
BY = ("total", "day", "week", "month")
GROUPS = {"none": 0, "department": 0, "district": 6, "street": 9, "community": 12, "grid": 15, "category": 0}
MAX_SPAN = dt.timedelta(days=3660)


@dataclass(frozen=True)
class Filters:
    first: dt.date
    last: dt.date
    department: int | None = None
    area: str | None = None
    category: str | None = None


def filters(
    first: dt.date | None,
    last: dt.date | None,
    today: dt.date,
    department: int | None = None,
    area: str | None = None,
    category: str | None = None,
) -> Filters:
    """Checked filters; the period defaults to this month up to today."""
    last = last or today
    first = first or last.replace(day=1)
    if last < first:
        raise Invalid("结束日期早于开始日期", "the period ends before it begins")
    if last - first > MAX_SPAN:
        raise Invalid("统计区间最长十年", "the period is at most ten years")
    area = (area or "").strip() or None
    if area is not None and (not area.isdigit() or len(area) not in (6, 9, 12, 15)):
        raise Invalid(
            "区域应为区县（6 位）、街道（9 位）、社区（12 位）代码或网格编码（15 位）",
            "area is a district (6 digits), street (9), community (12) or grid code (15)",
        )
    if category:
        key_of(*parse_key(category))
    return Filters(first, last, department, area, category.strip().lower() if category else None)


def _category_id(s: Session, key: str) -> int:
    kind, code = parse_key(key)
    found = s.scalar(select(Category.id).where(Category.kind == kind, Category.code == code))
    if found is None:
        raise Invalid(f"未知的类别：{key}", f"unknown category: {key}")
    return found


def _source(s: Session, f: Filters, fine: bool = False) -> tuple[Any, list[Any]]:
    """Where the counters come from, and the conditions of the filters on it: the daily roll-up (districts,
    streets, the whole city), or, for a community or a grid (`area` longer than 9 digits, or `fine` for
    grouping by them), the same counters computed from the cases of that area (rollup.case_rows): a small
    set, read through the indexes on the case's grid or community. Returns (source, conditions);
    grouped city-wide by community or grid, the day-of-closing rows are left out (`closures`)."""
    if not fine and not (f.area and len(f.area) > 9):
        src = Daily.__table__
        where = [src.c.day.between(f.first, f.last)]
        if f.area:
            where.append(src.c.street_code.startswith(f.area))
    else:
        on: list[Any] = []
        if f.area and len(f.area) == 15:
            on.append(Case.grid_id == select(Grid.id).where(Grid.code == f.area).scalar_subquery())
        elif f.area:
            on.append(Case.division_code.startswith(f.area))
        else:  # the whole city by community or grid: the cases reported in the period only
            on.append(Case.reported_on.between(f.first, f.last))
        src = rollup.case_rows(*on, closures=bool(f.area)).subquery("cases")
        where = [src.c.day.between(f.first, f.last)]
    if f.department is not None:
        where.append(src.c.department_id == f.department)
    if f.category:
        where.append(src.c.category_id == _category_id(s, f.category))
    return src, where


def ratio(numerator: int, denominator: int) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


def shape(counts: dict[str, int]) -> dict[str, Any]:
    """The indicators from summed counters: {name: {numerator, denominator, value}}, plus the mean
    satisfaction."""
    out: dict[str, Any] = {}
    for i in INDICATORS.values():
        n, d = counts.get(i.numerator, 0), counts.get(i.denominator, 0)
        out[i.name] = {"numerator": n, "denominator": d, "value": ratio(n, d)}
    called = counts.get("called_back", 0)
    out["satisfaction_mean"] = round(counts.get("satisfaction_sum", 0) / called, 2) if called else None
    return out


def _bucket(day: dt.date, by: str) -> str:
    if by == "day":
        return day.isoformat()
    if by == "week":
        return (day - dt.timedelta(days=day.weekday())).isoformat()
    if by == "month":
        return f"{day:%Y-%m}"
    return "total"


def figures(s: Session, f: Filters, by: str = "total", group: str = "none") -> list[dict[str, Any]]:
    """The indicators per period bucket (`by`: total, day, week starting Monday, month) and per group
    (none, department, district, street, community, grid, category), with the counters behind them."""
    if by not in BY:
        raise Invalid(f"by 应为 {'、'.join(BY)} 之一", f"by must be one of {', '.join(BY)}")
    if group not in GROUPS:
        raise Invalid(f"group 应为 {'、'.join(GROUPS)} 之一", f"group must be one of {', '.join(GROUPS)}")
    src, where = _source(s, f, fine=group in ("community", "grid"))
    sums = [func.sum(src.c[c]).cast(Integer).label(c) for c in COUNTERS]
    keys: list[Any] = [] if by == "total" else [src.c.day]
    if group == "department":
        keys.append(src.c.department_id)
    elif group == "category":
        keys.append(src.c.category_id)
    elif group == "community":
        keys.append(src.c.division_code)
    elif group == "grid":
        keys.append(src.c.grid_id)
    elif group != "none":
        keys.append(func.substr(src.c.street_code, 1, GROUPS[group]))
    stmt = select(*keys, *sums).where(*where)
    if keys:
        stmt = stmt.group_by(*keys)
    merged: dict[tuple[str, Any], dict[str, int]] = {}
    for row in s.execute(stmt).all():
        bucket = "total" if by == "total" else _bucket(_day(row[0]), by)
        label = row[len(keys) - 1] if group != "none" else None
        acc = merged.setdefault((bucket, label), dict.fromkeys(COUNTERS, 0))
        for c in COUNTERS:
            acc[c] += getattr(row, c) or 0
    names = _names(s, group, {k for _, k in merged})
    out = []
    for (bucket, label), counts in sorted(merged.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        if keys and not any(counts.values()):
            continue  # rows left at zero by cases that moved on (to another department, say)
        row: dict[str, Any] = {"period": bucket, "counts": counts, "figures": shape(counts)}
        if group != "none":
            row["group"] = {"key": label, "name": names.get(label, str(label))}
        out.append(row)
    return out


def _names(s: Session, group: str, keys: set[Any]) -> dict[Any, str]:
    keys.discard(None)
    if not keys:
        return {}
    if group == "department":
        found = dict(s.execute(select(Org.id, Org.name).where(Org.id.in_(keys))).all())
        return {k: found.get(k, "未分派" if k == 0 else str(k)) for k in keys}
    if group == "category":
        rows = s.execute(
            select(Category.id, Category.kind, Category.code, Category.name).where(Category.id.in_(keys))
        )
        return {r.id: f"{r.name}（{key_of(r.kind, r.code)}）" for r in rows}
    if group == "grid":
        rows = s.execute(select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_(keys)))
        return {r.id: f"{r.name}（{r.code}）" for r in rows}
    from zhicheng.core.orgs.models import Division

    return dict(s.execute(select(Division.code, Division.name).where(Division.code.in_(keys))).all())


# --- drill-down -----------------------------------------------------------------------------------------


def drill(
    s: Session,
    f: Filters,
    indicator: str,
    part: str,
    limit: int = 50,
    after: int | None = None,
    category_id: int | None = None,
) -> list[Any]:
    """The cases behind the numerator or the denominator of one indicator, newest first (keyset by id):
    (Case, category kind, code, name, grid code, department name)."""
    i = INDICATORS.get(indicator)
    if i is None:
        raise Invalid(
            f"未知的指标：{indicator}", f"unknown indicator: {indicator} (one of {', '.join(INDICATORS)})"
        )
    if part not in ("numerator", "denominator"):
        raise Invalid("part 应为 numerator 或 denominator", "part must be numerator or denominator")
    cond = rollup.conditions()[i.numerator if part == "numerator" else i.denominator]
    dept = Org.__table__.alias("dept")
    stmt = (
        select(Case, Category.kind, Category.code, Category.name, Grid.code, dept.c.name)
        .join(Category, Category.id == Case.category_id)
        .join(Grid, Grid.id == Case.grid_id)
        .outerjoin(dept, dept.c.id == rollup.department_expr())
        .where(Case.reported_on.between(f.first, f.last), cond)
        .order_by(Case.id.desc())
    )
    if f.department is not None:
        if f.department == 0:
            stmt = stmt.where(Case.department_id.is_(None), Case.routed_department_id.is_(None))
        else:
            stmt = stmt.where(
                or_(
                    Case.department_id == f.department,
                    and_(Case.department_id.is_(None), Case.routed_department_id == f.department),
                )
            )
    if f.category:
        stmt = stmt.where(Case.category_id == _category_id(s, f.category))
    if f.area:
        stmt = stmt.where(Grid.code == f.area if len(f.area) == 15 else Case.division_code.startswith(f.area))
    if after:
        stmt = stmt.where(Case.id < after)
    return list(s.execute(stmt.limit(limit)).all())


def drilled(row: Any) -> dict[str, Any]:
    case, kind, code, name, grid_code, department = row
    return {
        "id": case.id,
        "number": case.number,
        "channel": case.channel,
        "category": key_of(kind, code),
        "category_name": name,
        "grid_code": grid_code,
        "status": case.status,
        "department_id": case.department_id or case.routed_department_id,
        "department_name": department,
        "reported_on": case.reported_on,
        "registered_on": case.registered_on,
        "handled_on": case.handled_on,
        "closed_on": case.closed_on,
        "on_time": case.on_time,
        "rework_count": case.rework_count,
        "satisfaction": case.satisfaction,
    }


def _day(value: Any) -> dt.date:
    """A day from a union's column (SQLite hands back text there)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _summed(s: Session, src: Any, where: list[Any]) -> dict[str, int]:
    row = s.execute(
        select(*(func.sum(src.c[c]).cast(Integer).label(c) for c in COUNTERS)).where(*where)
    ).one()
    return {c: getattr(row, c) or 0 for c in COUNTERS}


# --- the dashboard --------------------------------------------------------------------------------------


def _live(s: Session, area: str | None) -> Any:
    stmt = select(
        Live.grid_id,
        func.sum(Live.cases).cast(Integer).label("open"),
        func.sum(Live.overdue).cast(Integer).label("overdue"),
    ).group_by(Live.grid_id)
    if area:
        stmt = stmt.join(Grid, Grid.id == Live.grid_id).where(Grid.code.startswith(area))
    return {r.grid_id: (r.open or 0, r.overdue or 0) for r in s.execute(stmt)}


def dashboard(
    s: Session, today: dt.date, days: int = 30, area: str | None = None, top: int = 10
) -> dict[str, Any]:
    """Everything the dashboard shows: totals, the open cases per grid (for the map), reported and closed per
    day, the top categories and the department ranking over the last `days` days, the overdue cases."""
    f = filters(today - dt.timedelta(days=days - 1), today, today, area=area)
    src, where = _source(s, f)
    # trend: reported (by the day reported) and closed (by the day closed) per day
    stmt = (
        select(src.c.day, func.sum(src.c.reported).cast(Integer), func.sum(src.c.closures).cast(Integer))
        .where(*where)
        .group_by(src.c.day)
    )
    per_day = {_day(r[0]): (r[1] or 0, r[2] or 0) for r in s.execute(stmt)}
    trend = []
    for n in range(days):
        day = f.first + dt.timedelta(days=n)
        reported, closed = per_day.get(day, (0, 0))
        trend.append({"day": day.isoformat(), "reported": reported, "closed": closed})
    counts = _summed(s, src, where)
    live = _live(s, area)
    grid_rows = s.execute(
        select(Grid.id, Grid.code, Grid.name).where(Grid.code.startswith(area or "")).order_by(Grid.code)
    ).all()
    grids = [
        {
            "code": g.code,
            "name": g.name,
            "open": live.get(g.id, (0, 0))[0],
            "overdue": live.get(g.id, (0, 0))[1],
        }
        for g in grid_rows
    ]
    by_category = s.execute(
        select(src.c.category_id, func.sum(src.c.reported).cast(Integer).label("n"))
        .where(*where)
        .group_by(src.c.category_id)
        .order_by(func.sum(src.c.reported).desc(), src.c.category_id)
        .limit(top)
    ).all()
    names = _names(s, "category", {r.category_id for r in by_category})
    cats = {
        r.id: key_of(r.kind, r.code)
        for r in s.execute(
            select(Category.id, Category.kind, Category.code).where(
                Category.id.in_([r.category_id for r in by_category])
            )
        )
    }
    top_categories = [
        {"category": cats.get(r.category_id), "name": names.get(r.category_id, ""), "reported": r.n}
        for r in by_category
        if r.n
    ]
    ranking = ranking_rows(s, f)
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "from": f.first.isoformat(),
        "to": f.last.isoformat(),
        "area": area,
        "totals": {
            "reported_today": per_day.get(today, (0, 0))[0],
            "closed_today": per_day.get(today, (0, 0))[1],
            "reported": counts["reported"],
            "closures": counts["closures"],
            "open": sum(o for o, _ in live.values()),
            "overdue": sum(o for _, o in live.values()),
            **{name: v["value"] for name, v in shape(counts).items() if isinstance(v, dict)},
        },
        "trend": trend,
        "top_categories": top_categories,
        "ranking": ranking,
        "grids": grids,
        "overdue": [overdue_shown(r) for r in overdue_cases(s, area, top)],
    }


def ranking_rows(s: Session, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
    """Departments by on-time closure rate over the period (then by volume), with their counters."""
    src, where = _source(s, f)
    rows = s.execute(
        select(
            src.c.department_id,
            func.sum(src.c.closed_on_time).cast(Integer).label("closed_on_time"),
            func.sum(src.c.closed).cast(Integer).label("closed"),
            func.sum(src.c.registered).cast(Integer).label("registered"),
        )
        .where(*where, src.c.department_id != 0)
        .group_by(src.c.department_id)
    ).all()
    names = _names(s, "department", {r.department_id for r in rows})
    out = [
        {
            "department_id": r.department_id,
            "name": names.get(r.department_id, str(r.department_id)),
            "closed_on_time": r.closed_on_time or 0,
            "closed": r.closed or 0,
            "registered": r.registered or 0,
            "rate": ratio(r.closed_on_time or 0, r.registered or 0),
        }
        for r in rows
        if r.registered
    ]
    out.sort(key=lambda r: (-(r["rate"] or 0), -r["registered"], r["department_id"]))
    return out[:limit]


def overdue_cases(s: Session, area: str | None, limit: int = 10) -> list[Any]:
    """Open cases escalated as overdue (超期督办 by the sweep), escalated longest ago first. One query per
    open status, each an ordered range of the index on (status, escalated_at, …), merged here."""
    rows: list[Any] = []
    for status in vocab.OPEN:
        stmt = (
            select(Case, Category.name, Grid.code, Grid.name)
            .join(Category, Category.id == Case.category_id)
            .join(Grid, Grid.id == Case.grid_id)
            .where(Case.status == status, Case.escalated_at.is_not(None))
            .order_by(Case.escalated_at, Case.id)
            .limit(limit)
        )
        if area:
            stmt = stmt.where(
                Grid.code.startswith(area) if len(area) == 15 else Case.division_code.startswith(area)
            )
        rows += s.execute(stmt).all()
    rows.sort(key=lambda r: (r[0].escalated_at, r[0].id))
    return rows[:limit]


def overdue_shown(row: Any) -> dict[str, Any]:
    case, category, grid_code, grid_name = row
    due = case.dispatch_due_on if case.status == "registered" else case.handle_due_on
    return {
        "id": case.id,
        "number": case.number,
        "category_name": category,
        "grid_code": grid_code,
        "grid_name": grid_name,
        "status": case.status,
        "status_name": vocab.STATUSES.get(case.status, case.status),
        "due_on": due.isoformat() if due else None,
        "url": f"/cityops/cases/{case.id}",
    }

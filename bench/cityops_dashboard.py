"""City dashboard and indicator queries over many cases: p50/p95/p99 of every query the dashboard page and
the indicators page make, on the roll-ups (cityops_daily, cityops_live) kept by cityops.rollup.

Builds a throwaway database (migrated): 200 grids of one district (10 streets × 20), 60 categories, 10
departments, then `--cases` cases spread evenly over `--days` days ending today, generated in SQL
(PostgreSQL: generate_series; SQLite: a recursive CTE), in batches of 1,000,000: cases older than 60 days
are finished (92% closed or evaluated, 80% of those on time, 8% cancelled, 5% reworked, hotline cases called
back), the last 60 days hold every status, a fifth of the open ones escalated. The roll-ups are then
rebuilt from the cases (`rollup.rebuild`, INSERT … SELECT, timed) and the queries timed (`--repeat` runs
each after two warm-ups):

- dashboard: the whole GET /api/v1/cityops/dashboard answer (`indicators.dashboard`, 30 days), and its
  parts: totals + trend, top categories, department ranking, open cases per grid, overdue list;
- indicators: this month, this year, this month by department and by street, a year by month;
- drill-down: the first page (50) of this month's on-time closure numerator, and of a district's.

    .venv/bin/python bench/cityops_dashboard.py [--cases 10000000] [--days 3650] [--db postgresql|sqlite]
        [--repeat 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import func, select, text  # noqa: E402

from tempdb import dialects, migrate, temp_database  # noqa: E402
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, unit_of_work  # noqa: E402

ME = Actor(kind="cli", name="bench")
BATCH = 1_000_000
RECENT_DAYS = 60
STREETS, PER_STREET = 10, 20
SIZE = 0.01
CHANNELS = ("hotline", "grid", "sensor", "drone", "video", "open311", "app")


def setup(db: Database) -> dict[str, int]:
    """Divisions, a district government, 10 departments, 60 categories and 200 grids."""
    from zhicheng.cityops import categories, services
    from zhicheng.cityops.schemas import CategoryIn
    from zhicheng.core.orgs import services as orgs
    from zhicheng.core.orgs.schemas import DivisionIn, OrgIn

    with unit_of_work(db, ME) as uow:
        for code, name, parent in (
            ("320000", "江苏省", None),
            ("320100", "南京市", "320000"),
            ("320102", "玄武区", "320100"),
        ):
            orgs.create_division(uow, DivisionIn(code=code, name=name, parent_code=parent))
        gov = orgs.create_org(uow, OrgIn(name="玄武区人民政府", kind="government", division_code="320102"))
        uow.session.flush()
        depts = [
            orgs.create_org(
                uow,
                OrgIn(
                    name=f"玄武区处置部门{n:02d}", kind="department", division_code="320102", parent_id=gov.id
                ),
            )
            for n in range(10)
        ]
        for n in range(60):
            categories.create(
                uow,
                CategoryIn(
                    kind="event" if n % 2 else "part",
                    code=f"{n // 10 + 1:02d}{n % 10 + 1:02d}",
                    major_name=f"大类{n // 10 + 1}",
                    name=f"小类{n:02d}",
                    dispatch_days=1,
                    handle_days=3,
                ),
            )
    features = []
    for street in range(STREETS):
        for k in range(PER_STREET):
            x, y = 118.70 + (street * 2 + k % 2) * SIZE, 31.95 + (k // 2) * SIZE
            ring = [[x, y], [x + SIZE, y], [x + SIZE, y + SIZE], [x, y + SIZE], [x, y]]
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "code": f"320102{street + 1:03d}001{k + 1:03d}",
                        "name": f"网格{street + 1}-{k + 1}",
                    },
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[round(a, 6), round(b, 6)] for a, b in ring]],
                    },
                }
            )
    with unit_of_work(db, ME) as uow:
        services.import_grids(uow, {"type": "FeatureCollection", "features": features})
    with db.read() as s:
        from zhicheng.cityops.models import Category, Grid

        ids = {
            "grid0": s.scalar(select(func.min(Grid.id))),
            "grids": s.scalar(select(func.count(Grid.id))),
            "cat0": s.scalar(select(func.min(Category.id))),
            "dept0": depts[0].id,
        }
        assert s.scalar(select(func.max(Grid.id))) == ids["grid0"] + 199
        assert s.scalar(select(func.max(Category.id))) == ids["cat0"] + 59
    assert [d.id for d in depts] == list(range(depts[0].id, depts[0].id + 10))
    return ids


def case_sql(dialect: str, ids: dict[str, int], n: int, days: int, today: dt.date, lo: int, hi: int) -> str:
    """INSERT … SELECT of cases lo..hi (1-based of n); every value a function of the number g."""
    first = today - dt.timedelta(days=days - 1)
    recent = max(1, n * RECENT_DAYS // days)
    if dialect == "postgresql":
        src = f"generate_series({lo}::bigint, {hi}::bigint) AS t(g)"
        day = f"(DATE '{first}' + ((g - 1) * {days} / {n})::int)"
        ts = f"({day} + TIME '02:00')"
        now = "now()"
    else:
        src = f"(WITH RECURSIVE t(g) AS (SELECT {lo} UNION ALL SELECT g + 1 FROM t WHERE g < {hi}) "
        src += "SELECT g FROM t)"
        day = f"date('{first}', '+' || ((g - 1) * {days} / {n}) || ' days')"
        ts = f"({day} || ' 02:00:00.000000')"
        now = "'2026-01-01 00:00:00.000000'"
    # r: a pseudo-random 0..99 of g; old cases are finished, recent ones in every status
    r = "((g * 7919) % 100)"
    old = f"(g <= {n - recent})"
    status = (
        f"CASE WHEN {old} THEN (CASE WHEN {r} < 8 THEN 'cancelled' WHEN {r} < 60 THEN 'evaluated' "
        f"ELSE 'closed' END) ELSE (CASE WHEN {r} < 10 THEN 'reported' WHEN {r} < 14 THEN 'cancelled' "
        f"WHEN {r} < 24 THEN 'registered' "
        f"WHEN {r} < 34 THEN 'dispatched' WHEN {r} < 44 THEN 'handling' WHEN {r} < 50 THEN 'handled' "
        f"WHEN {r} < 52 THEN 'returned' WHEN {r} < 53 THEN 'disputed' WHEN {r} < 55 THEN 'rework' "
        f"WHEN {r} < 80 THEN 'closed' ELSE 'evaluated' END) END"
    )
    cat = f"({ids['cat0']} + (g * 31) % 60)"
    grid = f"({ids['grid0']} + (g * 17) % 200)"
    dept = f"({ids['dept0']} + ((g * 31) % 60) % 10)"
    street = "((g * 17) % 200) / 20 + 1"
    division = (
        f"('320102' || substr('00' || ({street}), -3) || '001')"
        if dialect == "sqlite"
        else f"('320102' || lpad(({street})::text, 3, '0') || '001')"
    )
    channel = "CASE (g % 7) " + " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CHANNELS)) + " END"
    return f"""
INSERT INTO cityops_case (channel, category_id, grid_id, division_code, lng, lat, h3, address, description,
  status, routed_department_id, department_id, report_count, reported_at, reported_on, registered_on,
  dispatched_on,
  handled_on, closed_on, handle_due_on, on_time, extension_days, rework_count, satisfaction, escalated_at,
  version, created_by, updated_at)
SELECT channel, cat, grid, division, 118.7, 31.95, 0, '', '', status, dept,
  CASE WHEN status IN ('reported', 'cancelled', 'registered') THEN NULL ELSE dept END, 1, ts, day,
  CASE WHEN status IN ('reported', 'cancelled') THEN NULL ELSE day END,
  CASE WHEN status IN ('reported', 'cancelled', 'registered') THEN NULL ELSE day END,
  CASE WHEN status IN ('handled', 'rework', 'closed', 'evaluated') THEN day END,
  CASE WHEN status IN ('closed', 'evaluated') THEN day END,
  CASE WHEN status IN ('dispatched', 'handling', 'rework') THEN day END,
  CASE WHEN status IN ('handled', 'rework', 'closed', 'evaluated') THEN ((g * 13) % 10 < 8) END, 0,
  CASE WHEN (g % 20) = 0 AND status IN ('rework', 'closed', 'evaluated') THEN 1 ELSE 0 END,
  CASE WHEN channel = 'hotline' AND status IN ('closed', 'evaluated') THEN 1 + (g * 3) % 5 END,
  CASE WHEN status IN ('registered', 'dispatched', 'handling') AND (g % 5) = 0 THEN {now} END,
  1, 'bench', {now}
FROM (SELECT g, {channel} AS channel, {cat} AS cat, {grid} AS grid, {division} AS division, {dept} AS dept,
  {day} AS day, {ts} AS ts, {status} AS status FROM {src}) AS x
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    for _ in range(2):
        fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    q = statistics.quantiles(runs, n=100, method="inclusive")
    return q[49], q[94], q[98]


def run(dialect: str, cases: int, days: int, repeat: int) -> None:
    from zhicheng.cityops import indicators as ind
    from zhicheng.cityops import rollup

    with temp_database(dialect) as url:
        migrate(url)
        db = Database(url)
        ids = setup(db)
        today = shanghai_today()
        t0 = time.perf_counter()
        with db.transaction() as conn:
            for lo in range(1, cases + 1, BATCH):
                hi = min(cases, lo + BATCH - 1)
                conn.execute(text(case_sql(dialect, ids, cases, days, today, lo, hi)))
                print(f"  {hi:>11,} cases  {time.perf_counter() - t0:7.1f} s", flush=True)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        with db.transaction() as conn:
            rows = rollup.rebuild(conn)
        build = time.perf_counter() - t0
        with db.transaction() as conn:
            conn.execute(text("ANALYZE"))
            daily_rows = conn.scalar(text("SELECT count(*) FROM cityops_daily"))
            live_rows = conn.scalar(text("SELECT count(*) FROM cityops_live"))
        rows = {"daily": daily_rows, "live": live_rows}
        print(
            f"{dialect}: {cases:,} cases over {days} days loaded in {load:.0f} s; "
            f"roll-up rebuilt in {build:.1f} s "
            f"({rows['daily']:,} daily rows, {rows['live']:,} live rows)"
        )
        month = ind.filters(today.replace(day=1), today, today)
        year = ind.filters(today.replace(month=1, day=1), today, today)
        last_year = ind.filters(today - dt.timedelta(days=364), today, today)
        district = ind.filters(today.replace(day=1), today, today, area="320102005")
        f30 = ind.filters(today - dt.timedelta(days=29), today, today)
        with db.read() as s:
            queries: dict[str, Callable[[], Any]] = {
                "dashboard (whole answer)": lambda: ind.dashboard(s, today),
                "  open cases per grid (live)": lambda: ind._live(s, None),
                "  department ranking 30 d": lambda: ind.ranking_rows(s, f30),
                "  overdue list (10)": lambda: ind.overdue_cases(s, None, 10),
                "indicators: this month": lambda: ind.figures(s, month),
                "indicators: this year": lambda: ind.figures(s, year),
                "indicators: month × department": lambda: ind.figures(s, month, group="department"),
                "indicators: month × street": lambda: ind.figures(s, month, group="street"),
                "indicators: 365 d by month": lambda: ind.figures(s, last_year, by="month"),
                "drill-down: month, page 1": lambda: ind.drill(
                    s, month, "ontime_closure_rate", "numerator", 51
                ),
                "drill-down: street, page 1": lambda: ind.drill(
                    s, district, "closure_rate", "denominator", 51
                ),
            }
            print(f"  {'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
            for name, fn in queries.items():
                p50, p95, p99 = timed(fn, repeat)
                print(f"  {name:<34} {p50:8.1f} {p95:8.1f} {p99:8.1f}", flush=True)
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=3650, help="the span the cases are spread over, ending today")
    ap.add_argument("--db", default="postgresql", help="postgresql | sqlite | both")
    ap.add_argument("--repeat", type=int, default=50)
    a = ap.parse_args()
    for dialect in dialects(a.db):
        run(dialect, a.cases, a.days, a.repeat)


if __name__ == "__main__":
    main()

"""The reviewer inbox and the overdue scan with 1,000,000 open cases, on SQLite and PostgreSQL.

Migrates a throwaway database, creates 40 departments, one flow and one item per department through the
services, then bulk-inserts the open cases and their open tasks with SQLAlchemy Core (`executemany` in chunks
of 10,000, every index of the migration in place): 80% in a review stage (one in ten a joint review with four
departments, so four open tasks), 10% waiting at the window, 5% paused, 5% delivering; stage and promised due
dates spread over the next 40 days, a share of them (`--overdue`, 10% by default) over the past 40 days
instead, departments chosen at random.
Then, each timed in a fresh read session as a request gets one:

- inbox: `approvals.boards.inbox` — the function behind GET /api/v1/approvals/tasks — for one random
  department, queue review, first page of 50 sorted by due date (with the case, item and organization names
  and the remaining working days of each row);
- overdue scan: the three selects `approvals.supervision.sweep` runs every ten minutes before it writes
  anything — 容缺 cases past their supplement deadline, running cases past their promised limit, open tasks
  past their stage budget (each ordered by due date, a batch of 500) — run one after another, the same
  statements as supervision.py builds them (copied here, since the sweep writes as it goes).

    .venv/bin/python bench/approvals_inbox.py [--cases 1000000] [--queries 300] [--overdue 0.1]
                                              [--db both|sqlite|postgresql] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import time
from typing import Any

from sqlalchemy import func, insert, select

from tempdb import dialects, migrate, temp_database

CHUNK = 10_000
DEPARTMENTS = 40
PAGE = 50
BATCH = 500  # supervision.BATCH


def _world(db: Any) -> dict[str, Any]:
    from zhicheng.approvals import flows, items
    from zhicheng.approvals.schemas import FlowIn, ItemIn
    from zhicheng.core.db import Actor, unit_of_work
    from zhicheng.core.orgs import services as orgs
    from zhicheng.core.orgs.realname import DemoVerifier
    from zhicheng.core.orgs.schemas import DivisionIn, OrgIn, PartyIn

    with unit_of_work(db, Actor(kind="cli", name="bench")) as uow:
        orgs.create_division(uow, DivisionIn(code="320000", name="江苏省", parent_code=None))
        orgs.create_division(uow, DivisionIn(code="320100", name="南京市", parent_code="320000"))
        city = orgs.create_org(uow, OrgIn(name="南京市人民政府", kind="government", division_code="320100"))
        depts = [
            orgs.create_org(
                uow,
                OrgIn(
                    name=f"南京市第{n:02d}委办局",
                    kind="department",
                    division_code="320100",
                    parent_id=city.id,
                ),
            ).id
            for n in range(DEPARTMENTS)
        ]
        bureau = depts[0]
        party = orgs.register_party(
            uow,
            PartyIn(kind="enterprise", id_number="91320102MA1N2X3Y4H", name="南京建工集团有限公司"),
            DemoVerifier(),
        )
        definition = {
            "stages": [
                {"id": "accept", "kind": "accept", "days": 1, "org_id": bureau, "next": "review"},
                {"id": "review", "kind": "review", "days": 8, "next": "decide"},
                {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
                {"id": "deliver", "kind": "deliver", "days": 3, "org_id": bureau},
            ]
        }  # fmt: skip
        flow, _ = flows.publish(
            uow, FlowIn(code="general", name="一般审批", owner_org_id=bureau, definition=definition)
        )
        item_ids = []
        for n, dept in enumerate(depts):
            it = items.create_item(
                uow,
                ItemIn(
                    code=f"320100-XK-{n:04d}",
                    name=f"第{n:02d}号行政许可事项",
                    kind="行政许可",
                    org_id=bureau,
                    deciding_org_id=dept if dept != bureau else None,
                    legal_basis="《中华人民共和国行政许可法》",
                    statutory_days=20,
                    promised_days=10,
                    flow_code="general",
                ),
            )
            item_ids.append(it.id)
        return {"depts": depts, "bureau": bureau, "party": party.id, "flow": flow.id, "items": item_ids}


def generate(
    db: Any, w: dict[str, Any], cases: int, today: dt.date, overdue: float = 0.1
) -> tuple[int, float]:
    """Bulk-insert `cases` open cases and their open tasks; returns (tasks, seconds)."""
    from zhicheng.approvals.models import Case, Task
    from zhicheng.core.db import utcnow

    rng = random.Random(20261121)
    now = utcnow()
    case_t, task_t = Case.__table__, Task.__table__
    tasks_made, t0 = 0, time.perf_counter()
    with db.engine.begin() as conn:
        start = conn.execute(select(func.coalesce(func.max(case_t.c.id), 0))).scalar() + 1
        task_id = conn.execute(select(func.coalesce(func.max(task_t.c.id), 0))).scalar() + 1
    n = 0
    while n < cases:
        rows, trows = [], []
        for cid in range(start + n, start + min(n + CHUNK, cases)):
            k = rng.randrange(len(w["items"]))
            dept = w["depts"][k]
            roll = rng.random()
            status, stage, queue, kind = "in_progress", "review", "review", "review"
            if roll < 0.10:
                status, stage, queue, kind = "submitted", "accept", None, "accept"
            elif roll < 0.15:
                status = "suspended"
            elif roll < 0.20:
                status, stage, queue, kind = "delivering", "deliver", "deliver", "deliver"
            submitted = today - dt.timedelta(days=rng.randrange(1, 60))
            late = rng.random() < overdue
            due = today + dt.timedelta(days=rng.randrange(-40, 0) if late else rng.randrange(0, 41))
            accepted = status != "submitted"
            rongque = accepted and rng.random() < 0.03
            rows.append(
                {
                    "id": cid,
                    "number": f"SP{submitted:%Y%m%d}{cid:08d}",
                    "item_id": w["items"][k],
                    "item_version": 1,
                    "flow_id": w["flow"],
                    "party_id": w["party"],
                    "applicant_name": "南京建工集团有限公司",
                    "submitted_by": "user:bench",
                    "form": {},
                    "window_org_id": w["bureau"],
                    "status": status,
                    "stage": stage,
                    "version": 3,
                    "promised_days": 10,
                    "statutory_days": 20,
                    "submitted_on": submitted,
                    "accepted_on": submitted + dt.timedelta(days=1) if accepted else None,
                    "stage_due_on": due,
                    "promised_due_on": due + dt.timedelta(days=2) if accepted else None,
                    "statutory_due_on": due + dt.timedelta(days=14) if accepted else None,
                    "supplement_due_on": due - dt.timedelta(days=5) if rongque else None,
                    "rongque": rongque,
                    "rongque_missing": ["drawings"] if rongque else [],
                    "paused_on": today - dt.timedelta(days=3) if status == "suspended" else None,
                    "pause_reason": "expert_review" if status == "suspended" else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if queue is None:
                continue
            orgs = [dept]
            if queue == "review" and rng.random() < 0.10:  # a joint review: four departments at once
                orgs = [dept, *rng.sample([d for d in w["depts"] if d != dept], 3)]
            elif queue == "deliver":
                orgs = [w["bureau"]]
            for org in orgs:
                trows.append(
                    {
                        "id": task_id,
                        "case_id": cid,
                        "stage": stage,
                        "kind": "joint_review" if len(orgs) > 1 else kind,
                        "queue": queue,
                        "org_id": org,
                        "round": 1,
                        "status": "open",
                        "version": 1,
                        "due_on": due,
                        "opened_at": now,
                    }
                )
                task_id += 1
        with db.engine.begin() as conn:
            conn.execute(insert(case_t), rows)
            if trows:
                conn.execute(insert(task_t), trows)
        tasks_made += len(trows)
        n += len(rows)
        if n % 100_000 < CHUNK:
            print(f"    {n:,} cases, {tasks_made:,} tasks ({time.perf_counter() - t0:.0f} s)", flush=True)
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE approval_case")
            conn.exec_driver_sql("ANALYZE approval_task")
        else:
            conn.exec_driver_sql("ANALYZE")
    return tasks_made, time.perf_counter() - t0


def _scan(s: Any, today: dt.date) -> int:
    """The selects of supervision.terminate_lapsed, escalate_cases and escalate_tasks (same statements)."""
    from zhicheng.approvals.models import Case, Task
    from zhicheng.approvals.vocab import OPEN_STATUSES

    lapsed = s.scalars(
        select(Case.id)
        .where(
            Case.status.in_(OPEN_STATUSES), Case.supplement_due_on < today, Case.supplements_done_on.is_(None)
        )
        .order_by(Case.supplement_due_on, Case.id)
        .limit(BATCH)
    ).all()
    late_cases = s.execute(
        select(Case.id, Case.window_org_id, Case.promised_due_on)
        .where(Case.status == "in_progress", Case.promised_due_on < today, Case.escalated_at.is_(None))
        .order_by(Case.promised_due_on, Case.id)
        .limit(BATCH)
    ).all()
    late_tasks = s.execute(
        select(Task.id, Task.case_id, Task.org_id, Task.due_on)
        .join(Case, Case.id == Task.case_id)
        .where(
            Task.status == "open",
            Task.due_on < today,
            Task.escalated_at.is_(None),
            Case.status.in_(("in_progress", "delivering")),
        )
        .order_by(Task.due_on, Task.id)
        .limit(BATCH)
    ).all()
    return len(lapsed) + len(late_cases) + len(late_tasks)


def _pct(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": max(values)}


def run(dialect: str, cases: int, queries: int, overdue: float = 0.1) -> dict[str, Any]:
    from zhicheng.approvals import boards
    from zhicheng.core.calendar.clock import today as shanghai_today
    from zhicheng.core.db import Database

    with temp_database(dialect) as url:
        migrate(url)
        db = Database(url)
        w = _world(db)
        today = shanghai_today()
        print(f"  {dialect}: generating {cases:,} open cases ...", flush=True)
        tasks, gen_s = generate(db, w, cases, today, overdue)
        rng = random.Random(7)
        inbox_ms, scan_ms, found = [], [], 0
        for _ in range(5):  # warm the caches (calendar, statement cache) as a running server has them
            with db.read() as s:
                boards.inbox(s, [rng.choice(w["depts"])], "review", PAGE, None, today, 2)
                _scan(s, today)
        for _ in range(queries):
            dept = rng.choice(w["depts"])
            t = time.perf_counter()
            with db.read() as s:
                rows, _nxt = boards.inbox(s, [dept], "review", PAGE, None, today, 2)
            inbox_ms.append((time.perf_counter() - t) * 1000)
            found += len(rows)
        for _ in range(max(queries // 3, 20)):
            t = time.perf_counter()
            with db.read() as s:
                late = _scan(s, today)
            scan_ms.append((time.perf_counter() - t) * 1000)
        db.dispose()
    out = {
        "dialect": dialect,
        "cases": cases,
        "overdue": overdue,
        "tasks": tasks,
        "generate_s": gen_s,
        "inbox": _pct(inbox_ms),
        "inbox_rows": found / queries,
        "scan": _pct(scan_ms),
        "scan_rows": late,
    }
    i, c = out["inbox"], out["scan"]
    print(
        f"  {dialect}: {cases:,} cases, {tasks:,} tasks generated in {gen_s:.0f} s\n"
        f"    inbox (50 rows, random department) p50/p95/p99 {i['p50']:.1f}/{i['p95']:.1f}/{i['p99']:.1f} ms "
        f"(max {i['max']:.1f}; {out['inbox_rows']:.0f} rows)\n"
        f"    overdue scan (3 selects ≤500 each) p50/p95/p99 {c['p50']:.1f}/{c['p95']:.1f}/{c['p99']:.1f} ms "
        f"(max {c['max']:.1f}; {late} rows)",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    ap.add_argument("--overdue", type=float, default=0.1, help="share of cases and tasks past their due date")
    ap.add_argument("--quick", action="store_true", help="100,000 cases, 100 queries")
    args = ap.parse_args(argv)
    cases, queries = (100_000, 100) if args.quick else (args.cases, args.queries)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(
        f"approvals inbox and overdue scan: {cases:,} open cases ({args.overdue:.0%} overdue), "
        f"{queries} inbox queries"
    )
    return [run(d, cases, queries, args.overdue) for d in dialects(args.db)]


if __name__ == "__main__":
    main()

"""A 3-department parallel approval, step by step, persisted after every step: zhicheng's services against
SpiffWorkflow (a pure-Python BPMN engine) with its state serialized to SQLite.

The flow: submit → accept at the window → three departments review in parallel (the case moves on when all
have concluded) → decide → deliver: 7 persisted steps per case on both sides.

- SpiffWorkflow: bench/approvals_parallel.bpmn (parallel gateway, three user tasks, joining gateway, an
  exclusive gateway on the reviews' verdicts, decide and deliver user tasks) parsed once with its BpmnParser.
  Per case: instantiate the workflow and run its engine steps, then for each ready user task: set its data,
  `task.run()`, `do_engine_steps()`; after the start and after every task the whole workflow is serialized
  with BpmnWorkflowSerializer.serialize_json and written to a row of a SQLite table (INSERT, then UPDATE), one
  commit per step. The file uses the pragmas zhicheng's SQLite uses (WAL, synchronous=NORMAL). Two variants:
  `memory` keeps the workflow object between steps (its most favourable case: one process, never restarted);
  `reload` reads and deserializes the row before each step, as a stateless server handling one request per
  step would.
- zhicheng: a migrated database (SQLite file, or PostgreSQL) with the flow published and the item created
  through the services. Per case: `cases.submit`, `acceptance.accept`, three `review.conclude`,
  `review.decide`, `review.deliver` — each in its own unit of work (`core.db.unit_of_work`, as the API
  routes do), so each is a committed transaction that locks the case row, checks its version and state,
  updates the case and its tasks, starts/stops the working-day clocks, adds the timeline event, queues the
  applicant's notification and appends the audit record. The task ids a reviewer would click are read
  inside the step.

- zhicheng group commit (approvals.batch): the same flow with `--batch` cases (200) in flight, as that many
  clerks and reviewers working side by side: each round takes one step of every case in flight and commits
  them in one transaction, as a server does for concurrent requests. The task ids the reviewers click are
  read once per round, inside the timing. Same rules, rows, timeline, messages and audit records as the
  services (tests/approvals/test_batch.py compares them row for row). It runs `--rounds` times (3), each
  time right after a SpiffWorkflow (memory) run, and the ratio reported is the median of the pairs' ratios
  (`paired` says why). Before each pair the objects alive so far are frozen out of the collector
  (gc.freeze), as zhicheng.asgi does once the server's app is built; it holds for both sides. Our batches
  run with the collector paused (core.db.collector_paused, as on the server); SpiffWorkflow runs with
  it off from its first step to its last, the most it could get of the same.
- The same through `approvals.batch.submit` from `--batch` threads, the routes' way in (`ours_threads`).

Reported: steps/s per side, ours ÷ SpiffWorkflow, the time and SQL statements of each kind of step, and a
floor: transactions/s of the least an audited step can be here (the route's unit of work, the case row locked,
its version bumped, one audit record, commit).

    .venv/bin/python bench/approvals_flow.py [--cases 300] [--db sqlite|postgresql|both] [--quick]
                                             [--profile] [--batch 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import pstats
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tempdb import dialects, migrate, temp_database

BPMN = Path(__file__).with_name("approvals_parallel.bpmn")
STEPS_PER_CASE = 7


# --- SpiffWorkflow -----------------------------------------------------------------------------------------


def spiff(cases: int, reload: bool) -> dict[str, Any]:
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("parallel_approval")
    ser = BpmnWorkflowSerializer()
    with tempfile.TemporaryDirectory(prefix="zc-bench-spiff-") as folder:
        con = sqlite3.connect(f"{folder}/spiff.db")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE workflow (id INTEGER PRIMARY KEY, state TEXT NOT NULL, updated_at REAL)")
        con.commit()
        steps, size = 0, 0
        gc.disable()  # the collector off for the whole run, as ours is during its batches (see the docstring)
        try:
            t0 = time.perf_counter()
            for _ in range(cases):
                wf = BpmnWorkflow(spec)
                wf.do_engine_steps()
                state = ser.serialize_json(wf)
                wid = con.execute(
                    "INSERT INTO workflow (state, updated_at) VALUES (?, ?)", (state, time.time())
                ).lastrowid
                con.commit()
                steps += 1
                while True:
                    if reload:
                        (state,) = con.execute("SELECT state FROM workflow WHERE id = ?", (wid,)).fetchone()
                        wf = ser.deserialize_json(state)
                    if wf.is_completed():
                        break
                    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                    name = task.task_spec.name
                    if name.startswith("review_"):
                        task.data[f"approved_{name[7:]}"] = True
                    task.run()
                    wf.do_engine_steps()
                    state = ser.serialize_json(wf)
                    con.execute(
                        "UPDATE workflow SET state = ?, updated_at = ? WHERE id = ?",
                        (state, time.time(), wid),
                    )
                    con.commit()
                    steps += 1
                    size = max(size, len(state))
            seconds = time.perf_counter() - t0
        finally:
            gc.enable()
        con.close()
    assert steps == cases * STEPS_PER_CASE, steps
    return {"steps": steps, "seconds": seconds, "per_second": steps / seconds, "state_bytes": size}


# --- zhicheng ----------------------------------------------------------------------------------------------


def _world(db: Any) -> dict[str, Any]:
    """Divisions, a city, the bureau and three departments, an applicant, the flow and the item."""
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

        def dept(name: str) -> int:
            return orgs.create_org(
                uow, OrgIn(name=name, kind="department", division_code="320100", parent_id=city.id)
            ).id

        bureau = dept("南京市政务服务管理办公室")
        zj, gh, xf = dept("南京市城乡建设委员会"), dept("南京市规划和自然资源局"), dept("南京市消防救援支队")
        party = orgs.register_party(
            uow,
            PartyIn(kind="enterprise", id_number="91320102MA1N2X3Y4H", name="南京建工集团有限公司"),
            DemoVerifier(),
        )
        definition = {
            "stages": [
                {"id": "accept", "kind": "accept", "days": 1, "org_id": bureau, "next": "joint"},
                {"id": "joint", "kind": "joint_review", "days": 8, "departments": [zj, gh, xf],
                 "on_reject": {"action": "reject"}, "next": "decide"},
                {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
                {"id": "deliver", "kind": "deliver", "days": 3, "org_id": bureau},
            ]
        }  # fmt: skip
        flows.publish(
            uow, FlowIn(code="parallel", name="并联审批", owner_org_id=bureau, definition=definition)
        )
        items.create_item(
            uow,
            ItemIn(
                code="320100-XK-9001",
                name="建筑工程施工许可证核发",
                kind="行政许可",
                org_id=bureau,
                deciding_org_id=zj,
                legal_basis="《中华人民共和国建筑法》第七条",
                statutory_days=15,
                promised_days=10,
                flow_code="parallel",
            ),
        )
        return {"party": party.id, "item": "320100-XK-9001"}


def _setup(url: str) -> tuple[Any, dict[str, Any], Any, int]:
    """A migrated database with the world in it: the Database, the world, the acting user and the number of
    audit records so far."""
    from zhicheng.core.db import Actor, Database

    migrate(url)
    db = Database(url)
    w = _world(db)
    return db, w, Actor(kind="user", name="bench"), _audit_count(db)


def _audit_count(db: Any) -> int:
    from sqlalchemy import func, select

    from zhicheng.core.audit.models import AuditRecord

    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def ours(url: str, cases: int, profile: bool) -> dict[str, Any]:
    from sqlalchemy import event, select

    from zhicheng.approvals import acceptance, review
    from zhicheng.approvals import cases as case_steps
    from zhicheng.approvals.models import Task
    from zhicheng.approvals.schemas import AcceptIn, CaseIn
    from zhicheng.core.db import unit_of_work
    from zhicheng.core.orgs.models import Party

    db, w, actor, audit_before = _setup(url)
    # per kind of step: [steps, seconds, SQL statements] — where the time goes
    per: dict[str, list[float]] = {
        k: [0, 0.0, 0] for k in ("submit", "accept", "conclude", "decide", "deliver")
    }
    current = ["submit"]

    def count(*_a: Any) -> None:
        per[current[0]][2] += 1

    event.listen(db.engine, "before_cursor_execute", count)

    def step(kind: str, work: Any) -> Any:
        current[0] = kind
        t = time.perf_counter()
        with unit_of_work(db, actor) as uow:
            result = work(uow)
        per[kind][0] += 1
        per[kind][1] += time.perf_counter() - t
        return result

    def submit(uow: Any, n: int) -> int:
        party = uow.session.get(Party, w["party"])
        return case_steps.submit(uow, CaseIn(item_code=w["item"]), party, f"bench-{n:08d}")[0].id

    def conclude(uow: Any, case_id: int, k: int) -> None:
        task_id = uow.session.scalar(
            select(Task.id)
            .where(Task.case_id == case_id, Task.status == "open", Task.queue == "review")
            .order_by(Task.id)
            .limit(1)
        )
        review.conclude(uow, task_id, True, "" if k else "符合法定条件")

    steps = 0
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    for n in range(cases):
        case_id = step("submit", lambda uow, n=n: submit(uow, n))
        step("accept", lambda uow, c=case_id: acceptance.accept(uow, c, AcceptIn()))
        for k in range(3):
            step("conclude", lambda uow, c=case_id, k=k: conclude(uow, c, k))
        step("decide", lambda uow, c=case_id: review.decide(uow, c, True))
        step("deliver", lambda uow, c=case_id: review.deliver(uow, c, "online"))
        steps += STEPS_PER_CASE
    seconds = time.perf_counter() - t0
    if prof:
        prof.disable()
    event.remove(db.engine, "before_cursor_execute", count)
    audited = _audit_count(db) - audit_before
    floor = _floor(db, case_id, actor, max(200, cases * 2))
    out = {
        "steps": steps,
        "seconds": seconds,
        "per_second": steps / seconds,
        "floor_per_second": floor,
        "audit_records": audited,
        "dialect": url.split(":", 1)[0].split("+")[0],
        "per_step": {
            k: {"ms": 1000 * v[1] / v[0], "statements": v[2] / v[0]} for k, v in per.items() if v[0]
        },
    }
    db.dispose()
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        out["profile"] = buf.getvalue()
    return out


def ours_batched(url: str, cases: int, size: int) -> dict[str, Any]:
    """The same flow through approvals.batch: `size` cases in flight at once, as `size` clerks and reviewers
    working side by side; each round takes one step of every case in flight and commits them together (the
    group commit a server does for concurrent requests). The reviewers' task ids are read per round, timed."""
    from sqlalchemy import func, select

    from zhicheng.approvals import batch
    from zhicheng.approvals.models import Task
    from zhicheng.approvals.schemas import CaseIn
    from zhicheng.core import bulk

    db, w, actor, audit_before = _setup(url)
    open_review = (
        select(Task.case_id, func.min(Task.id))
        .where(bulk.among(Task.case_id), Task.status == "open", Task.queue == "review")
        .group_by(Task.case_id)
    )

    def run(steps: list[Any]) -> list[Any]:
        out = batch.run(db, steps)
        bad = [r for r in out if isinstance(r, BaseException)]
        assert not bad, bad[:3]
        return out

    steps = 0
    t0 = time.perf_counter()
    for first in range(0, cases, size):
        n = min(size, cases - first)
        subs = run([batch.Step("submit", actor, application=CaseIn(item_code=w["item"]), party_id=w["party"],
                               token=f"bench-{first + k:08d}") for k in range(n)])  # fmt: skip
        ids = [r["id"] for r in subs]
        run([batch.Step("accept", actor, case_id=c) for c in ids])
        for k in range(3):
            with db.read() as s:
                tasks = dict(s.execute(open_review, {"ids": ids}).all())
            why = "" if k else "符合法定条件"
            run([batch.Step("conclude", actor, task_id=tasks[c], reason=why) for c in ids])
        run([batch.Step("decide", actor, case_id=c) for c in ids])
        run([batch.Step("deliver", actor, case_id=c) for c in ids])
        steps += n * STEPS_PER_CASE
    return _tally(db, audit_before, steps, time.perf_counter() - t0)


def ours_threads(url: str, cases: int, size: int) -> dict[str, Any]:
    """The same flow through the routes' way in, approvals.batch.submit: `size` threads, each a clerk or
    reviewer working one case after another through its seven steps, each step handed over and waited for
    as a route does; the steps of threads in flight together commit together (core.batching). The task ids a
    reviewer clicks are read once per case, timed."""
    import threading

    from sqlalchemy import bindparam, select

    from zhicheng.approvals import batch
    from zhicheng.approvals.models import Task
    from zhicheng.approvals.schemas import CaseIn

    db, w, actor, audit_before = _setup(url)
    open_review = select(Task.id).where(Task.case_id == bindparam("case"), Task.status == "open",
                                        Task.queue == "review")  # fmt: skip
    errors: list[BaseException] = []

    def clerk(first: int) -> None:
        try:
            for n in range(first, cases, size):
                app = CaseIn(item_code=w["item"])
                case = batch.submit(db, batch.Step("submit", actor, application=app, party_id=w["party"],
                                                   token=f"bench-{n:08d}"))["id"]  # fmt: skip
                batch.submit(db, batch.Step("accept", actor, case_id=case))
                with db.engine.connect() as c:  # a reviewer's inbox read: Core, no ORM session
                    tasks = sorted(c.execute(open_review, {"case": case}).scalars())
                for k, task in enumerate(tasks):
                    why = "" if k else "符合法定条件"
                    batch.submit(db, batch.Step("conclude", actor, task_id=task, reason=why))
                batch.submit(db, batch.Step("decide", actor, case_id=case))
                batch.submit(db, batch.Step("deliver", actor, case_id=case))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(size)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    assert not errors, errors[:3]
    return _tally(db, audit_before, cases * STEPS_PER_CASE, seconds)


def _tally(db: Any, audit_before: int, steps: int, seconds: float) -> dict[str, Any]:
    """A group commit run's figures, once every case is found through (no task left open)."""
    from sqlalchemy import func, select

    from zhicheng.approvals.models import Task

    audited = _audit_count(db) - audit_before
    with db.read() as s:
        left = s.scalar(select(func.count()).select_from(Task).where(Task.status == "open"))
    db.dispose()
    assert left == 0, left
    return {"steps": steps, "seconds": seconds, "per_second": steps / seconds, "audit_records": audited}


def paired(dialect: str, cases: int, size: int, rounds: int) -> dict[str, Any]:
    """The group commit (called directly, and through the threads' front end) and SpiffWorkflow (memory) run
    back to back `rounds` times, each ratio taken from runs a few seconds apart: on a shared machine whose
    speed drifts from minute to minute, the median of such ratios says more than one ratio of two runs
    minutes apart. Rates are medians too."""
    runs = []
    for _ in range(rounds):
        gc.collect()
        gc.freeze()  # what lives so far stays, as zhicheng.asgi does once the app is built; both sides run so
        theirs = spiff(cases, reload=False)
        with temp_database(dialect) as url:
            direct = ours_batched(url, cases, size)
        with temp_database(dialect) as url:
            threaded = ours_threads(url, cases, size)
        runs.append((direct, threaded, theirs))
    ratios = [d["per_second"] / t["per_second"] for d, _, t in runs]
    threads = [h["per_second"] / t["per_second"] for _, h, t in runs]
    return {
        "per_second": statistics.median(d["per_second"] for d, _, _ in runs),
        "threads_per_second": statistics.median(h["per_second"] for _, h, _ in runs),
        "spiff_per_second": statistics.median(t["per_second"] for _, _, t in runs),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "ratio_threads": statistics.median(threads),
        "ratios_threads": threads,
        "audit_records": runs[0][0]["audit_records"],
    }


def _floor(db: Any, case_id: int, actor: Any, rounds: int) -> float:
    """Transactions per second of the least a persisted, audited step can be on this platform: the route's
    unit of work, the case row locked, its version bumped, one audit record, commit — and nothing else."""
    from zhicheng.approvals import cases as case_steps
    from zhicheng.core.db import unit_of_work

    t = time.perf_counter()
    for n in range(rounds):
        with unit_of_work(db, actor) as uow:
            case = case_steps.lock(uow, case_id)
            case_steps.touch(case)
            uow.record("approvals:bench:floor", f"case:{case_id}", {"n": n})
    return rounds / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql", "pg", "both"])
    ap.add_argument("--quick", action="store_true", help="50 cases")
    ap.add_argument("--profile", action="store_true", help="print where our side spends its time")
    ap.add_argument("--batch", type=int, default=200, help="cases in flight in the group-commit run")
    ap.add_argument("--rounds", type=int, default=3, help="group commit and SpiffWorkflow run in pairs")
    args = ap.parse_args(argv)
    cases = 50 if args.quick else args.cases
    logging.getLogger("alembic").setLevel(logging.WARNING)
    print(
        f"approvals flow: {cases} cases × {STEPS_PER_CASE} persisted steps, "
        "accept → 3 parallel reviews → decide → deliver"
    )
    memory = spiff(cases, reload=False)
    print(
        "  SpiffWorkflow (state kept in memory, serialized to SQLite per step): "
        f"{memory['per_second']:,.0f} steps/s ({memory['seconds']:.1f} s; "
        f"state {memory['state_bytes']:,} bytes)"
    )
    reloaded = spiff(cases, reload=True)
    print(
        "  SpiffWorkflow (state read back and deserialized per step):           "
        f"{reloaded['per_second']:,.0f} steps/s ({reloaded['seconds']:.1f} s)"
    )
    results: dict[str, Any] = {"cases": cases, "spiff": memory, "spiff_reload": reloaded, "zhicheng": {}}
    for dialect in dialects("both" if args.db == "both" else "postgresql" if args.db == "pg" else args.db):
        with temp_database(dialect) as url:
            r = ours(url, cases, args.profile)
        r["ratio"] = r["per_second"] / memory["per_second"]
        r["ratio_reload"] = r["per_second"] / reloaded["per_second"]
        results["zhicheng"][dialect] = r
        print(
            f"  zhicheng services on {dialect:<10}: {r['per_second']:,.0f} steps/s ({r['seconds']:.1f} s; "
            f"{r['audit_records']:,} audit records) = {r['ratio']:.1f}× SpiffWorkflow (memory), "
            f"{r['ratio_reload']:.1f}× (reload)"
        )
        print(f"    floor (lock the case, bump its version, one audit record, commit): "
              f"{r['floor_per_second']:,.0f} transactions/s")  # fmt: skip
        print(
            "    per step: "
            + ", ".join(f"{k} {v['ms']:.1f} ms / {v['statements']:.0f} SQL" for k, v in r["per_step"].items())
        )
        if args.profile:
            print(r["profile"])
        g = paired(dialect, cases, args.batch, 1 if args.quick else args.rounds)
        g["ratio_reload"] = g["per_second"] / reloaded["per_second"]
        r["batched"] = g
        print(
            f"  zhicheng group commit on {dialect:<10}: {g['per_second']:,.0f} steps/s "
            f"({g['audit_records']:,} audit records; {args.batch} cases in flight) = {g['ratio']:.1f}× "
            f"SpiffWorkflow (memory), median of {len(g['ratios'])} rounds run in pairs "
            f"({', '.join(f'{x:.1f}×' for x in g['ratios'])}); {g['ratio_reload']:.1f}× (reload)"
        )
        print(
            f"    through approvals.batch.submit from {args.batch} threads (the routes' way in): "
            f"{g['threads_per_second']:,.0f} steps/s = {g['ratio_threads']:.1f}× SpiffWorkflow (memory) "
            f"({', '.join(f'{x:.1f}×' for x in g['ratios_threads'])})"
        )
    return results


if __name__ == "__main__":
    main()

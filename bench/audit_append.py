"""Audit records appended per second while 8 clients write concurrently, with the sealer chaining them.

Each client is a process looping over one small transaction through `unit_of_work`: a business row (an ORM
object: a case's status change) plus its audit record (`uow.record`). A ninth process runs the sealer as the
worker does (`audit.seal`: every second, batches of 5000 until a batch comes back short), so the figure
includes chaining.
At the end a final `seal_all` must leave nothing unsealed and `verify` must say ok.

For reference the same clients then run the same transaction without the audit record; the ratio
audited/unaudited is what the audit trail costs.

    .venv/bin/python bench/audit_append.py [--seconds 10] [--clients 8] [--db both|sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from typing import Any

from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tempdb import dialects, migrate, temp_database

SEAL_BATCH, SEAL_TICK, MAX_BATCHES_PER_TICK = 5000, 1.0, 20


class _Base(DeclarativeBase):
    pass


class Case(_Base):
    """The business row each transaction writes: an ORM object, as a module's service would add.

    Audit-exempt so that the reference round may commit it without a record; the audited round records it.
    """

    __tablename__ = "bench_case"
    __audit_exempt__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[int] = mapped_column(Integer, nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False)


def _client(url: str, client: int, audited: bool, ready: Any, seconds: float, out: Any) -> None:
    from zhicheng.core.db import Actor, Database, unit_of_work

    db = Database(url)
    actor = Actor(kind="system", name=f"bench-client-{client}", org_id=100 + client, ip="127.0.0.1")
    with db.engine.connect():  # connected and imported before the clock starts
        pass
    ready.wait()
    n, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        with unit_of_work(db, actor) as uow:
            case = Case(client=client, n=n, status="办结", note="材料齐全，准予许可")
            uow.session.add(case)
            if audited:  # a realistic small change: what moved, who handled it
                uow.record(
                    "bench:case:transition",
                    f"case:{client}-{n}",
                    {
                        "status": {"from": "受理", "to": "办结"},
                        "handler": "陈经办",
                        "org_id": 100 + client,
                        "note": case.note,
                        "deadline": "2026-10-16",
                    },
                )
        n += 1
    out.put(("client", client, n))
    db.dispose()


def _sealer(url: str, stop: Any, out: Any) -> None:
    """The worker's `audit.seal` task: each tick, full batches until one comes back short."""
    from zhicheng.core.audit.services import seal
    from zhicheng.core.db import Database

    db = Database(url)
    sealed = 0
    while not stop.is_set():
        for _ in range(MAX_BATCHES_PER_TICK):
            k = seal(db, SEAL_BATCH)
            sealed += k
            if k < SEAL_BATCH:
                break
        stop.wait(SEAL_TICK)
    out.put(("sealer", 0, sealed))
    db.dispose()


def _round(url: str, clients: int, seconds: float, audited: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")  # fresh interpreters: no engine or connection crosses a fork
    out, stop, ready = ctx.Queue(), ctx.Event(), ctx.Barrier(clients + 1)
    procs = [ctx.Process(target=_client, args=(url, i, audited, ready, seconds, out)) for i in range(clients)]
    sealer = ctx.Process(target=_sealer, args=(url, stop, out)) if audited else None
    for p in [*procs, *([sealer] if sealer else [])]:
        p.start()
    ready.wait(timeout=120)  # every client has imported and connected: the clock starts for all at once
    counts = [out.get(timeout=seconds + 120)[2] for _ in procs]
    for p in procs:
        p.join(timeout=30)
    sealed_live = 0
    if sealer:
        stop.set()
        sealed_live = out.get(timeout=120)[2]
        sealer.join(timeout=30)
    total = sum(counts)
    return {
        "total": total,
        "per_second": total / seconds,
        "per_client": total / seconds / clients,
        "min_client": min(counts) / seconds,
        "max_client": max(counts) / seconds,
        "sealed_live": sealed_live,
    }


def run_one(dialect: str, clients: int, seconds: float) -> dict[str, Any]:
    from zhicheng.core.audit.models import AuditRecord
    from zhicheng.core.audit.services import seal_all, verify
    from zhicheng.core.db import Database

    with temp_database(dialect) as url:
        migrate(url)
        db = Database(url)
        _Base.metadata.create_all(db.engine)
        seal_all(db)
        with db.read() as s:
            before = s.scalar(select(func.count()).select_from(AuditRecord)) or 0
        audited = _round(url, clients, seconds, audited=True)
        t0 = time.perf_counter()
        audited["sealed_at_end"] = seal_all(db)
        audited["final_seal_s"] = time.perf_counter() - t0
        verdict = verify(db)
        with db.read() as s:
            after = s.scalar(select(func.count()).select_from(AuditRecord)) or 0
        audited["records"] = after - before
        audited["all_sealed"] = verdict.pending == 0 and verdict.checked == after
        audited["verify_ok"] = verdict.ok
        audited["lost"] = audited["total"] - audited["records"]  # must be 0: one record per transaction
        plain = _round(url, clients, seconds, audited=False)
        db.dispose()
    return {
        "dialect": dialect,
        "clients": clients,
        "seconds": seconds,
        "audited": audited,
        "plain": plain,
        "ratio": audited["per_second"] / plain["per_second"] if plain["per_second"] else 0.0,
    }


def report(r: dict[str, Any]) -> None:
    a, p = r["audited"], r["plain"]
    print(f"  {r['dialect']}: {r['clients']} clients × {r['seconds']:g} s")
    print(
        f"    audited   {a['per_second']:9.0f} records/s  ({a['per_client']:.0f}/s per client, "
        f"{a['min_client']:.0f}–{a['max_client']:.0f})  {a['total']} records"
    )
    print(
        f"    sealed    {a['sealed_live']} during the run by the sealer, {a['sealed_at_end']} by the final "
        f"seal ({a['final_seal_s']:.2f} s); all sealed: {a['all_sealed']}; lost: {a['lost']}; "
        f"verify ok: {a['verify_ok']}"
    )
    print(f"    unaudited {p['per_second']:9.0f} transactions/s  ({p['per_client']:.0f}/s per client)")
    print(f"    audited/unaudited = {r['ratio']:.2f}")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each round of clients writes")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    ap.add_argument("--quick", action="store_true", help="3-second rounds")
    args = ap.parse_args(argv)
    seconds = min(args.seconds, 3.0) if args.quick else args.seconds
    print("audit append: records/s with concurrent writers and the sealer running")
    results = []
    for dialect in dialects(args.db):
        results.append(run_one(dialect, args.clients, seconds))
        report(results[-1])
    return results


if __name__ == "__main__":
    main()

"""`make bench`: every benchmark, then one summary table to paste into bench/README.md.

    .venv/bin/python bench/run.py [--quick] [--db both|sqlite|postgresql]
                                  [--only append,verify,memory,search,exchange,flow,inbox,intake,sensors]

--quick shrinks each run (3-second append rounds, 100,000 records to verify, 30 request rounds) for a check
that everything works; the figures worth quoting come from a full run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import time
from typing import Any

import approvals_flow
import approvals_inbox
import audit_append
import audit_verify
import catalog_search
import cityops_intake
import cityops_sensors
import exchange
import server_memory
from tempdb import PG_ADMIN, pg_available

BENCHES = ("append", "verify", "memory", "search", "exchange", "flow", "inbox", "intake", "sensors")


def _machine(pg: bool) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts = [
        f"{os.cpu_count()} CPUs",
        f"load {load:.1f}",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if pg:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN)
        with engine.connect() as c:
            parts.append("PostgreSQL " + str(c.execute(text("SHOW server_version")).scalar()).split()[0])
        engine.dispose()
    return ", ".join(parts)


def summary(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for r in results.get("append", []):
        a = r["audited"]
        rows.append(
            (
                f"audit append, {r['clients']} clients ({r['seconds']:g} s)",
                r["dialect"],
                f"{a['per_second']:,.0f} records/s ({a['per_client']:,.0f}/client); "
                f"unaudited {r['plain']['per_second']:,.0f}/s; ratio {r['ratio']:.2f}; "
                f"verify ok {a['verify_ok']}, lost {a['lost']}",
            )
        )
    for r in results.get("verify", []):
        rows.append(
            (
                f"audit verify, {r['checked']:,} records",
                r["dialect"],
                f"{r['verify_s']:.1f} s = {r['verify_per_s']:,.0f} records/s "
                f"(sealing took {r['seal_s']:.1f} s)",
            )
        )
    if m := results.get("memory"):
        rows.append(
            (
                "server RSS with the demo",
                "sqlite",
                f"{m['start_kib'] / 1024:.0f} MiB at start, {m['after_kib'] / 1024:.0f} MiB after "
                f"{m['requests']} requests",
            )
        )
    for r in results.get("search", []):
        f, h = r["function"], r["http"]
        rows.append(
            (
                f"catalog search, {r['resources']:,} resources, {r['queries']} queries",
                r["dialect"],
                f"search() p50/p95/p99 {f['p50']:.1f}/{f['p95']:.1f}/{f['p99']:.1f} ms "
                f"(no cache: p95 {r['uncached']['p95']:.1f} ms); HTTP p95 {h['p95']:.1f} ms; "
                f"reindex {r['index_s']:.0f} s",
            )
        )
    if x := results.get("exchange"):
        d = x["datasette"]
        rows.append(
            (
                f"Datasette, {x['rows']:,} rows, 100-row pages, {x['connections']} connections",
                "sqlite",
                f"{d['rps']:,.0f} req/s; p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms; "
                f"RSS {d['rss_start_mib']:.0f} → {d['rss_end_mib']:.0f} MiB",
            )
        )
        for dialect, r in x["zhicheng"].items():
            rows.append(
                (
                    f"exchange API, same pages, {x['workers']} workers",
                    dialect,
                    f"{r['rps']:,.0f} req/s = {r['ratio']:.1f}× Datasette; p50 {r['p50_ms']:.1f} ms, "
                    f"p99 {r['p99_ms']:.1f} ms; non-2xx {r['non2xx']}; "
                    f"RSS {r['rss_start_mib']:.0f} → {r['rss_end_mib']:.0f} MiB "
                    f"(peak {r['rss_peak_mib']:.0f})",
                )
            )
    if f := results.get("flow"):
        sp, rl = f["spiff"], f["spiff_reload"]
        rows.append(
            (
                f"SpiffWorkflow, 3-department parallel approval, {f['cases']} cases",
                "sqlite",
                f"{sp['per_second']:,.0f} steps/s (state in memory); {rl['per_second']:,.0f} steps/s "
                "(state read back per step)",
            )
        )
        for dialect, r in f["zhicheng"].items():
            rows.append(
                (
                    "approvals services, same flow, audited steps",
                    dialect,
                    f"{r['per_second']:,.0f} steps/s = {r['ratio']:.2f}× SpiffWorkflow (memory), "
                    f"{r['ratio_reload']:.2f}× (read back); floor {r['floor_per_second']:,.0f} tx/s",
                )
            )
            if g := r.get("batched"):
                rows.append(
                    (
                        "approvals group commit, same flow, 200 cases in flight",
                        dialect,
                        f"{g['per_second']:,.0f} steps/s = {g['ratio']:.2f}× SpiffWorkflow (memory), median "
                        f"of {len(g['ratios'])} paired runs; {g['ratio_reload']:.2f}× (read back)",
                    )
                )
                rows.append(
                    (
                        "approvals group commit through the routes' front end, 200 threads",
                        dialect,
                        f"{g['threads_per_second']:,.0f} steps/s = {g['ratio_threads']:.2f}× SpiffWorkflow "
                        f"(memory), median of {len(g['ratios_threads'])} paired runs",
                    )
                )
    for r in results.get("inbox", []):
        i, c = r["inbox"], r["scan"]
        rows.append(
            (
                f"approvals inbox / overdue scan, {r['cases']:,} open cases",
                r["dialect"],
                f"inbox p50/p95/p99 {i['p50']:.1f}/{i['p95']:.1f}/{i['p99']:.1f} ms; "
                f"scan p50/p95/p99 {c['p50']:.1f}/{c['p95']:.1f}/{c['p99']:.1f} ms; "
                f"generated in {r['generate_s']:.0f} s",
            )
        )
    intake = results.get("intake") or {}
    for dialect, r in intake.get("zhicheng", {}).items():
        rows.append(
            (
                f"cityops intake, one event per request, {intake['workers']} workers",
                dialect,
                f"{r['rps']:,.0f} events/s (target 2,400); "
                f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
                f"non-2xx {r['non2xx']}; RSS {r['rss_first_mib']:.0f} → {r['rss_last_mib']:.0f} MiB "
                f"(max {r['rss_max_mib']:.0f})",
            )
        )
    sensors = results.get("sensors") or {}
    for dialect in ("sqlite", "postgresql"):
        for path, label in (("inprocess", "in-process"), ("http", "HTTP, 2 workers"), ("mqtt", "MQTT")):
            r = (sensors.get(dialect) or {}).get(path)
            if r:
                rows.append(
                    (
                        f"cityops sensor readings, {label}, batches of {sensors['batch']:,}",
                        dialect,
                        f"{r['per_second']:,.0f} readings/s "
                        f"({r['per_second'] / 50000:.2f}× the 50,000/s target)",
                    )
                )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description="zhicheng benchmarks")
    ap.add_argument("--quick", action="store_true", help="small runs, to check that everything works")
    ap.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated, of: " + ",".join(BENCHES))
    args = ap.parse_args()
    only = {b.strip() for b in args.only.split(",")}
    quick = ["--quick"] if args.quick else []
    pg = args.db != "sqlite" and pg_available() is None
    print(f"zhicheng benchmarks{' (quick)' if args.quick else ''}: {_machine(pg)}\n")
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    if "append" in only:
        results["append"] = audit_append.main([*quick, "--db", args.db])
        print()
    if "verify" in only:
        results["verify"] = audit_verify.main([*quick, "--db", args.db])
        print()
    if "memory" in only:
        results["memory"] = server_memory.main(quick)
        print()
    if "search" in only:
        results["search"] = catalog_search.main([*quick, "--db", args.db])
        print()
    if "exchange" in only:
        results["exchange"] = exchange.main([*quick, "--db", args.db])
        print()
    if "flow" in only:
        results["flow"] = approvals_flow.main([*quick, "--db", args.db])
        print()
    if "inbox" in only:
        results["inbox"] = approvals_inbox.main([*quick, "--db", args.db])
        print()
    if "intake" in only:
        results["intake"] = cityops_intake.main([*quick, "--db", args.db])
        print()
    if "sensors" in only:
        results["sensors"] = cityops_sensors.main([*quick, "--db", args.db])
        print()
    print(f"summary ({time.perf_counter() - t0:.0f} s)")
    rows = summary(results)
    width = max((len(r[0]) for r in rows), default=10)
    print(f"| {'measure':<{width}} | database   | figure |")
    print(f"|{'-' * (width + 2)}|------------|--------|")
    for what, db, figure in rows:
        print(f"| {what:<{width}} | {db:<10} | {figure} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

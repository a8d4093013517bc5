"""How long `zhicheng audit verify` takes over a chain of 1,000,000 records, on SQLite and PostgreSQL.

The records are bulk-inserted as the platform writes them (canonical JSON change, its SM3 digest), sealed with
`seal_all` (timed too: that is the sealer's throughput), then the CLI walks the whole chain in a subprocess.

    .venv/bin/python bench/audit_verify.py [--records 1000000] [--quick] [--db both|sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import time
from typing import Any

from sqlalchemy import insert

from tempdb import ZHICHENG, cli_env, dialects, migrate, temp_database

CHUNK = 20_000
SEAL_BATCH = 20_000


def _rows(start: int, count: int, base: dt.datetime) -> list[dict[str, Any]]:
    from zhicheng.core.audit.chain import canonical_json, sm3_hex

    rows = []
    for i in range(start, start + count):
        change = canonical_json(
            {
                "status": {"from": "受理", "to": "办结"},
                "handler": "陈经办",
                "n": i,
                "note": "材料齐全，准予许可",
            }
        )
        rows.append(
            {
                "at": base + dt.timedelta(microseconds=i * 250),
                "actor": f"system:bench-{i % 8}",
                "user_id": None,
                "org_id": 100 + i % 8,
                "tag": "bench:case:transition",
                "subject": f"case:{i}",
                "change": change,
                "change_digest": sm3_hex(change.encode()),
            }
        )
    return rows


def fill(url: str, records: int) -> dict[str, float]:
    """Insert `records` unsealed audit records, then seal them all; returns the seconds each step took."""
    from zhicheng.core.audit.models import AuditRecord
    from zhicheng.core.audit.services import seal_all
    from zhicheng.core.db import Database

    db = Database(url)
    base = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    for start in range(0, records, CHUNK):
        with db.engine.begin() as c:
            c.execute(insert(AuditRecord.__table__), _rows(start, min(CHUNK, records - start), base))
    t1 = time.perf_counter()
    sealed = seal_all(db, SEAL_BATCH)
    t2 = time.perf_counter()
    db.dispose()
    return {"insert_s": t1 - t0, "seal_s": t2 - t1, "sealed": sealed}


def verify_cli(url: str) -> tuple[float, dict[str, Any], int]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(ZHICHENG), "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        env=cli_env(url),
        timeout=7200,
    )
    seconds = time.perf_counter() - t0
    try:
        said = json.loads(r.stdout)
    except ValueError:
        said = {"ok": False, "checked": 0, "error": r.stderr.strip()[:200]}
    return seconds, said, r.returncode


def run_one(dialect: str, records: int) -> dict[str, Any]:
    with temp_database(dialect) as url:
        migrate(url)
        filled = fill(url, records)
        seconds, said, code = verify_cli(url)
    return {
        "dialect": dialect,
        "records": records,
        **filled,
        "verify_s": seconds,
        "checked": said["checked"],
        "verify_ok": said["ok"],
        "verify_per_s": said["checked"] / seconds,
        "exit": code,
    }


def report(r: dict[str, Any]) -> None:
    print(
        f"  {r['dialect']}: {r['records']:,} records (inserted in {r['insert_s']:.1f} s, "
        f"sealed in {r['seal_s']:.1f} s = {r['sealed'] / r['seal_s']:,.0f}/s)"
    )
    print(
        f"    zhicheng audit verify: {r['verify_s']:.1f} s for {r['checked']:,} records = "
        f"{r['verify_per_s']:,.0f} records/s (ok: {r['verify_ok']}, exit {r['exit']})"
    )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 records")
    ap.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    args = ap.parse_args(argv)
    records = 100_000 if args.quick else args.records
    print(f"audit verify: `zhicheng audit verify` over {records:,} records")
    results = []
    for dialect in dialects(args.db):
        results.append(run_one(dialect, records))
        report(results[-1])
    return results


if __name__ == "__main__":
    main()

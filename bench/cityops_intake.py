"""Single-event HTTP intake for city operations: POST /api/v1/cityops/reports, one event per request.

Our server (`zhicheng serve --workers N`, the embedded worker on, as bench/exchange.py starts it) runs on a
migrated database holding the demo city's grid (200 grids over the eleven districts, imported through the
grid service), its 69 部件/事件 classes and routing rules (zhicheng.cityops.demo), and a system token with
intake rights. wrk (bench/cityops_intake.lua) posts reports at random points inside random grids, of random
classes, from random intake channels, so every request normalises the point, locates its grid (H3 index),
looks up the class and the routing rule, runs the duplicate search (H3 k-ring query, then great-circle
distance), writes the case or merges into one, and commits its audit record before answering.

wrk keeps `--connections` (64) requests in flight: each process's lane commits the reports that arrived
while its last batch was being written, so the batches, and the events per CPU-second, grow with the
number of senders (at 32 connections the batches are about half as large).

Reported per database: events/s, p50/p99 latency, non-2xx answers (must be 0), and the server's resident
memory (all its processes) sampled during the run (every second; every 10 s from 120 s on): first, last,
max. Then the database is counted: every 2xx answer must have left a reporter row ("acknowledged means
stored"), and how many reports were merged as duplicates. The issue's target: 2,400 events/s sustained,
memory flat over a 10-minute run (`--seconds 600`).

The requests carry a bearer token, so the server answers them in its intake lane (cityops.lane: before
FastAPI's routing, group-committed by cityops.batch). Also reported: the CPU time per event of the server's
processes and of the PostgreSQL backends, which says more than events/s on a machine shared with other
work (the load average is printed with it).

`--profile N` runs N reports in this process instead (intake.report in its own unit of work each, as the
route does, without HTTP) under cProfile and prints where the time goes; with `--batch B`, the lane's write
path instead (cityops.batch.run over batches of B reports).

    .venv/bin/python bench/cityops_intake.py [--seconds 30] [--db both|sqlite|postgresql] [--quick]
    .venv/bin/python bench/cityops_intake.py --profile 3000 --db sqlite [--batch 16]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from exchange import Sampler, _ms, _passed, serve
from server_memory import _free_port
from tempdb import ZHICHENG, cli_env, dialects, migrate, temp_database

HERE = Path(__file__).parent
TARGET = 2400


def world(url: str) -> dict[str, Any]:
    """Migrate; the demo city's divisions and governments, its grid, classes and rules; a channel token."""
    from zhicheng.cityops import demo as cityops_demo
    from zhicheng.core.auth import services as auth
    from zhicheng.core.auth.schemas import TokenIn
    from zhicheng.core.db import Actor, Database, unit_of_work
    from zhicheng.demo import stages

    migrate(url)
    db = Database(url)
    me = Actor(kind="cli", name="bench")
    with unit_of_work(db, me) as uow:
        stages.divisions(uow, lambda: None)
    with unit_of_work(db, me) as uow:
        orgs, _ = stages.governments(uow, lambda: None)
    specs = cityops_demo.grid_specs()
    with unit_of_work(db, me) as uow:
        cityops_demo._grid(uow, orgs, specs, {})
    with unit_of_work(db, me) as uow:
        cityops_demo._classes(uow, orgs)
    with unit_of_work(db, me) as uow:
        # hotline_agent: the report route wants a signed-in caller (self) holding cityops.intake
        _, token = auth.create_token(
            uow, TokenIn(name="bench-intake", org_id=orgs["city"], roles=["hotline_agent"], days=1)
        )
    db.dispose()
    keys = [f"{c.kind}:{c.code}" for c in cityops_demo.data.CLASSES]
    return {"token": token, "grids": specs, "categories": keys, "cell": cityops_demo.data.CELL}


def _points_file(w: dict[str, Any]) -> str:
    lines = [f"{g.west:.6f} {g.south:.6f} {w['cell']}" for g in w["grids"]]
    lines += [f"category {k}" for k in w["categories"]]
    with tempfile.NamedTemporaryFile("w", suffix=".grids", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    return f.name


class SlowSampler(Sampler):
    """Sampler's RSS, every `every` seconds."""

    def __init__(self, pid: int, every: float) -> None:
        super().__init__(pid)
        self.every = every

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.samples.append(self.rss_kib())


def wrk(base: str, seconds: int, connections: int, token: str, points: str) -> dict[str, Any]:
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "cityops_intake.lua"),
    ]
    cmd += ["-H", f"Authorization: Bearer {token}", base, "--", points]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))
    sock = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
        "requests": done,
        "socket_errors": sock.group(1).strip() if sock else "",
    }


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _server_pids(pid: int) -> list[int]:
    try:
        return [pid, *(int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    except OSError:
        return [pid]


def _db_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (empty for SQLite, which runs in the server)."""
    if not url.startswith("postgresql"):
        return []
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(url)
    with engine.connect() as c:
        name = make_url(url).database
        pids = c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
            {"d": name},
        ).scalars()
        found = list(pids)
    engine.dispose()
    return found


def _stored(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from zhicheng.cityops.models import Case, Reporter
    from zhicheng.core.db import Database

    db = Database(url)
    with db.read() as s:
        cases = s.scalar(select(func.count()).select_from(Case)) or 0
        reporters = s.scalar(select(func.count()).select_from(Reporter)) or 0
    db.dispose()
    return {"cases": cases, "reporters": reporters, "merged": reporters - cases}


def run_http(args: argparse.Namespace, dialect: str) -> dict[str, Any]:
    with temp_database(dialect) as url:
        w = world(url)
        points = _points_file(w)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = cli_env(url, ZHICHENG_EMBEDDED_WORKER="true", **_passed())
        cmd = [
            str(ZHICHENG),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ]
        proc = serve(cmd, env, base, "/healthz")
        try:
            warm = wrk(base, max(2, min(10, args.seconds // 10)), args.connections, w["token"], points)
            sampler = SlowSampler(proc.pid, 10.0 if args.seconds >= 120 else 1.0)
            first = sampler.rss_kib()
            sampler.start()
            server, backends = _server_pids(proc.pid), _db_pids(url)
            cpu = (_cpu_seconds(server), _cpu_seconds(backends))
            result = wrk(base, args.seconds, args.connections, w["token"], points)
            cpu = (_cpu_seconds(server) - cpu[0], _cpu_seconds(backends) - cpu[1])
            sampler.stop.set()
            sampler.join()
            time.sleep(0.5)
            samples = [first, *sampler.samples]
            stored = _stored(url)
            check = httpx.get(base + "/healthz", timeout=5).status_code
        finally:
            proc.terminate()
            proc.wait(10)
            os.unlink(points)
        answered = warm["requests"] - warm["non2xx"] + result["requests"] - result["non2xx"]
        return result | {
            "rss_first_mib": samples[0] / 1024,
            "rss_last_mib": samples[-1] / 1024,
            "rss_max_mib": max(samples) / 1024,
            "rss_samples_mib": [round(s / 1024) for s in samples],
            "answered_2xx": answered,
            # CPU per event: the server's processes, and the database backends open at the start
            "server_cpu_ms": cpu[0] * 1000 / max(result["requests"], 1),
            "db_cpu_ms": cpu[1] * 1000 / max(result["requests"], 1),
            "load": os.getloadavg()[0],
            "healthz": check,
            **stored,
        }


def run_profile(args: argparse.Namespace, dialect: str) -> dict[str, Any]:
    """N reports in this process, each in its own unit of work, under cProfile; where the time goes."""
    from zhicheng.cityops import intake
    from zhicheng.cityops.schemas import LocationIn, ReportIn
    from zhicheng.core.db import Actor, Database, unit_of_work

    with temp_database(dialect) as url:
        w = world(url)
        db = Database(url)
        me = Actor(kind="system", name="bench-intake")
        rnd = random.Random(7)
        channels = ("hotline", "grid", "sensor", "drone", "video", "open311")
        bodies = []
        for _ in range(args.profile):
            g = rnd.choice(w["grids"])
            lng, lat = g.point(rnd.random(), rnd.random())
            location = LocationIn(lng=lng, lat=lat, crs="wgs84")
            bodies.append(
                (ReportIn(category=rnd.choice(w["categories"]), location=location), rnd.choice(channels))
            )
        with unit_of_work(db, me) as uow:  # warm: the grid index and the class table
            intake.report(uow, bodies[0][0], channel=bodies[0][1])
        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        if args.batch:  # the lane's write path: group commits of `--batch` reports (cityops.batch)
            from zhicheng.cityops import batch

            rest = [batch.prepare(me, body, channel=channel) for body, channel in bodies[1:]]
            for i in range(0, len(rest), args.batch):
                batch.run(db, rest[i : i + args.batch])
        else:
            for body, channel in bodies[1:]:
                with unit_of_work(db, me) as uow:
                    intake.report(uow, body, channel=channel)
        prof.disable()
        took = time.perf_counter() - started
        db.dispose()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    n = len(bodies) - 1
    print(
        f"  {dialect}: {n} reports in one process in {took:.2f} s = {n / took:,.0f}/s "
        f"({took / n * 1000:.2f} ms each)"
    )
    return {"reports": n, "seconds": took, "per_second": n / took}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument(
        "--connections",
        type=int,
        default=64,
        help="concurrent senders (gateways, the 12345 system, apps); the batches grow with them",
    )
    p.add_argument("--workers", type=int, default=2, help="zhicheng API processes")
    p.add_argument("--db", default="both")
    p.add_argument("--quick", action="store_true", help="5-second runs")
    p.add_argument("--profile", type=int, default=0, help="profile N reports in-process instead of HTTP")
    p.add_argument(
        "--batch", type=int, default=0, help="with --profile: group-commit batches of this size (the lane)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.seconds = 5
    results: dict[str, Any] = {
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
    }
    if args.profile:
        results["profile"] = {d: run_profile(args, d) for d in dialects(args.db)}
        return results
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (make bench-deps installs it from Debian's packages)")
    results["zhicheng"] = {}
    for dialect in dialects(args.db):
        r = run_http(args, dialect)
        results["zhicheng"][dialect] = r
        report(f"cityops intake ({dialect}, {args.workers} workers, {args.seconds} s)", r)
    return results


def report(name: str, r: dict[str, Any]) -> None:
    lost = r["answered_2xx"] - r["reporters"]
    print(
        f"  {name}: {r['rps']:,.0f} events/s ({r['rps'] / TARGET:.2f}× the 2,400/s target); "
        f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; non-2xx {r['non2xx']}"
        + (f"; socket errors {r['socket_errors']}" if r["socket_errors"] else "")
        + f"; RSS first {r['rss_first_mib']:.0f}, last {r['rss_last_mib']:.0f}, "
        f"max {r['rss_max_mib']:.0f} MiB; "
        f"stored {r['reporters']:,} reports in {r['cases']:,} cases ({r['merged']:,} merged), "
        f"{max(lost, 0)} acknowledged but not stored; "
        f"CPU per event: server {r['server_cpu_ms']:.2f} ms, database backends {r['db_cpu_ms']:.2f} ms "
        f"(load average {r['load']:.1f} at the end)"
    )
    if len(r["rss_samples_mib"]) > 3:
        print(f"    RSS samples (MiB): {r['rss_samples_mib']}")


if __name__ == "__main__":
    main()

"""The governed exchange API against Datasette on the same 1,000,000-row people table.

Both serve the same rows (synthetic residents: valid resident ID numbers, mobile numbers, addresses in
Nanjing's 11 districts) from SQLite with the same indexes; wrk asks both for the same 2,000 different
100-row pages (a random district, starting after a random row: Datasette's `_next`, our keyset `cursor`),
at the same concurrency, one server after the other on the same machine.

- Datasette: `datasette serve -i` (immutable), `_size=100&_shape=objects&_nocount=1&_nofacet=1`.
- zhicheng: `zhicheng serve --workers N` on a migrated database whose people resource is hosted (loaded
  through the real upload path, `services.load_rows`) and granted to a consumer system; each call carries
  the system's token and passes the grant check, masking of name/ID/phone/address and an audit record
  committed before the answer (`include_total=false`, the counterpart of `_nocount=1`).
Reported: requests/s, latency p50/p99 (wrk), the ratio, the servers' resident memory sampled every second
(start, end, peak: "flat" means end ≈ start after warm-up), and a check of one answer from each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from stdnum.cn import ric

from server_memory import _free_port
from tempdb import ZHICHENG, cli_env, dialects, migrate, temp_database
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.paging import encode

HERE = Path(__file__).parent
PAGES = 2000
DISTRICTS = {
    "320102": "玄武区",
    "320104": "秦淮区",
    "320105": "建邺区",
    "320106": "鼓楼区",
    "320111": "浦口区",
    "320113": "栖霞区",
    "320114": "雨花台区",
    "320115": "江宁区",
    "320116": "六合区",
    "320117": "溧水区",
    "320118": "高淳区",
}
ITEMS = [
    ("姓名", "字符型", "姓名"),
    ("公民身份号码", "字符型", "证件号码"),
    ("联系电话", "字符型", "电话号码"),
    ("现住址", "字符型", "地址"),
    ("出生日期", "日期型", "不敏感"),
    ("性别", "字符型", "不敏感"),
    ("所属区县", "字符型", "不敏感"),
    ("家庭人口", "整数型", "不敏感"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
ROADS = ["中山路", "北京东路", "汉中路", "中华路", "龙蟠路", "江东中路", "珠江路", "虎踞路", "应天大街"]
PREFIXES = ["138", "139", "150", "151", "158", "177", "186", "187", "189", "199"]


def people(n: int, seed: int = 2026) -> Any:
    """n residents as dicts keyed by item name, the same for both servers."""
    rnd = random.Random(seed)
    codes = list(DISTRICTS)
    start = dt.date(1940, 1, 1)
    for _ in range(n):
        code = codes[rnd.randrange(len(codes))]
        born = start + dt.timedelta(days=rnd.randrange(30000))
        body = f"{code}{born:%Y%m%d}{rnd.randrange(1000):03d}"
        yield {
            "姓名": rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2)))),
            "公民身份号码": body + ric.calc_check_digit(body),
            "联系电话": rnd.choice(PREFIXES) + f"{rnd.randrange(10**8):08d}",
            "现住址": f"江苏省南京市{DISTRICTS[code]}{rnd.choice(ROADS)}{rnd.randrange(1, 999)}号",
            "出生日期": born.isoformat(),
            "性别": "男" if int(body[-1]) % 2 else "女",
            "所属区县": DISTRICTS[code],
            "家庭人口": rnd.randrange(1, 7),
        }


# --- Datasette ---------------------------------------------------------------------------------------


def datasette_db(path: Path, n: int) -> None:
    names = [name for name, _, _ in ITEMS]
    con = sqlite3.connect(path)
    cols = ", ".join(f'"{c}" {"INTEGER" if t == "整数型" else "TEXT"}' for c, t, _ in ITEMS)
    con.execute(f"CREATE TABLE people (_id INTEGER PRIMARY KEY, {cols})")
    marks = ", ".join("?" * len(names))
    quoted = ", ".join(f'"{c}"' for c in names)
    con.executemany(
        f"INSERT INTO people ({quoted}) VALUES ({marks})",
        ([p[c] for c in names] for p in people(n)),
    )
    for i, c in enumerate(names, start=1):  # the same indexes as a hosted dataset: every item
        con.execute(f'CREATE INDEX ix_people_c{i} ON people ("{c}")')
    con.commit()
    con.close()


# --- zhicheng ----------------------------------------------------------------------------------------


def zhicheng_world(url: str, n: int) -> dict[str, str]:
    """Migrate, then a provider, a consumer system with a token, the people resource hosted and granted."""
    from zhicheng.catalog import services as catalog
    from zhicheng.catalog.schemas import ClassIn, ResourceIn
    from zhicheng.core.auth import services as auth
    from zhicheng.core.auth.schemas import TokenIn
    from zhicheng.core.db import Actor, Database, unit_of_work
    from zhicheng.core.orgs import services as orgs
    from zhicheng.core.orgs.schemas import DivisionIn, OrgIn
    from zhicheng.exchange import services as exchange
    from zhicheng.sharing import services as sharing
    from zhicheng.sharing.models import SharingGrant
    from zhicheng.sharing.schemas import RequestIn

    migrate(url)
    db = Database(url)
    me = Actor(kind="cli", name="bench")
    today = shanghai_today()
    with unit_of_work(db, me) as uow:
        orgs.create_division(uow, DivisionIn(code="320000", name="江苏省"))
        orgs.create_division(uow, DivisionIn(code="320100", name="南京市", parent_code="320000"))
        city = orgs.create_org(uow, OrgIn(name="南京市人民政府", kind="government", division_code="320100"))
        police = orgs.create_org(
            uow, OrgIn(name="南京市公安局", kind="department", division_code="320100", parent_id=city.id)
        )
        bureau = orgs.create_org(
            uow, OrgIn(name="南京市数据局", kind="department", division_code="320100", parent_id=city.id)
        )
        for code, name in [("1", "基础信息资源"), ("102", "人口基础信息"), ("102001", "实有人口")]:
            catalog.create_class(uow, ClassIn(code=code, name=name))
        res = catalog.create_resource(
            uow,
            ResourceIn(
                name="全市实有人口基础信息",
                class_code="102001",
                provider_org_id=police.id,
                format="数据库",
                update_cycle="每日",
                share_type="无条件共享",
                open_type="不予开放",
                items=[{"name": a, "data_type": b, "sensitivity": c} for a, b, c in ITEMS],
            ),
        )
        ds = exchange.host(uow, res.id, key_item="公民身份号码")
        _, token = auth.create_token(
            uow, TokenIn(name="数据共享交换系统", org_id=bureau.id, roles=["clerk"], days=30)
        )
    started = time.perf_counter()
    with unit_of_work(db, me) as uow:
        load = exchange.load_rows(uow, ds.id, people(n), mode="full", source="upload", fmt="csv")
    load_s = time.perf_counter() - started
    with unit_of_work(db, me) as uow:
        req = sharing.submit(
            uow,
            RequestIn(
                resource_id=res.id,
                purpose="人口信息核验",
                scenario="一网通办身份核验",
                system_name="数据共享交换系统",
                items=[name for name, _, _ in ITEMS],
                valid_from=today,
                valid_until=today + dt.timedelta(days=30),
            ),
            bureau.id,
        )
        sharing.review(uow, req.id, True, "")
        g = uow.session.query(SharingGrant).filter_by(request_id=req.id).one()
        g.rate_per_minute = 10_000_000  # the benchmark measures the server, not the limiter
        uow.record("sharing:grant:adjust", f"grant:{g.id}", {"rate_per_minute": g.rate_per_minute})
    db.dispose()
    return {"token": token, "code": res.code, "loaded": load.rows_loaded, "load_s": load_s}


def pages(rows: int, count: int = PAGES) -> list[tuple[str, int]]:
    """The pages both servers are asked for: a district, and the row id after which the page starts (0 for
    the first page). Many different pages, the same for both, so that neither answers from a warm handful."""
    rnd = random.Random(7)
    names = list(DISTRICTS.values())
    return [(rnd.choice(names), 0 if i % 10 == 0 else rnd.randrange(int(rows * 0.95))) for i in range(count)]


# --- running ------------------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Resident memory of a process and its children, once a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def rss_kib(self) -> int:
        pids = [self.pid]
        try:
            kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            pids += [int(k) for k in kids]
        except OSError:
            pass
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.samples.append(self.rss_kib())


def wrk(base: str, paths: list[str], seconds: int, connections: int, headers: dict[str, str]) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(HERE / "exchange.lua")]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    try:
        out = subprocess.run([*cmd, base, "--", f.name], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _passed() -> dict[str, str]:
    """Settings for our server given to the benchmark as ZHICHENG_BENCH_<NAME> (e.g. the seal batch)."""
    prefix = "ZHICHENG_BENCH_SERVER_"
    return {"ZHICHENG_" + k[len(prefix) :]: v for k, v in os.environ.items() if k.startswith(prefix)}


def serve(cmd: list[str], env: dict[str, str], base: str, ready: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
        try:
            if httpx.get(base + ready, timeout=2).status_code < 500:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError(f"{cmd[0]} did not start")


def measure(
    proc: subprocess.Popen, base: str, paths: list[str], args: argparse.Namespace, headers: dict
) -> dict:
    wrk(base, paths, max(2, args.seconds // 10), args.connections, headers)  # warm-up
    sampler = Sampler(proc.pid)
    start = sampler.rss_kib()
    sampler.start()
    result = wrk(base, paths, args.seconds, args.connections, headers)
    sampler.stop.set()
    sampler.join()
    samples = sampler.samples or [start]
    return result | {
        "rss_start_mib": start / 1024,
        "rss_end_mib": samples[-1] / 1024,
        "rss_peak_mib": max(samples) / 1024,
    }


def run_datasette(args: argparse.Namespace, folder: Path) -> dict:
    path = folder / "people.db"
    datasette_db(path, args.rows)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    datasette = shutil.which("datasette") or str(Path(os.sys.executable).parent / "datasette")
    proc = serve(
        [datasette, "serve", "-i", str(path), "-p", str(port)], dict(os.environ), base, "/-/versions.json"
    )
    try:
        paths = [
            f"/people/people.json?{quote('所属区县')}={quote(d)}&_size=100&_shape=objects&_nocount=1&_nofacet=1"
            + (f"&_next={after}" if after else "")
            for d, after in pages(args.rows)
        ]
        sample = httpx.get(base + paths[0], timeout=30).json()
        out = measure(proc, base, paths, args, {})
        return out | {"rows_per_page": len(sample["rows"])}
    finally:
        proc.terminate()
        proc.wait(10)


def run_zhicheng(args: argparse.Namespace, dialect: str) -> dict:
    with temp_database(dialect) as url:
        world = zhicheng_world(url, args.rows)
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
            code = quote(world["code"], safe="")
            paths = [
                f"/api/v1/exchange/resources/{code}/records?filters="
                + quote(json.dumps({"所属区县": d}, ensure_ascii=False))
                + "&limit=100&include_total=false"
                + (f"&cursor={encode([after])}" if after else "")
                for d, after in pages(args.rows)
            ]
            headers = {"Authorization": f"Bearer {world['token']}"}
            sample = httpx.get(base + paths[0], headers=headers, timeout=30).json()
            out = measure(proc, base, paths, args, headers)
            return out | {
                "rows_per_page": len(sample["records"]),
                "masked_phone": sample["records"][0]["联系电话"],
                "load_s": world["load_s"],
                "loaded": world["loaded"],
            }
        finally:
            proc.terminate()
            proc.wait(10)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--workers", type=int, default=2, help="zhicheng API processes")
    p.add_argument("--db", default="both")
    p.add_argument("--quick", action="store_true", help="100,000 rows, 5-second runs")
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.seconds = 100_000, 5
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (make bench installs it from Debian's packages)")
    results: dict[str, Any] = {
        "rows": args.rows,
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
    }
    with tempfile.TemporaryDirectory(prefix="zc-bench-ds-") as folder:
        results["datasette"] = run_datasette(args, Path(folder))
    report("datasette (sqlite, immutable)", results["datasette"])
    results["zhicheng"] = {}
    for dialect in dialects(args.db):
        r = run_zhicheng(args, dialect)
        r["ratio"] = r["rps"] / results["datasette"]["rps"]
        results["zhicheng"][dialect] = r
        report(f"zhicheng ({dialect}, {args.workers} workers)", r)
    return results


def report(name: str, r: dict) -> None:
    extra = f", ratio {r['ratio']:.1f}×" if "ratio" in r else ""
    print(
        f"  {name}: {r['rps']:,.0f} req/s{extra}; p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
        f"non-2xx {r['non2xx']}; RSS {r['rss_start_mib']:.0f} → {r['rss_end_mib']:.0f} MiB "
        f"(peak {r['rss_peak_mib']:.0f}); {r['rows_per_page']} rows/page"
    )


if __name__ == "__main__":
    main()

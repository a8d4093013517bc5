"""The server's resident memory with the demo city loaded: at start, and after serving a few hundred requests.

Migrates a temporary SQLite database, loads the demo, starts `zhicheng serve` (with the embedded worker) on a
free loopback port, logs in as the demo admin and walks the console pages and API routes `--rounds` times,
then reads VmRSS (and the peak, VmHWM) from /proc/<pid>/status. Loopback only; stops the server it started.

    .venv/bin/python bench/server_memory.py [--rounds 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tempdb import ZHICHENG, cli_env, temp_database

PAGES = ("/", "/orgs", "/divisions", "/users", "/tokens", "/audit", "/calendar", "/jobs")
API = ("/api/v1/me", "/api/v1/orgs", "/api/v1/users", "/api/v1/audit", "/healthz")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"zhicheng serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("zhicheng serve did not answer within a minute")


def _login(c: httpx.Client, username: str, password: str) -> None:
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    r = c.post("/login", data={"username": username, "password": password, "login_csrf": token, "next": "/"})
    if r.status_code != 303:
        raise RuntimeError(f"login as {username} failed: {r.status_code}")


def measure(rounds: int) -> dict[str, Any]:
    with temp_database("sqlite") as url:
        env = cli_env(url, ZHICHENG_EMBEDDED_WORKER="true")
        subprocess.run([str(ZHICHENG), "db", "upgrade"], env=env, check=True, capture_output=True)
        demo = subprocess.run(
            [str(ZHICHENG), "demo", "load", "--json"], env=env, check=True, capture_output=True, text=True
        )
        admin = next(lg for lg in json.loads(demo.stdout)["logins"] if lg["role"] == "admin")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(url.removeprefix("sqlite:///")).with_name("serve.log").open("w+")
        proc = subprocess.Popen(
            [str(ZHICHENG), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(base, proc)
            time.sleep(1.0)  # let the embedded worker's first ticks run
            at_start = _memory(proc.pid)
            statuses: dict[int, int] = {}
            t0 = time.perf_counter()
            with httpx.Client(base_url=base, timeout=30) as c:
                _login(c, admin["username"], admin["password"])
                for _ in range(rounds):
                    for path in (*PAGES, *API):
                        code = c.get(path).status_code
                        statuses[code] = statuses.get(code, 0) + 1
            seconds = time.perf_counter() - t0
            after = _memory(proc.pid)
        except Exception:
            log.seek(0)
            print("  server log (tail):\n    " + "\n    ".join(log.read().splitlines()[-15:]))
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    requests = sum(statuses.values())
    return {
        "start_kib": at_start["VmRSS"],
        "start_peak_kib": at_start["VmHWM"],
        "after_kib": after["VmRSS"],
        "peak_kib": after["VmHWM"],
        "requests": requests,
        "seconds": seconds,
        "per_second": requests / seconds,
        "statuses": statuses,
    }


def report(r: dict[str, Any]) -> None:
    mib = 1024
    print(
        f"  resident memory: {r['start_kib'] / mib:.1f} MiB at start, {r['after_kib'] / mib:.1f} MiB after "
        f"{r['requests']} requests (peak {r['start_peak_kib'] / mib:.1f} MiB before the requests, "
        f"{r['peak_kib'] / mib:.1f} MiB after)"
    )
    print(
        f"  {r['requests']} requests in {r['seconds']:.1f} s = {r['per_second']:.0f}/s sequential; "
        f"statuses {dict(sorted(r['statuses'].items()))}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200, help="walks over every page and API route")
    ap.add_argument("--quick", action="store_true", help="30 rounds")
    args = ap.parse_args(argv)
    rounds = 30 if args.quick else args.rounds
    print(
        f"server memory: `zhicheng serve` with the demo city, {rounds} rounds of "
        f"{len(PAGES) + len(API)} requests (SQLite)"
    )
    result = measure(rounds)
    report(result)
    return result


if __name__ == "__main__":
    main()

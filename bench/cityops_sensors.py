"""Batch sensor readings evaluated against threshold rules (issue 5: at least 50,000 readings/s).

Each database (a temp SQLite file, a temp PostgreSQL database) is migrated and given the demo city's grid
(200 grids), its 69 classes and routing rules and an intake token (bench/cityops_intake.py `world`), then
`--sensors` sensors (default 10,000) of five kinds spread over the grids, with one city-wide threshold rule
per kind:

    manhole_cover_tilt  tilt  > 15    part:0101 上水井盖
    water_level         level > 0.3   event:0406 道路积水
    noise               db    > 85    event:0301 施工扰民
    smoke               smoke >= 1    event:0113 露天焚烧
    air_pm25            pm25  > 250   event:0302 工地扬尘

Readings are of random sensors, later than every earlier one (none is stale), and `--alarm-share` (0.1%) of
them cross the threshold. A sensor's next reading is normal again, so each alarm is raised (reported through
intake: grid, routing, duplicate check, the case, its audit record) and later cleared (the case's
"传感器读数恢复正常" timeline event). Every reading is evaluated and its state written.

(a) in-process: `sensors.evaluate` in its own unit of work per batch of `--batch` (10,000, the HTTP limit),
    readings built beforehand (validation not timed);
(b) HTTP: `zhicheng serve --workers 2`, `--clients` threads posting pre-encoded JSON batches to
    POST /api/v1/cityops/sensors/readings, each client owning its share of the sensors (a gateway per area);
(c) `--mqtt`: the subscriber (cityops.mqtt.Subscriber) on a unique topic prefix at 127.0.0.1:1883, and a
    publisher sending `--mqtt-messages` messages of `--mqtt-readings` readings each (one sensor per message,
    as a device publishing its buffered readings); timed from the first publish until all are committed.

Printed per database and path: readings/s, and its ratio to the 50,000/s target. `--profile` runs (a) under
cProfile and prints where the time goes.

    .venv/bin/python bench/cityops_sensors.py [--db both|sqlite|postgresql] [--batches 20] [--mqtt]
    .venv/bin/python bench/cityops_sensors.py --db sqlite --profile
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from cityops_intake import world
from exchange import _passed, serve
from server_memory import _free_port
from tempdb import ZHICHENG, cli_env, dialects, temp_database

TARGET = 50_000
PATH = "/api/v1/cityops/sensors/readings"
# kind → (metric, op, threshold, category, normal range, breaching value)
KINDS: dict[str, tuple[str, str, float, str, tuple[float, float], float]] = {
    "manhole_cover_tilt": ("tilt", ">", 15.0, "part:0101", (0.0, 5.0), 32.0),
    "water_level": ("level", ">", 0.3, "event:0406", (0.0, 0.1), 0.55),
    "noise": ("db", ">", 85.0, "event:0301", (35.0, 70.0), 98.0),
    "smoke": ("smoke", ">=", 1.0, "event:0113", (0.0, 0.0), 1.0),
    "air_pm25": ("pm25", ">", 250.0, "event:0302", (10.0, 120.0), 320.0),
}


@dataclass(frozen=True)
class Dev:
    code: str
    kind: str


def setup(url: str, n: int, seed: int = 11) -> dict[str, Any]:
    """The demo city's grid and classes (cityops_intake.world), `n` sensors and one rule per kind."""
    from sqlalchemy import select

    from zhicheng.cityops import sensors
    from zhicheng.cityops.models import Category, Grid
    from zhicheng.cityops.sensor_models import Sensor
    from zhicheng.cityops.sensor_schemas import ThresholdIn
    from zhicheng.core.db import Actor, Database, unit_of_work, utcnow

    w = world(url)
    db = Database(url)
    me = Actor(kind="cli", name="bench")
    rnd = random.Random(seed)
    devs: list[Dev] = []
    with unit_of_work(db, me) as uow:
        s = uow.session
        grid_ids = dict(s.execute(select(Grid.code, Grid.id)).all())
        cats = {f"{k}:{c}": i for i, k, c in s.execute(select(Category.id, Category.kind, Category.code))}
        now = utcnow()
        kinds = list(KINDS)
        rows = []
        for i in range(n):
            g = rnd.choice(w["grids"])
            kind = kinds[i % len(kinds)]
            lng, lat = g.point(rnd.random(), rnd.random())
            code = f"S{i:06d}"
            devs.append(Dev(code, kind))
            rows.append(
                Sensor(
                    code=code,
                    name=f"{kind} {i}",
                    kind=kind,
                    lng=lng,
                    lat=lat,
                    grid_id=grid_ids[g.code],
                    address="",
                    category_id=cats[KINDS[kind][3]],
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        s.add_all(rows)
        s.flush()
        uow.record("cityops:sensor:create", "sensors", {"count": n, "bench": True})
    with unit_of_work(db, me) as uow:
        for kind, (metric, op, value, category, _, _) in KINDS.items():
            sensors.create_rule(
                uow,
                ThresholdIn(sensor_kind=kind, metric=metric, op=op, value=value, category=category),
            )
    db.dispose()
    return {"token": w["token"], "devs": devs}


class Readings:
    """Readings of random sensors (from `devs`), each later than the one before; `share` of them breach."""

    def __init__(self, devs: list[Dev], share: float, start: dt.datetime, seed: int) -> None:
        self.devs, self.share, self.rnd = devs, share, random.Random(seed)
        self.at = start

    def series(self, size: int) -> tuple[Dev, list[tuple[float, dt.datetime]]]:
        """`size` readings of one random sensor (what a device publishes at once from its buffer)."""
        d = self.rnd.choice(self.devs)
        _metric, _op, _v, _c, (lo, hi), breach = KINDS[d.kind]
        out = []
        for _ in range(size):
            value = breach if self.rnd.random() < self.share else round(self.rnd.uniform(lo, hi), 2)
            self.at += dt.timedelta(microseconds=100)
            out.append((value, self.at))
        return d, out

    def batch(self, size: int) -> list[tuple[str, str, float, dt.datetime]]:
        out = []
        rnd, step = self.rnd, dt.timedelta(microseconds=100)
        for _ in range(size):
            d = rnd.choice(self.devs)
            metric, _op, _v, _c, (lo, hi), breach = KINDS[d.kind]
            value = breach if rnd.random() < self.share else round(rnd.uniform(lo, hi), 2)
            self.at += step
            out.append((d.code, metric, value, self.at))
        return out


ORIGIN = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)


def _start(hours: int) -> dt.datetime:
    """Readings start a day ago, each phase `hours` later than the first, so that no phase's readings are
    older than the states an earlier phase left (100 µs apart: 36,000,000 readings fit in an hour)."""
    return ORIGIN + dt.timedelta(hours=hours)


def _summary(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from zhicheng.cityops.models import Case, CaseEvent, Reporter
    from zhicheng.cityops.sensor_models import SensorState
    from zhicheng.core.db import Database

    db = Database(url)
    with db.read() as s:

        def count(model: Any, *where: Any) -> int:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

        out = {
            "states": count(SensorState),
            "in_alarm": count(SensorState, SensorState.alarm.is_(True)),
            "cases": count(Case, Case.channel == "sensor"),
            "reports": count(Reporter),
            "normal_events": count(CaseEvent, CaseEvent.kind == "sensor_normal"),
        }
    db.dispose()
    return out


# --- (a) in-process ----------------------------------------------------------------------------------------
def run_inprocess(url: str, w: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from zhicheng.cityops import sensors
    from zhicheng.cityops.sensor_schemas import ReadingIn
    from zhicheng.core.db import Actor, Database, unit_of_work

    db = Database(url)
    me = Actor(kind="system", name="bench-sensors")
    gen = Readings(w["devs"], args.alarm_share, _start(0), seed=1)
    built = time.perf_counter()
    batches = [
        [ReadingIn(sensor=c, metric=m, value=v, at=a) for c, m, v, a in gen.batch(args.batch)]
        for _ in range(args.batches + 1)
    ]
    built = time.perf_counter() - built
    with unit_of_work(db, me) as uow:  # warm: the sensor and rule table, the grid index, the class table
        sensors.evaluate(uow, batches[0])
    totals = {"evaluated": 0, "alarms": 0, "cleared": 0, "stale": 0, "unknown": 0}
    times = []
    prof = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches[1:]:
        t = time.perf_counter()
        if prof:
            prof.enable()
        with unit_of_work(db, me) as uow:
            res = sensors.evaluate(uow, batch)
        if prof:
            prof.disable()
        times.append(time.perf_counter() - t)
        for k in totals:
            totals[k] += getattr(res, k)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.dispose()
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())
    n = args.batch * args.batches
    times.sort()
    return {
        "readings": n,
        "seconds": took,
        "per_second": n / took,
        "cpu_seconds": cpu,
        "per_cpu_second": n / cpu,
        "batch_ms_p50": times[len(times) // 2] * 1000,
        "batch_ms_max": times[-1] * 1000,
        "validate_per_second": (args.batches + 1) * args.batch / built,
        **totals,
    }


# --- (b) HTTP --------------------------------------------------------------------------------------------
def _bodies(devs: list[Dev], count: int, size: int, share: float, seed: int, hours: int) -> list[bytes]:
    gen = Readings(devs, share, _start(hours), seed)
    out = []
    for _ in range(count):
        readings = [
            {"sensor": c, "metric": m, "value": v, "at": a.isoformat()} for c, m, v, a in gen.batch(size)
        ]
        out.append(json.dumps({"readings": readings}).encode())
    return out


def run_http(url: str, w: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    clients = args.clients
    shares = [w["devs"][c::clients] for c in range(clients)]
    per_client = max(1, args.http_batches // clients)
    # the warm-up's readings come before the timed ones (phase 2 h, then 4 h): nothing is stale
    warm = [_bodies(shares[c], 1, 200, 0.0, 100 + c, 2) for c in range(clients)]
    bodies = [_bodies(shares[c], per_client, args.batch, args.alarm_share, c, 4) for c in range(clients)]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(url, ZHICHENG_EMBEDDED_WORKER="false", **_passed())
    cmd = [str(ZHICHENG), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    proc = serve(cmd, env, base, "/healthz")
    headers = {"Authorization": f"Bearer {w['token']}", "Content-Type": "application/json"}
    keys = ("received", "evaluated", "alarms", "cleared", "stale", "unknown")
    totals = dict.fromkeys((*keys, "errors"), 0)
    lock = threading.Lock()
    latencies: list[float] = []

    def post(client: httpx.Client, body: bytes) -> None:
        t = time.perf_counter()
        try:
            r = client.post(PATH, content=body, headers=headers)
        except httpx.HTTPError as exc:  # counted, and the client goes on (its thread would end silently)
            r = None
            print(f"    {type(exc).__name__}: {exc}")
        took = time.perf_counter() - t
        with lock:
            latencies.append(took)
            if r is None or r.status_code != 200:
                totals["errors"] += 1
                if r is not None:
                    print(f"    HTTP {r.status_code}: {r.text[:200]}")
                return
            data = r.json()
            for k in keys:
                totals[k] += data[k]

    def client_run(c: int, which: list[list[bytes]]) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            for body in which[c]:
                post(client, body)

    def together(which: list[list[bytes]]) -> float:
        threads = [threading.Thread(target=client_run, args=(c, which)) for c in range(clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - t

    try:
        together(warm)  # every worker: the sensor and rule table, the grid index
        for k in totals:
            totals[k] = 0
        latencies.clear()
        took = together(bodies)
    finally:
        proc.terminate()
        proc.wait(10)
    n = totals.pop("received")  # the readings of the batches answered: a failed one does not count
    latencies.sort()
    return {
        "readings": n,
        "seconds": took,
        "per_second": n / took,
        "batch_ms_p50": latencies[len(latencies) // 2] * 1000,
        "batch_ms_max": latencies[-1] * 1000,
        **totals,
    }


# --- (c) MQTT ----------------------------------------------------------------------------------------------
def run_mqtt(url: str, w: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from zhicheng.cityops.mqtt import Subscriber
    from zhicheng.core.db import Database

    prefix = f"zc-bench-{uuid.uuid4().hex[:8]}"
    client_id = f"{prefix}-sub"
    db = Database(url)
    sub = Subscriber(db, url=args.mqtt_url, topic=f"{prefix}/sensors/+/readings", client_id=client_id)
    gen = Readings(w["devs"], args.alarm_share, _start(6), seed=3)
    messages = []
    for _ in range(args.mqtt_messages):
        d, series = gen.series(args.mqtt_readings)
        payload = [{"metric": KINDS[d.kind][0], "value": v, "at": a.isoformat()} for v, a in series]
        messages.append((f"{prefix}/sensors/{d.code}/readings", json.dumps(payload).encode()))
    total = args.mqtt_messages * args.mqtt_readings
    stop = threading.Event()
    runner = threading.Thread(target=sub.run, args=(stop,), daemon=True)
    runner.start()
    if not sub.wait_connected(10):
        raise RuntimeError("the subscriber did not connect to the broker")
    time.sleep(0.5)  # the subscription is in place
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-pub", protocol=paho.MQTTv311)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect(args.mqtt_host, args.mqtt_port)
    pub.loop_start()
    started = time.perf_counter()
    infos = []
    for i, (topic, body) in enumerate(messages):
        # the broker queues at most max_queued_messages (mosquitto: 1,000) per client and DROPS the rest,
        # QoS 1 or not: keep the messages not yet committed by the subscriber under --mqtt-window
        while i - sub.stats.acked >= args.mqtt_window:
            time.sleep(0.002)
        infos.append(pub.publish(topic, body, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    published = time.perf_counter() - started
    deadline, seen, moved, last = time.time() + args.mqtt_timeout, -1, time.time(), time.perf_counter()
    while sub.stats.readings < total and time.time() < deadline and time.time() - moved < 10:
        if sub.stats.readings != seen:
            seen, moved, last = sub.stats.readings, time.time(), time.perf_counter()
        time.sleep(0.02)
    took = last - started  # until the last commit (not the wait for readings that never came)
    stop.set()
    runner.join(30)
    pub.loop_stop()
    pub.disconnect()
    _forget_session(args, client_id)
    db.dispose()
    stats = sub.summary()
    return {
        "readings": stats["readings"],
        "expected": total,
        "seconds": took,
        "publish_seconds": published,
        "per_second": stats["readings"] / took,
        **{k: stats[k] for k in ("messages", "batches", "alarms", "stale", "unknown", "acked", "failures")},
    }


def _forget_session(args: argparse.Namespace, client_id: str) -> None:
    """Drop the subscriber's persistent session from the broker (a clean connect with its id)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    c = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=paho.MQTTv311
    )
    try:
        c.connect(args.mqtt_host, args.mqtt_port)
        c.loop_start()
        time.sleep(0.3)
        c.disconnect()
        c.loop_stop()
    except OSError:
        pass


# --- driver ------------------------------------------------------------------------------------------------
def run(dialect: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with temp_database(dialect) as url:
        t = time.perf_counter()
        w = setup(url, args.sensors)
        out["setup_seconds"] = time.perf_counter() - t
        out["inprocess"] = r = run_inprocess(url, w, args)
        line(f"{dialect}, in-process, batches of {args.batch:,}", r)
        if args.profile:
            return out
        if not args.no_http:
            out["http"] = r = run_http(url, w, args)
            line(f"{dialect}, HTTP, {args.workers} workers, {args.clients} clients", r)
        if args.mqtt:
            out["mqtt"] = r = run_mqtt(url, w, args)
            line(f"{dialect}, MQTT, {args.mqtt_messages:,} messages × {args.mqtt_readings}", r)
        out["stored"] = s = _summary(url)
        print(
            f"    stored: {s['states']:,} sensor states ({s['in_alarm']} in alarm), "
            f"{s['cases']:,} sensor cases from {s['reports']:,} reports, "
            f"{s['normal_events']:,} return-to-normal events"
        )
    return out


def line(name: str, r: dict[str, Any]) -> None:
    extra = ", ".join(
        f"{k} {r[k]:,}" for k in ("evaluated", "alarms", "cleared", "stale", "unknown", "errors") if k in r
    )
    ms = (
        f"; batch p50 {r['batch_ms_p50']:.0f} ms, max {r['batch_ms_max']:.0f} ms"
        if "batch_ms_p50" in r
        else ""
    )
    if "expected" in r:
        lost = r["expected"] - r["readings"]
        extra += f"; expected {r['expected']:,}" + (f" ({lost:,} NEVER ARRIVED)" if lost else "")
    if "per_cpu_second" in r:
        extra += (
            f"; this process's CPU {r['cpu_seconds']:.2f} s = {r['per_cpu_second']:,.0f} readings/CPU-s; "
            f"building the ReadingIn objects (not timed): {r['validate_per_second']:,.0f}/s"
        )
    print(
        f"  {name}: {r['readings']:,} readings in {r['seconds']:.2f} s = {r['per_second']:,.0f} readings/s "
        f"({r['per_second'] / TARGET:.2f}× the 50,000/s target){ms}; {extra}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="both")
    p.add_argument("--sensors", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=10_000, help="readings per batch (the HTTP limit: 10,000)")
    p.add_argument("--batches", type=int, default=20, help="timed in-process batches")
    p.add_argument("--http-batches", type=int, default=40, help="timed HTTP batches (over all clients)")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--alarm-share", type=float, default=0.001)
    p.add_argument("--no-http", action="store_true")
    p.add_argument("--mqtt", action="store_true", help="also through the MQTT subscriber")
    p.add_argument("--mqtt-url", default=os.environ.get("ZHICHENG_BENCH_MQTT", "mqtt://127.0.0.1:1883"))
    p.add_argument("--mqtt-messages", type=int, default=2000)
    p.add_argument("--mqtt-readings", type=int, default=100, help="readings per message")
    p.add_argument("--mqtt-timeout", type=float, default=300)
    p.add_argument(
        "--mqtt-window", type=int, default=500, help="messages published but not yet committed, at most"
    )
    p.add_argument("--quick", action="store_true", help="2,000 sensors, 3 batches, 8 HTTP batches")
    p.add_argument("--profile", action="store_true", help="profile the in-process run (and stop there)")
    args = p.parse_args(argv)
    rest = args.mqtt_url.split("://", 1)[-1].rsplit("@", 1)[-1]
    args.mqtt_host, _, port = rest.partition(":")
    args.mqtt_port = int(port or 1883)
    if args.quick:
        args.sensors, args.batches, args.http_batches = 2000, 3, 8
        args.mqtt_messages = min(args.mqtt_messages, 200)
    results: dict[str, Any] = {"sensors": args.sensors, "batch": args.batch, "alarm_share": args.alarm_share}
    for dialect in dialects(args.db):
        results[dialect] = run(dialect, args)
    return results


if __name__ == "__main__":
    main()

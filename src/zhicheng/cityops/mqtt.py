"""The MQTT subscriber of sensor readings (`zhicheng cityops mqtt`).

Sensors (or their platform) publish to `zhicheng/sensors/<code>/readings` (setting cityops_mqtt_topic; the
`+` level is the sensor's code) a JSON reading `{"metric": "tilt", "value": 12.5, "at": "…+08:00"}` or a
list of them, at QoS 1. The subscriber:

- keeps a persistent session (clean_session false, a fixed client id: cityops_mqtt_client_id), so the broker
  keeps QoS 1 messages for it while it is away;
- acknowledges a message only after its readings are committed (manual acks): acknowledged means stored.
  Messages are taken in batches (whatever has arrived, up to cityops_sensor_batch_max readings) and
  committed in one transaction through cityops.sensors.evaluate; if the commit fails, the batch is tried
  again with a growing pause while its messages stay unacknowledged (a crash meanwhile: the broker
  delivers them again, and readings not newer than their state are skipped, so nothing is applied twice);
- reconnects by itself with a growing pause (1 s doubling to 30 s);
- logs, counts and acknowledges bad payloads (not JSON, not readings, too many): never retried forever.
  Readings of unknown sensors are acknowledged too, and counted.

The broker bounds how many unacknowledged messages it sends at once (mosquitto: max_inflight_messages, 20
by default): publish lists of readings, or raise it, for high rates. Several subscribers can share the load
through a shared subscription (`$share/<group>/zhicheng/sensors/+/readings`) with different client ids.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from zhicheng.cityops import intake, sensors
from zhicheng.cityops.sensor_schemas import ReadingIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import DomainError

log = logging.getLogger(__name__)
ACTOR = Actor(kind="worker", name="cityops-mqtt")


@dataclass
class Stats:
    connects: int = 0
    messages: int = 0
    readings: int = 0
    bad: int = 0
    unknown: int = 0
    stale: int = 0
    alarms: int = 0
    batches: int = 0
    failures: int = 0  # commits that failed (the batch was tried again)
    acked: int = 0


@dataclass
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes
    session: int  # the connection it came on: an ack is only sent on that connection


@dataclass
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Broker:
        u = urlsplit(url)
        if u.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise ValueError(f"unsupported MQTT URL scheme: {u.scheme!r} (mqtt:// or mqtts://)")
        tls = u.scheme in ("mqtts", "ssl")
        return cls(
            u.hostname or "127.0.0.1",
            u.port or (8883 if tls else 1883),
            tls,
            unquote(u.username) if u.username else None,
            unquote(u.password) if u.password else None,
        )


def code_level(topic_filter: str) -> int | None:
    """The level of the topic that holds the sensor code (the first `+`), after any $share/<group>/."""
    levels = topic_filter.split("/")
    if levels[0] == "$share":
        levels = levels[2:]
    return levels.index("+") if "+" in levels else None


def parse(topic: str, payload: bytes, level: int | None, limit: int) -> list[ReadingIn]:
    """The readings of one message; ValueError for anything that is not a reading or a list of them."""
    doc = json.loads(payload)
    items = doc if isinstance(doc, list) else [doc]
    if not items or len(items) > limit:
        raise ValueError(f"a message carries 1 to {limit} readings, got {len(items)}")
    code = topic.split("/")[level] if level is not None else None
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("a reading is a JSON object")
        out.append(ReadingIn.model_validate({**item, "sensor": code} if code is not None else item))
    return out


@dataclass
class Subscriber:
    db: Database
    url: str = "mqtt://127.0.0.1:1883"
    topic: str = "zhicheng/sensors/+/readings"
    client_id: str = "zhicheng-cityops"
    batch_max: int = 10000
    rules: intake.Rules = field(default_factory=intake.Rules)
    min_delay: float = 1.0
    max_delay: float = 30.0
    keepalive: int = 30
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._inbox: queue.Queue[_Message] = queue.Queue()
        self._held: list[_Message] = []
        self._session = 0
        self._connected = threading.Event()
        self._level = code_level(self.topic)
        broker = Broker.parse(self.url)
        self._broker = broker
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=paho.MQTTv311,
            manual_ack=True,
        )
        if broker.username:
            c.username_pw_set(broker.username, broker.password)
        if broker.tls:
            c.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=max(1, int(self.min_delay)), max_delay=max(1, int(self.max_delay)))
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c

    # --- paho's network thread ---------------------------------------------------------------------------
    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connection refused: %s", reason)
            return
        self._session += 1
        self.stats.connects += 1
        client.subscribe(self.topic, qos=1)
        log.info(
            "MQTT connected to %s:%s as %s (session present: %s), subscribed to %s",
            self._broker.host,
            self._broker.port,
            self.client_id,
            getattr(flags, "session_present", None),
            self.topic,
        )
        self._connected.set()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self._inbox.put(_Message(msg.mid, msg.qos, msg.topic, msg.payload, self._session))

    # --- the processing thread (the caller's) ------------------------------------------------------------
    def start(self) -> None:
        self.client.connect_async(self._broker.host, self._broker.port, self.keepalive)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        """Stop without acknowledging what is not committed: the broker keeps it for the next run."""
        self.client.disconnect()
        self.client.loop_stop()

    def _take(self, wait: float) -> list[_Message]:
        """Messages put back by the last step first (in their order), then whatever has arrived."""
        batch, self._held = self._held, []
        if not batch:
            try:
                batch.append(self._inbox.get(timeout=wait))
            except queue.Empty:
                return []
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return batch

    def step(self, wait: float = 0.2, stop: threading.Event | None = None) -> int:
        """Take what has arrived, commit it, acknowledge it. Returns the messages acknowledged."""
        batch = self._take(wait)
        good: list[ReadingIn] = []
        done: list[_Message] = []
        for n, m in enumerate(batch):
            try:
                readings = parse(m.topic, m.payload, self._level, self.batch_max)
            except (ValueError, ValidationError) as exc:
                self.stats.messages += 1
                self.stats.bad += 1
                log.warning("MQTT %s: bad payload acknowledged and dropped: %s", m.topic, str(exc)[:300])
                done.append(m)
                continue
            if good and len(good) + len(readings) > self.batch_max:
                self._held = batch[n:]  # the next step starts with these, in order (not acknowledged yet)
                break
            self.stats.messages += 1
            good.extend(readings)
            done.append(m)
        if good and not self._commit(good, stop):
            self._held = []  # stopping: nothing more is acknowledged; the broker keeps the rest
            return 0
        return self._ack(done)

    def _commit(self, readings: list[ReadingIn], stop: threading.Event | None) -> bool:
        """True once stored (or refused as a whole, which no retry can change); False if `stop` was set
        while the database was failing."""
        delay = self.min_delay
        while True:
            try:
                with unit_of_work(self.db, ACTOR) as uow:
                    res = sensors.evaluate(uow, readings, max_batch=len(readings), rules=self.rules)
            except DomainError as exc:  # e.g. a reading time without a time zone: the batch is refused
                self.stats.bad += 1
                log.warning("MQTT batch refused and dropped: %s", exc.message("en"))
                return True
            except Exception:  # the database: keep the messages unacknowledged, try again
                self.stats.failures += 1
                log.exception("MQTT batch of %d readings not stored; again in %.0f s", len(readings), delay)
                if stop is not None:
                    if stop.wait(delay):
                        return False
                else:
                    time.sleep(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            self.stats.batches += 1
            self.stats.readings += res.received
            self.stats.unknown += res.unknown
            self.stats.stale += res.stale
            self.stats.alarms += res.alarms
            return True

    def _ack(self, done: list[_Message]) -> int:
        acked = 0
        for m in done:
            if m.qos == 0:
                continue
            if m.session != self._session:  # came on a connection since lost: the broker sends it again
                continue
            if self.client.ack(m.mid, m.qos) == paho.MQTT_ERR_SUCCESS:
                acked += 1
        self.stats.acked += acked
        return acked

    def run(self, stop: threading.Event) -> Stats:
        """Until `stop` is set."""
        self.start()
        try:
            while not stop.is_set():
                self.step(0.2, stop)
        finally:
            self.close()
        return self.stats

    def summary(self) -> dict[str, int]:
        return asdict(self.stats)


def from_settings(db: Database, settings: Any, **over: Any) -> Subscriber:
    return Subscriber(
        db,
        url=over.get("url") or settings.cityops_mqtt_url,
        topic=over.get("topic") or settings.cityops_mqtt_topic,
        client_id=over.get("client_id") or settings.cityops_mqtt_client_id,
        batch_max=settings.cityops_sensor_batch_max,
        rules=intake.Rules.of(settings),
    )

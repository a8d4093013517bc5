"""The MQTT subscriber against real brokers: readings published at QoS 1 become states and cases and are
acknowledged only once committed; bad payloads are acknowledged and counted; a commit that fails is tried
again before the ack; a broker that goes away and comes back (a private mosquitto with persistence) is
reconnected to, and what was published while the subscriber was away arrives."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.cityops.conftest import MANHOLE, ME, centre
from zhicheng.cityops import mqtt, sensors
from zhicheng.cityops.models import Case
from zhicheng.cityops.schemas import LocationIn
from zhicheng.cityops.sensor_models import SensorState
from zhicheng.cityops.sensor_schemas import SensorIn, ThresholdIn
from zhicheng.core.db import unit_of_work

pytestmark = pytest.mark.slow
MOSQUITTO = "/usr/sbin/mosquitto"
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _publish(port: int, topic: str, payloads: list[object]) -> None:
    """QoS 1, waiting for each PUBACK from the broker."""
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        for p in payloads:
            raw = p if isinstance(p, bytes) else json.dumps(p).encode()
            c.publish(topic, raw, qos=1).wait_for_publish(10)
    finally:
        c.disconnect()
        c.loop_stop()


def _forget(port: int, client_id: str) -> None:
    """End the persistent session a test left on a broker."""
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        c.connect("127.0.0.1", port)
        c.loop_start()
        time.sleep(0.2)
        c.disconnect()
        c.loop_stop()
    except OSError:
        pass


@pytest.fixture
def manholes(db, city) -> dict[str, int]:  # noqa: ANN001
    out = {}
    with unit_of_work(db, ME) as uow:
        for code, cell in (("MH-1", (2, 2)), ("MH-2", (4, 4))):
            lng, lat = centre(*cell)
            s = SensorIn(code=code, kind="manhole", location=LocationIn(lng=lng, lat=lat), category=MANHOLE)
            out[code] = sensors.create_sensor(uow, s).id
        sensors.create_rule(uow, ThresholdIn(sensor_kind="manhole", metric="tilt", op=">", value=15))
    return out


class Running:
    """A subscriber on its own thread (the test thread stays off the database while it runs)."""

    def __init__(self, sub: mqtt.Subscriber) -> None:
        self.sub, self.stop = sub, threading.Event()
        self.thread = threading.Thread(target=sub.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> mqtt.Subscriber:
        self.thread.start()
        assert self.sub.wait_connected(15), "the subscriber did not connect"
        time.sleep(0.3)  # the SUBACK
        return self.sub

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


def _reading(value: float, minutes: int) -> dict:
    return {"metric": "tilt", "value": value, "at": (T0 + dt.timedelta(minutes=minutes)).isoformat()}


@pytest.fixture
def shared_broker() -> Iterator[int]:
    if not _up(1883):
        pytest.skip("no MQTT broker at 127.0.0.1:1883")
    yield 1883


def test_readings_become_states_and_cases(db, manholes, shared_broker) -> None:  # noqa: ANN001
    prefix = f"zt-{uuid.uuid4().hex[:10]}"
    client_id = f"{prefix}-sub"
    sub = mqtt.Subscriber(db, url="mqtt://127.0.0.1:1883", topic=f"{prefix}/+/readings", client_id=client_id)
    try:
        with Running(sub):
            _publish(
                shared_broker, f"{prefix}/MH-1/readings", [_reading(3, 0), [_reading(40, 1), _reading(41, 2)]]
            )
            _publish(shared_broker, f"{prefix}/MH-2/readings", [{"metric": "tilt", "value": 2}])
            _publish(shared_broker, f"{prefix}/MH-9/readings", [_reading(99, 0)])  # unknown sensor
            _publish(shared_broker, f"{prefix}/MH-2/readings", [b"not json", {"metric": "tilt"}, []])
            _until(lambda: sub.stats.acked == 7)
        s = sub.stats
        assert (s.messages, s.readings, s.bad, s.unknown, s.alarms) == (7, 5, 3, 1, 1)
    finally:
        _forget(shared_broker, client_id)
    with db.read() as s:
        st = s.get(SensorState, (manholes["MH-1"], "tilt"))
        assert st.alarm and st.value == 41 and s.get(Case, st.case_id).channel == "sensor"
        assert s.get(SensorState, (manholes["MH-2"], "tilt")).value == 2


def test_parse_and_broker_url() -> None:
    assert mqtt.code_level("zhicheng/sensors/+/readings") == 2
    assert mqtt.code_level("$share/g/zhicheng/sensors/+/readings") == 2
    r = mqtt.parse("zhicheng/sensors/A-1/readings", b'{"metric": "m", "value": 1}', 2, 10)
    assert r[0].sensor == "A-1" and r[0].value == 1
    with pytest.raises(ValueError):
        mqtt.parse(
            "zhicheng/sensors/A-1/readings", json.dumps([{"metric": "m", "value": 1}] * 11).encode(), 2, 10
        )
    b = mqtt.Broker.parse("mqtts://u%40x:p@broker.example:8884")
    assert (b.host, b.port, b.tls, b.username, b.password) == ("broker.example", 8884, True, "u@x", "p")
    assert mqtt.Broker.parse("mqtt://h").port == 1883
    with pytest.raises(ValueError):
        mqtt.Broker.parse("http://h")


# --- a private broker that goes away ---------------------------------------------------------------------
class Mosquitto:
    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nautosave_interval 1\n"
            f"user {getpass.getuser()}\n"  # as root it would drop to `mosquitto`: no write here
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _until(lambda: _up(self.port), 10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.terminate()  # mosquitto writes its persistence file on the way out
        self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.kill()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not shutil.which(MOSQUITTO):
        pytest.skip("mosquitto is not installed")
    m = Mosquitto(tmp_path)
    m.start()
    yield m
    m.close()


def test_broker_restart_reconnects_and_loses_nothing(db, manholes, broker) -> None:  # noqa: ANN001
    url = f"mqtt://127.0.0.1:{broker.port}"
    sub = mqtt.Subscriber(
        db, url=url, topic="zhicheng/sensors/+/readings", client_id="restart-sub", max_delay=2
    )
    with Running(sub):
        _publish(broker.port, "zhicheng/sensors/MH-1/readings", [_reading(1, 0)])
        _until(lambda: sub.stats.acked == 1)
        broker.kill()
        _until(lambda: not sub._connected.is_set(), 10)
        broker.start()  # the subscriber's session (and subscription) come back from the persistence file
        # published before the subscriber is back: the broker keeps it for the persistent session
        _publish(broker.port, "zhicheng/sensors/MH-1/readings", [_reading(30, 1)])
        _publish(broker.port, "zhicheng/sensors/MH-2/readings", [_reading(20, 1)])
        _until(lambda: sub.stats.acked == 3, 30)
    assert sub.stats.connects >= 2 and sub.stats.readings == 3
    with db.read() as s:
        assert s.get(SensorState, (manholes["MH-1"], "tilt")).alarm
        assert s.get(SensorState, (manholes["MH-2"], "tilt")).alarm


def test_a_failed_commit_is_retried_before_the_ack(db, manholes, broker, monkeypatch) -> None:  # noqa: ANN001
    real, calls = sensors.evaluate, []

    def flaky(uow, readings, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append(len(readings))
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(uow, readings, **kw)

    monkeypatch.setattr(sensors, "evaluate", flaky)
    url = f"mqtt://127.0.0.1:{broker.port}"
    sub = mqtt.Subscriber(
        db, url=url, topic="zhicheng/sensors/+/readings", client_id="flaky-sub", min_delay=0.1
    )
    with Running(sub):
        _publish(broker.port, "zhicheng/sensors/MH-1/readings", [_reading(30, 0)])
        _until(lambda: sub.stats.acked == 1)
    assert sub.stats.failures == 1 and calls == [1, 1] and sub.stats.alarms == 1
    with db.read() as s:
        assert s.get(SensorState, (manholes["MH-1"], "tilt")).alarm


def test_stopping_while_the_database_fails_acknowledges_nothing(db, manholes, broker, monkeypatch) -> None:  # noqa: ANN001
    def down(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the database is down")

    monkeypatch.setattr(sensors, "evaluate", down)
    url = f"mqtt://127.0.0.1:{broker.port}"
    sub = mqtt.Subscriber(
        db, url=url, topic="zhicheng/sensors/+/readings", client_id="down-sub", min_delay=0.1
    )
    with Running(sub):
        _publish(broker.port, "zhicheng/sensors/MH-1/readings", [_reading(30, 0)])
        _until(lambda: sub.stats.failures >= 2)
    assert sub.stats.acked == 0
    monkeypatch.undo()
    # the next run gets the message again from the broker, and stores it
    again = mqtt.Subscriber(db, url=url, topic="zhicheng/sensors/+/readings", client_id="down-sub")
    with Running(again):
        _until(lambda: again.stats.acked == 1)
    with db.read() as s:
        assert s.get(SensorState, (manholes["MH-1"], "tilt")).alarm

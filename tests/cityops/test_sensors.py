"""IoT sensors: threshold operators, hold (debounce), ok → alarm → ok, alarms merging into one case, stale
and unknown readings, the batch limit, and who may register sensors, set rules and send readings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.cityops.conftest import MANHOLE, ME, SHED, centre
from zhicheng.cityops import sensors
from zhicheng.cityops.models import Case, Reporter
from zhicheng.cityops.schemas import LocationIn
from zhicheng.cityops.sensor_models import Sensor, SensorState
from zhicheng.cityops.sensor_schemas import ReadingIn, SensorIn, ThresholdIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work, utcnow
from zhicheng.core.errors import Invalid

SENSORS = "/api/v1/cityops/sensors"
RULES = "/api/v1/cityops/sensor-rules"
READINGS = "/api/v1/cityops/sensors/readings"
T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _sensor(db, code="MH-001", kind="manhole_cover_tilt", cell=(2, 2), category=MANHOLE, **kw):  # noqa: ANN001, ANN003, ANN202
    lng, lat = centre(*cell)
    with unit_of_work(db, ME) as uow:
        return sensors.create_sensor(
            uow,
            SensorIn(
                code=code,
                kind=kind,
                name=kw.pop("name", "井盖"),
                location=LocationIn(lng=lng, lat=lat),
                category=category,
                **kw,
            ),
        ).id


def _rule(db, **kw):  # noqa: ANN001, ANN003, ANN202
    body = {"sensor_kind": "manhole_cover_tilt", "metric": "tilt", "op": ">", "value": 15.0, **kw}
    with unit_of_work(db, ME) as uow:
        return sensors.create_rule(uow, ThresholdIn(**body)).id


def _feed(db, *readings, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
    items = []
    for i, r in enumerate(readings):
        code, metric, value = r[:3]
        at = r[3] if len(r) > 3 else T0 + dt.timedelta(minutes=i)
        items.append(ReadingIn(sensor=code, metric=metric, value=value, at=at))
    with unit_of_work(db, ME) as uow:
        return sensors.evaluate(uow, items, **kw)


def _state(db, sensor_id, metric="tilt"):  # noqa: ANN001, ANN202
    with db.read() as s:
        return s.get(SensorState, (sensor_id, metric))


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("op", "threshold", "alarming", "quiet"),
    [
        (">", 10, 11, 10),
        (">=", 10, 10, 9.99),
        ("<", 10, 9, 10),
        ("<=", 10, 10, 10.5),
        ("==", 1, 1, 0),
        ("!=", 0, 1, 0),
    ],
)
def test_operators(db, city, op, threshold, alarming, quiet) -> None:  # noqa: ANN001
    sid = _sensor(db)
    _rule(db, op=op, value=threshold)
    res = _feed(db, ("MH-001", "tilt", quiet, _at(0)))
    assert (res.evaluated, res.alarms) == (1, 0) and not _state(db, sid).alarm
    res = _feed(db, ("MH-001", "tilt", alarming, _at(1)))
    assert res.alarms == 1 and _state(db, sid).alarm


def test_ok_alarm_ok_and_the_case(db, city) -> None:  # noqa: ANN001
    sid = _sensor(db, address="北京东路 1 号")
    rule_id = _rule(db, severity="high")
    res = _feed(db, ("MH-001", "tilt", 3.0, _at(0)), ("MH-001", "tilt", 42.0, _at(1)))
    assert (res.received, res.evaluated, res.alarms, res.cleared) == (2, 2, 1, 0)
    st = _state(db, sid)
    assert st.alarm and st.value == 42.0 and st.rule_id == rule_id and st.case_id == res.cases[0]
    with db.read() as s:
        case = s.get(Case, st.case_id)
        assert case.channel == "sensor" and case.status == "reported" and case.address == "北京东路 1 号"
        assert case.lng == pytest.approx(centre(2, 2)[0]) and "42" in case.description
        assert case.reported_at == _at(1)
        assert s.scalar(select(Reporter.external_id).where(Reporter.case_id == case.id)) == "MH-001"
    # still breaching: no new report
    res = _feed(db, ("MH-001", "tilt", 50.0, _at(2)))
    assert res.alarms == 0 and _state(db, sid).alarm
    # back to normal: the alarm closes, the case stays open
    res = _feed(db, ("MH-001", "tilt", 1.0, _at(3)))
    assert res.cleared == 1
    st = _state(db, sid)
    assert not st.alarm and st.case_id == case.id and st.breaches == 0
    with db.read() as s:
        assert s.get(Case, case.id).status == "reported"
    # breaching again within the duplicate window: the report merges into the open case
    res = _feed(db, ("MH-001", "tilt", 30.0, _at(4)))
    assert res.alarms == 1 and res.cases == [case.id]
    with db.read() as s:
        assert s.get(Case, case.id).report_count == 2


def test_hold_debounces(db, city) -> None:  # noqa: ANN001
    sid = _sensor(db)
    _rule(db, hold=3)
    res = _feed(
        db, ("MH-001", "tilt", 20, _at(0)), ("MH-001", "tilt", 20, _at(1)), ("MH-001", "tilt", 1, _at(2))
    )
    assert res.alarms == 0 and _state(db, sid).breaches == 0
    res = _feed(db, ("MH-001", "tilt", 20, _at(3)), ("MH-001", "tilt", 21, _at(4)))
    assert res.alarms == 0 and _state(db, sid).breaches == 2
    res = _feed(db, ("MH-001", "tilt", 22, _at(5)))
    assert res.alarms == 1 and _state(db, sid).alarm


def test_sensor_rule_replaces_the_kinds_and_names_its_category(db, city) -> None:  # noqa: ANN001
    a = _sensor(db, "MH-A")
    b = _sensor(db, "MH-B", cell=(4, 4))
    _rule(db)  # tilt > 15 for the kind
    _rule(db, sensor_kind=None, sensor="MH-B", value=40.0, category=SHED)  # MH-B: only above 40
    res = _feed(db, ("MH-A", "tilt", 20, _at(0)), ("MH-B", "tilt", 20, _at(0)))
    assert res.alarms == 1 and _state(db, a).alarm and not _state(db, b).alarm
    res = _feed(db, ("MH-B", "tilt", 41, _at(1)))
    assert res.alarms == 1
    with db.read() as s:
        case = s.get(Case, _state(db, b).case_id)
        assert case.category_id != s.get(Case, _state(db, a).case_id).category_id  # SHED, not MANHOLE


def test_metrics_without_rules_keep_the_latest_value(db, city) -> None:  # noqa: ANN001
    sid = _sensor(db)
    res = _feed(db, ("MH-001", "battery", 3.6, _at(0)), ("MH-001", "battery", 3.5, _at(1)))
    assert res.evaluated == 2 and res.alarms == 0
    assert _state(db, sid, "battery").value == 3.5


def test_two_sensors_alarming_at_one_place_merge(db, city) -> None:  # noqa: ANN001
    _sensor(db, "MH-1")
    _sensor(db, "MH-2")  # same point
    _rule(db)
    res = _feed(db, ("MH-1", "tilt", 30, _at(0)), ("MH-2", "tilt", 31, _at(0)))
    assert res.alarms == 2 and len(res.cases) == 1
    with db.read() as s:
        assert s.get(Case, res.cases[0]).report_count == 2


def test_stale_readings_change_nothing(db, city) -> None:  # noqa: ANN001
    sid = _sensor(db)
    _rule(db)
    first = _feed(db, ("MH-001", "tilt", 30, _at(5)))
    again = _feed(db, ("MH-001", "tilt", 30, _at(5)), ("MH-001", "tilt", 1, _at(4)))  # redelivered, older
    assert first.alarms == 1 and (again.stale, again.evaluated, again.alarms, again.cleared) == (2, 0, 0, 0)
    assert _state(db, sid).alarm and _state(db, sid).value == 30
    # readings of one batch are taken in time order, whatever their order in the batch
    res = _feed(db, ("MH-001", "tilt", 2, _at(7)), ("MH-001", "tilt", 40, _at(6)))
    assert res.cleared == 1 and _state(db, sid).value == 2 and not _state(db, sid).alarm


def test_unknown_and_inactive_sensors_are_named_the_rest_applied(db, city) -> None:  # noqa: ANN001
    sid = _sensor(db)
    _sensor(db, "MH-OFF", active=False)
    _rule(db)
    res = _feed(
        db, ("NOPE", "tilt", 30, _at(0)), ("MH-001", "tilt", 30, _at(0)), ("MH-OFF", "tilt", 30, _at(0))
    )
    assert (res.received, res.unknown, res.evaluated, res.alarms) == (3, 2, 1, 1)
    assert [(p["index"], p["sensor"], p["reason"]) for p in res.problems] == [
        (0, "NOPE", "unknown"),
        (2, "MH-OFF", "inactive"),
    ]
    assert _state(db, sid).alarm


def test_an_alarm_intake_refuses_is_named_and_retried(db, city) -> None:  # noqa: ANN001
    from zhicheng.cityops import categories
    from zhicheng.cityops.schemas import CategoryIn

    sid = _sensor(db)
    _rule(db)
    with unit_of_work(db, ME) as uow:
        cat = categories.create(
            uow, CategoryIn(kind="part", code="0199", major_name="公用设施", name="旧井盖")
        )
        cat_id = cat.id
    _rule(db, sensor_kind=None, sensor="MH-001", category="part:0199")
    with unit_of_work(db, ME) as uow:
        row = categories.get(uow, cat_id)
        categories.update(
            uow,
            cat_id,
            CategoryIn(kind="part", code="0199", major_name="公用设施", name="旧井盖", active=False),
        )
        assert row.active is False
    res = _feed(db, ("MH-001", "tilt", 30, _at(0)))
    assert res.alarms == 0 and res.problems[0]["reason"] == "report" and "0199" in res.problems[0]["message"]
    assert not _state(db, sid).alarm and _state(db, sid).breaches == 1


def _many(db, n: int) -> list[str]:  # noqa: ANN001
    """MH-0000 … registered as _sensor does, the others copied from it in one unit of work (faster)."""
    first = _sensor(db, "MH-0000")
    with unit_of_work(db, ME) as uow:
        model, now = uow.session.get(Sensor, first), utcnow()
        copied = ("kind", "lng", "lat", "grid_id", "category_id")
        uow.session.add_all(
            Sensor(
                code=f"MH-{i:04d}", created_at=now, updated_at=now, **{k: getattr(model, k) for k in copied}
            )
            for i in range(1, n)
        )
        uow.record("cityops:sensor:create", "sensors", {"count": n - 1})
    return [f"MH-{i:04d}" for i in range(n)]


def test_a_batch_over_many_sensors_reads_and_writes_every_state(db, city) -> None:  # noqa: ANN001
    """More sensors than one IN (…) list would hold (sensors.CHUNK): every state is read, locked and written
    in one statement each, in the format the ORM reads and compares."""
    codes = _many(db, sensors.CHUNK + 300)
    _rule(db)
    n, breaching = len(codes), codes[-3:]  # the last ones in id order: after the first CHUNK
    res = _feed(db, *[(c, "tilt", 1.0, _at(0)) for c in codes], ("MH-0001", "battery", 3.6, _at(0)))
    assert (res.evaluated, res.stale, res.alarms) == (n + 1, 0, 0)
    # every state is found again: stale, whatever its position in the batch; three sensors breach
    again = [(c, "tilt", 40.0 if c in breaching else 2.0, _at(1)) for c in codes]
    res = _feed(db, *[(c, "tilt", 9.0, _at(0)) for c in codes], *again)
    assert (res.stale, res.evaluated, res.alarms, len(res.cases)) == (n, n, 3, 1)  # one place: merged
    res = _feed(db, *[(c, "tilt", 1.0, _at(2)) for c in breaching])
    assert (res.cleared, res.alarms) == (3, 0)
    t = SensorState.__table__
    with db.read() as s:
        count = select(func.count()).select_from(t)
        assert s.scalar(count.where(t.c.metric == "tilt")) == n
        assert s.scalar(count.where(t.c.at == _at(1))) == n - 3  # the time compares as the ORM binds it
        assert s.scalar(count.where(t.c.alarm_at == _at(1), t.c.alarm.is_(False))) == 3
        assert s.scalar(select(t.c.value).where(t.c.metric == "battery")) == 3.6
        of = select(t.c.value).join(Sensor, Sensor.id == t.c.sensor_id).where(Sensor.code == "MH-0001")
        assert s.scalar(of.where(t.c.metric == "tilt")) == 2.0


def test_batch_limit_and_time_zone(db, city) -> None:  # noqa: ANN001
    _sensor(db)
    with pytest.raises(Invalid, match="at most 2 readings"):
        _feed(db, ("MH-001", "tilt", 1), ("MH-001", "tilt", 2), ("MH-001", "tilt", 3), max_batch=2)
    with pytest.raises(Invalid, match="time zone"):
        _feed(db, ("MH-001", "tilt", 1, dt.datetime(2026, 11, 20, 8, 0)))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(SensorState)) == 0


def test_sensor_outside_the_city_or_with_unknown_category_refused(db, city) -> None:  # noqa: ANN001
    with pytest.raises(Invalid, match="outside the city"), unit_of_work(db, ME) as uow:
        sensors.create_sensor(
            uow,
            SensorIn(code="X", kind="noise", location=LocationIn(lng=116.4, lat=39.9), category=MANHOLE),
        )
    with pytest.raises(Invalid, match="unknown category"):
        _sensor(db, category="part:9999")
    with pytest.raises(Invalid, match="either a sensor kind or a sensor"):
        _rule(db, sensor="MH-001")


# --- the API ---------------------------------------------------------------------------------------------
def _sensor_body(code: str, cell: tuple[int, int] = (2, 2), **kw: object) -> dict:
    lng, lat = centre(*cell)
    return {"code": code, "kind": "water_level", "location": {"lng": lng, "lat": lat}, "category": SHED, **kw}


def test_api_crud_readings_and_permissions(db, city, as_user) -> None:  # noqa: ANN001
    admin, district, agent = as_user("cityadmin"), as_user("district_admin"), as_user("agent")
    clerk, outsider = as_user("clerk"), as_user("outsider")
    r = admin.send("POST", SENSORS, json=_sensor_body("WL-1", name="积水点"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["grid_code"].startswith("320102002") and body["category"] == SHED and body["states"] == []
    assert admin.send("POST", SENSORS, json=_sensor_body("WL-1")).status_code == 409
    # the district's manager manages sensors in its district only, and not the city-wide kind rules
    assert district.send("POST", SENSORS, json=_sensor_body("WL-2", cell=(0, 1))).status_code == 201
    qinhuai = {**_sensor_body("WL-3"), "location": {"lng": 118.805, "lat": 32.015}}
    assert district.send("POST", SENSORS, json=qinhuai).status_code == 403
    rule = {"sensor_kind": "water_level", "metric": "level_cm", "op": ">=", "value": 20, "severity": "high"}
    assert district.send("POST", RULES, json=rule).status_code == 403
    assert (
        district.send("POST", RULES, json={**rule, "sensor_kind": None, "sensor": "WL-2"}).status_code == 201
    )
    r = admin.send("POST", RULES, json=rule)
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    assert admin.send("PUT", f"{RULES}/{rule_id}", json={**rule, "value": 25}).json()["value"] == 25
    assert admin.send("POST", RULES, json={**rule, "op": "=>"}).status_code == 422
    # readings: an intake holder (a 12345 agent here; in practice the platform's token)
    batch = {
        "readings": [
            {"sensor": "WL-1", "metric": "level_cm", "value": 30, "at": _at(0).isoformat()},
            {"sensor": "GHOST", "metric": "level_cm", "value": 30},
        ]
    }
    for refused in (clerk, outsider):
        assert refused.send("POST", READINGS, json=batch).status_code == 403
    r = agent.send("POST", READINGS, json=batch)
    assert r.status_code == 200, r.text
    out = r.json()
    assert {k: out[k] for k in ("received", "evaluated", "alarms", "unknown")} == {
        "received": 2,
        "evaluated": 1,
        "alarms": 1,
        "unknown": 1,
    }
    assert out["problems"] == [
        {"index": 1, "sensor": "GHOST", "reason": "unknown", "message": "未登记的传感器"}
    ]
    # readers see the alarm
    detail = clerk.get(f"{SENSORS}/WL-1").json()
    assert detail["alarm"] and detail["states"][0]["case_id"] == out["cases"][0]
    assert [s["code"] for s in clerk.get(SENSORS, params={"alarm": True}).json()["items"]] == ["WL-1"]
    assert [s["code"] for s in clerk.get(SENSORS, params={"alarm": False}).json()["items"]] == ["WL-2"]
    assert len(clerk.get(RULES).json()) == 2
    assert outsider.get(SENSORS).status_code == 403
    assert outsider.get(f"{SENSORS}/WL-1").status_code == 403
    # the batch limit
    big = {"readings": [{"sensor": "WL-1", "metric": "x", "value": i} for i in range(3)]}
    from zhicheng.settings import Settings

    settings: Settings = agent.http.app.state.settings
    old, settings.cityops_sensor_batch_max = settings.cityops_sensor_batch_max, 2
    try:
        r = agent.send("POST", READINGS, json=big)
        assert r.status_code == 422 and "at most 2" in r.text
    finally:
        settings.cityops_sensor_batch_max = old
    assert (
        agent.send(
            "POST", READINGS, json={"readings": [{"sensor": "WL-1", "metric": "x", "value": "nan"}]}
        ).status_code
        == 422
    )
    # update and delete
    r = admin.send("PUT", f"{SENSORS}/WL-1", json={**_sensor_body("WL-1"), "active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert district.send("DELETE", f"{SENSORS}/WL-2").status_code == 204
    assert clerk.get(f"{SENSORS}/WL-2").status_code == 404
    assert len(clerk.get(RULES).json()) == 1  # its own rule went with it
    assert admin.send("DELETE", f"{RULES}/{rule_id}").status_code == 204
    with db.read() as s:
        assert s.get(Case, out["cases"][0]) is not None


def test_return_to_normal_is_on_the_open_cases_timeline(db, city) -> None:  # noqa: ANN001
    from zhicheng.cityops import loop
    from zhicheng.cityops.models import CaseEvent
    from zhicheng.cityops.schemas import ActionIn

    _sensor(db, name="井盖")
    _sensor(db, code="MH-002", cell=(4, 4))
    _rule(db)
    res = _feed(db, ("MH-001", "tilt", 40.0, _at(0)), ("MH-002", "tilt", 40.0, _at(0)))
    assert res.alarms == 2 and len(res.cases) == 2
    first, second = res.cases
    with unit_of_work(db, ME) as uow:  # the second case is already cancelled: history, nothing is added
        loop.step(uow, second, "cancel", ActionIn(reason="误报"), shanghai_today())
    res = _feed(db, ("MH-001", "tilt", 2.0, _at(1)), ("MH-002", "tilt", 2.0, _at(1)))
    assert res.cleared == 2

    def events(case_id: int) -> list[CaseEvent]:
        with db.read() as s:
            return list(
                s.scalars(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case_id, CaseEvent.kind == "sensor_normal")
                    .order_by(CaseEvent.id)
                )
            )

    normal = events(first)
    assert len(normal) == 1 and normal[0].public and normal[0].status == "reported"
    assert "MH-001" in normal[0].note and "恢复正常" in normal[0].note
    assert normal[0].data["metric"] == "tilt" and normal[0].data["value"] == 2.0
    assert events(second) == []
    # still normal: no second event; a stale redelivery of the breach changes nothing either
    _feed(db, ("MH-001", "tilt", 1.0, _at(2)), ("MH-001", "tilt", 40.0, _at(0)))
    assert len(events(first)) == 1


def test_a_batch_rolled_back_by_a_deadlock_is_applied_again(db, city, as_user, monkeypatch) -> None:  # noqa: ANN001
    from sqlalchemy.exc import OperationalError

    from zhicheng.cityops import sensor_api

    sid = _sensor(db)
    _rule(db)
    real, calls = sensors.evaluate, []

    class Deadlock(Exception):
        sqlstate = "40P01"  # as psycopg names PostgreSQL's deadlock_detected

    def deadlocked(times: int):  # noqa: ANN202
        def evaluate(uow, readings, **kw):  # noqa: ANN001, ANN003, ANN202
            res = real(uow, readings, **kw)  # everything written, the alarm reported …
            calls.append(res.evaluated)
            if len(calls) <= times:  # … then rolled back whole
                raise OperationalError("INSERT INTO cityops_daily …", {}, Deadlock("deadlock detected"))
            return res

        return evaluate

    agent = as_user("agent")
    batch = {"readings": [{"sensor": "MH-001", "metric": "tilt", "value": 30, "at": _at(0).isoformat()}]}
    monkeypatch.setattr(sensors, "evaluate", deadlocked(1))
    r = agent.send("POST", READINGS, json=batch)
    assert r.status_code == 200, r.text
    assert calls == [1, 1] and r.json()["alarms"] == 1  # the second try saw nothing of the first (not stale)
    assert _state(db, sid).alarm
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.channel == "sensor")) == 1
    # a deadlock every time: given up after ATTEMPTS, nothing applied
    calls.clear()
    monkeypatch.setattr(sensors, "evaluate", deadlocked(sensor_api.ATTEMPTS))
    later = {"readings": [{**batch["readings"][0], "value": 1, "at": _at(1).isoformat()}]}
    assert agent.send("POST", READINGS, json=later).status_code == 500
    assert calls == [1] * sensor_api.ATTEMPTS and _state(db, sid).alarm

"""IoT sensors: the sensors and their threshold rules (kept in an in-process table rebuilt when the "sensors"
generation changes), and the evaluation of a batch of readings.

`evaluate` works fully in memory: it reads the current states of the batch's sensors in one query (locked
FOR UPDATE on PostgreSQL, so two batches of one sensor take turns), walks the readings in time order per
sensor × metric, writes every changed state back in one upsert (both through cityops.sensor_states), and
reports each alarm it raises (a state going ok → alarm) through intake.report(channel="sensor") at the
sensor's point with its category (the rule's, if it names one). A duplicate merges into the open case
nearby as any report does. A return to normal closes the state's alarm, not the case: the case follows the
loop; if that case is still open, its public timeline gets a "传感器读数恢复正常" event (followers are told).

A reading is applied only if it is newer than its state: a redelivered MQTT message, or a batch retried
after a lost answer, changes nothing (`stale`). Readings of unknown or inactive sensors are skipped and
named in the answer (index and reason); the rest of the batch is processed. Raw readings are not stored
(put them in a time-series store); only the latest value and the alarm per sensor × metric are.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, select

from zhicheng.cityops import categories, index, intake, loop, sensor_states, vocab
from zhicheng.cityops.models import Case, Category, Grid
from zhicheng.cityops.schemas import LocationIn, ReporterIn, ReportIn
from zhicheng.cityops.sensor_models import Sensor, SensorState, ThresholdRule
from zhicheng.cityops.sensor_schemas import OPS, SEVERITIES, ReadingIn, SensorIn, SensorUpdate, ThresholdIn
from zhicheng.core import cache
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from zhicheng.core.geo import crs as C
from zhicheng.core.orgs.models import Org

log = logging.getLogger(__name__)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
RANK = {"high": 0, "medium": 1, "low": 2}
CHUNK = 900  # case ids per IN (…) list: under SQLite's variable limit with room to spare


@dataclass(frozen=True, slots=True)
class SensorRef:
    id: int
    code: str
    name: str
    kind: str
    lng: float
    lat: float
    address: str
    category: str  # <kind>:<code>
    active: bool


@dataclass(frozen=True, slots=True)
class RuleRef:
    id: int
    metric: str
    op: str
    value: float
    hold: int
    category: str | None
    severity: str

    def breached(self, value: float) -> bool:
        return COMPARE[self.op](value, self.value)


@dataclass(frozen=True)
class Table:
    by_code: dict[str, SensorRef]
    by_sensor: dict[tuple[int, str], tuple[RuleRef, ...]]  # (sensor id, metric) → its own rules
    by_kind: dict[tuple[str, str], tuple[RuleRef, ...]]  # (kind, metric) → the kind's rules

    def rules(self, sensor: SensorRef, metric: str) -> tuple[RuleRef, ...]:
        """The sensor's own rules for the metric if it has any, else its kind's; the most severe first."""
        own = self.by_sensor.get((sensor.id, metric))
        return own if own is not None else self.by_kind.get((sensor.kind, metric), ())


_lock = threading.Lock()
_tables: dict[str, tuple[int, Table]] = {}


def build(conn: Connection) -> Table:
    keys = {
        r.id: categories.key_of(r.kind, r.code)
        for r in conn.execute(select(Category.id, Category.kind, Category.code))
    }
    sensors = {
        r.code: SensorRef(
            r.id, r.code, r.name, r.kind, r.lng, r.lat, r.address, keys[r.category_id], r.active
        )
        for r in conn.execute(
            select(
                Sensor.id,
                Sensor.code,
                Sensor.name,
                Sensor.kind,
                Sensor.lng,
                Sensor.lat,
                Sensor.address,
                Sensor.category_id,
                Sensor.active,
            )
        )
    }
    by_sensor: dict[tuple[int, str], list[RuleRef]] = {}
    by_kind: dict[tuple[str, str], list[RuleRef]] = {}
    for r in conn.execute(select(ThresholdRule).where(ThresholdRule.active.is_(True))).mappings():
        ref = RuleRef(
            r["id"],
            r["metric"],
            r["op"],
            r["value"],
            r["hold"],
            keys.get(r["category_id"]) if r["category_id"] else None,
            r["severity"],
        )
        if r["sensor_id"] is not None:
            by_sensor.setdefault((r["sensor_id"], r["metric"]), []).append(ref)
        else:
            by_kind.setdefault((r["sensor_kind"], r["metric"]), []).append(ref)

    def ordered(d: dict[Any, list[RuleRef]]) -> dict[Any, tuple[RuleRef, ...]]:
        return {k: tuple(sorted(v, key=lambda x: (RANK.get(x.severity, 9), x.id))) for k, v in d.items()}

    return Table(sensors, ordered(by_sensor), ordered(by_kind))


def table(conn: Connection, url: str, gens: dict[str, int] | None = None) -> Table:
    gen = (gens if gens is not None else cache.generations(conn)).get("sensors", 0)
    found = _tables.get(url)
    if found is None or found[0] != gen:
        with _lock:
            found = _tables.get(url)
            if found is None or found[0] != gen:
                found = _tables[url] = (gen, build(conn))
    return found[1]


# --- evaluation ------------------------------------------------------------------------------------------
@dataclass
class Result:
    received: int = 0
    evaluated: int = 0
    alarms: int = 0
    cleared: int = 0
    unknown: int = 0
    stale: int = 0
    cases: list[int] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def shown(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "evaluated": self.evaluated,
            "alarms": self.alarms,
            "cleared": self.cleared,
            "unknown": self.unknown,
            "stale": self.stale,
            "cases": self.cases,
            "problems": self.problems,
        }


def _url(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=False)


def _describe(sensor: SensorRef, metric: str, value: float, rule: RuleRef) -> str:
    label = f"{sensor.name}（{sensor.code}）" if sensor.name else sensor.code
    return f"物联感知告警：{label} {metric} = {value:g}，超出阈值 {rule.op} {rule.value:g}（{rule.severity}）"


Group = list[tuple[dt.datetime, int, float]]  # (time, index in the batch, value) of one sensor × metric


def _grouped(
    tab: Table, readings: Sequence[ReadingIn], res: Result
) -> tuple[dict[tuple[int, str], Group], dict[int, SensorRef]]:
    """The readings of known, active sensors by (sensor id, metric), with their times in UTC (a time to
    come counts as now); the others named in `res.problems`."""
    now = utcnow()
    utc = dt.UTC
    by_code = tab.by_code
    groups: dict[tuple[int, str], Group] = {}
    refs: dict[int, SensorRef] = {}
    for i, r in enumerate(readings):
        sensor = by_code.get(r.sensor)
        if sensor is None or not sensor.active:
            res.unknown += 1
            reason = "unknown" if sensor is None else "inactive"
            zh = "未登记的传感器" if sensor is None else "传感器已停用"
            res.problems.append({"index": i, "sensor": r.sensor, "reason": reason, "message": zh})
            continue
        at = r.at
        if at is None:
            at = now
        elif at.tzinfo is None:
            raise Invalid(f"第 {i} 条读数的时间必须带时区", f"reading {i}: the time must carry a time zone")
        else:  # in dt.UTC itself: times of one zone compare fastest in the sorts and checks below
            if at.tzinfo is not utc:
                at = at.astimezone(utc)
            if at > now:
                at = now
        key = (sensor.id, r.metric)
        group = groups.get(key)
        if group is None:
            groups[key] = [(at, i, r.value)]
            refs[sensor.id] = sensor
        else:
            group.append((at, i, r.value))
    return groups, refs


def evaluate(
    uow: UnitOfWork,
    readings: Sequence[ReadingIn],
    *,
    max_batch: int = 10000,
    rules: intake.Rules = intake.Rules(),
) -> Result:
    """Apply a batch of readings; see the module's doc. Invalid (nothing applied) for a batch over
    `max_batch` readings or a reading time without a time zone."""
    if len(readings) > max_batch:
        raise Invalid(
            f"一批最多 {max_batch} 条读数，收到 {len(readings)} 条",
            f"at most {max_batch} readings in a batch, got {len(readings)}",
        )
    res = Result(received=len(readings))
    if not readings:
        return res
    conn = uow.session.connection()
    tab = table(conn, _url(conn), cache.generations(conn))
    groups, refs = _grouped(tab, readings, res)
    if not groups:
        return res
    states = sensor_states.load(conn, refs)
    written: list[sensor_states.Row] = []
    cleared: list[str] = []
    normal: list[tuple[int, SensorRef, str, float, dt.datetime]] = []  # (case, sensor, metric, value, at)
    evaluated = stale = 0
    # per sensor × metric in key order, each one's readings in time order (then in the batch's order);
    # the state is carried in local variables and written back once
    for key in sorted(groups):
        sensor_id, metric = key
        sensor = refs[sensor_id]
        found = states.get(key)
        if found is None:
            last, alarm, breaches, rule_id, alarm_at, case_id = None, False, 0, None, None, None
        else:
            _, _, _, last, alarm, breaches, rule_id, alarm_at, case_id = found
        checks = tab.rules(sensor, metric)
        group = groups[key]
        if len(group) > 1:
            group.sort()
        value: float | None = None
        for at, i, v in group:
            if last is not None and at <= last:
                stale += 1
                continue
            last, value = at, v
            evaluated += 1
            hit = [rule for rule in checks if rule.breached(v)] if checks else None
            if not hit:
                breaches = 0
                if alarm:
                    alarm = False
                    res.cleared += 1
                    cleared.append(f"{sensor.code}/{metric}")
                    if case_id is not None:
                        normal.append((case_id, sensor, metric, v, at))
                continue
            breaches += 1
            if alarm:
                continue
            firing = next((rule for rule in hit if breaches >= rule.hold), None)
            if firing is None:
                continue
            case = _raise(uow, res, rules, sensor, metric, v, at, i, firing)
            if case is not None:
                alarm, rule_id, alarm_at, case_id = True, firing.id, at, case
        if value is not None:
            written.append((sensor_id, metric, value, last, alarm, breaches, rule_id, alarm_at, case_id))
    res.evaluated, res.stale = evaluated, stale
    sensor_states.write(conn, written)
    if normal:
        _tell_normal(uow, normal)
    if cleared:
        uow.record("cityops:sensor:clear", "sensors", {"cleared": cleared[:200], "count": len(cleared)})
    return res


def _raise(
    uow: UnitOfWork,
    res: Result,
    rules: intake.Rules,
    sensor: SensorRef,
    metric: str,
    value: float,
    at: dt.datetime,
    index: int,
    firing: RuleRef,
) -> int | None:
    """Report the alarm through intake: the case it opened or merged into, or None (named in `res`)."""
    try:
        out = intake.report(
            uow,
            ReportIn(
                category=firing.category or sensor.category,
                location=LocationIn(lng=sensor.lng, lat=sensor.lat),
                address=sensor.address,
                description=_describe(sensor, metric, value, firing),
                reporter=ReporterIn(name=sensor.name[:60] or None, external_id=sensor.code),
                reported_at=at,
            ),
            channel="sensor",
            rules=rules,
        )
    except DomainError as exc:  # intake refuses before writing anything: the next breach tries again
        log.warning("sensor %s %s: alarm not reported: %s", sensor.code, metric, exc)
        res.problems.append(
            {"index": index, "sensor": sensor.code, "reason": "report", "message": exc.message()}
        )
        return None
    res.alarms += 1
    if out.case_id not in res.cases:
        res.cases.append(out.case_id)
    return out.case_id


def _tell_normal(uow: UnitOfWork, normal: list[tuple[int, SensorRef, str, float, dt.datetime]]) -> None:
    """A public timeline event on each still-open case whose alarm a return to normal closed."""
    ids = sorted({n[0] for n in normal})
    open_: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        found = select(Case.id).where(Case.id.in_(ids[i : i + CHUNK]), Case.status.in_(vocab.OPEN))
        open_.update(uow.session.scalars(found))
    for case_id, sensor, metric, value, at in sorted(normal, key=lambda n: n[0]):  # cases locked in id order
        if case_id not in open_:
            continue
        case = loop.load(uow, case_id)
        label = f"{sensor.name}（{sensor.code}）" if sensor.name else sensor.code
        loop._event(  # the loop's own timeline writer (event row, audit, followers told)
            uow,
            case,
            "sensor_normal",
            f"{label} {metric} = {value:g}，已恢复正常",
            sensor=sensor.code,
            metric=metric,
            value=value,
            at=at.isoformat(),
        )


# --- sensors and rules -----------------------------------------------------------------------------------
def _category_id(uow: UnitOfWork, key: str) -> int:
    kind, code = categories.parse_key(key)
    found = uow.session.scalar(select(Category.id).where(Category.kind == kind, Category.code == code))
    if found is None:
        raise Invalid(f"未知的案件类别：{key}", f"unknown category: {key}")
    return found


def _place(uow: UnitOfWork, loc: LocationIn) -> tuple[float, float, int, str]:
    """The point in WGS-84, its grid and the path of the grid's organization; Invalid outside the city."""
    system = C.system(loc.crs)
    x, y = C.check(loc.lng, loc.lat, system)
    lng, lat = C.to_wgs84(x, y, system)
    conn = uow.session.connection()
    grids, _ = index.current(SimpleNamespace(url=_url(conn)), conn)  # type: ignore[arg-type]
    grid = grids.locate(lng, lat)
    if grid is None:
        raise Invalid(
            f"传感器位置（{lng:.6f}, {lat:.6f}，WGS-84）不在本市任何网格内",
            f"the sensor's point ({lng:.6f}, {lat:.6f}, WGS-84) is outside the city (in no grid)",
        )
    path = uow.session.scalar(select(Org.path).where(Org.id == grid.org_id)) or ""
    return lng, lat, grid.id, path


def org_path(s: Any, sensor: Sensor) -> str:
    """The path of the organization of the sensor's grid (for cityops.manage checks)."""
    found = s.scalar(select(Org.path).join(Grid, Grid.org_id == Org.id).where(Grid.id == sensor.grid_id))
    return found or ""


def get(s: Any, code: str) -> Sensor:
    s = getattr(s, "session", s)
    row = s.scalar(select(Sensor).where(Sensor.code == code))
    if row is None:
        raise NotFound(f"传感器 {code} 不存在", f"sensor {code} not found")
    return row


def _sensor_values(uow: UnitOfWork, data: SensorIn | SensorUpdate) -> tuple[dict[str, Any], str]:
    lng, lat, grid_id, path = _place(uow, data.location)
    values = {
        "name": data.name.strip(),
        "kind": data.kind,
        "lng": lng,
        "lat": lat,
        "grid_id": grid_id,
        "address": data.address.strip(),
        "category_id": _category_id(uow, data.category),
        "active": data.active,
    }
    return values, path


Check = Callable[[str], bool]


def _allowed(can: Check | None, path: str) -> None:
    if can is not None and not can(path):
        raise Forbidden("无权管理该网格的传感器", "no permission to manage sensors of this grid")


def create_sensor(uow: UnitOfWork, data: SensorIn, can: Check | None = None) -> Sensor:
    """`can(org path)` says whether the caller manages the grid the sensor stands in."""
    s = uow.session
    if s.scalar(select(Sensor.id).where(Sensor.code == data.code)):
        raise Conflict(f"传感器 {data.code} 已存在", f"sensor {data.code} exists")
    values, path = _sensor_values(uow, data)
    _allowed(can, path)
    now = utcnow()
    row = Sensor(code=data.code, created_at=now, updated_at=now, **values)
    s.add(row)
    s.flush()
    uow.record("cityops:sensor:create", f"sensor:{row.code}", {**values, "category": data.category})
    return row


def update_sensor(uow: UnitOfWork, code: str, data: SensorUpdate, can: Check | None = None) -> Sensor:
    row = get(uow, code)
    _allowed(can, org_path(uow.session, row))
    values, path = _sensor_values(uow, data)
    _allowed(can, path)
    changed = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at = utcnow()
    uow.record("cityops:sensor:update", f"sensor:{row.code}", changed)
    return row


def delete_sensor(uow: UnitOfWork, code: str, can: Check | None = None) -> None:
    """Remove the sensor with its rules and states (its cases stay)."""
    row = get(uow, code)
    _allowed(can, org_path(uow.session, row))
    s = uow.session
    for rule in s.scalars(select(ThresholdRule).where(ThresholdRule.sensor_id == row.id)):
        s.delete(rule)
    s.execute(SensorState.__table__.delete().where(SensorState.__table__.c.sensor_id == row.id))
    s.delete(row)
    uow.record("cityops:sensor:delete", f"sensor:{code}", {"kind": row.kind})


def _rule_values(uow: UnitOfWork, data: ThresholdIn) -> tuple[dict[str, Any], Sensor | None]:
    if (data.sensor_kind is None) == (data.sensor is None):
        raise Invalid(
            "阈值规则须指定传感器类型 sensor_kind 或传感器 sensor（二者之一）",
            "a threshold rule names either a sensor kind or a sensor",
        )
    if data.op not in OPS:
        raise Invalid(f"比较符应为 {' '.join(OPS)} 之一", f"op must be one of {' '.join(OPS)}")
    if data.severity not in SEVERITIES:
        raise Invalid("级别应为 low、medium 或 high", "severity must be low, medium or high")
    sensor = get(uow, data.sensor) if data.sensor else None
    values = {
        "sensor_kind": data.sensor_kind,
        "sensor_id": sensor.id if sensor else None,
        "metric": data.metric,
        "op": data.op,
        "value": data.value,
        "hold": data.hold,
        "category_id": _category_id(uow, data.category) if data.category else None,
        "severity": data.severity,
        "description": data.description.strip(),
        "active": data.active,
    }
    return values, sensor


def _rule_allowed(uow: UnitOfWork, sensor: Sensor | None, can: Check | None, city: Check | None) -> None:
    """A sensor's rule needs its grid; a kind's rule applies across the city (`city()`)."""
    if sensor is not None:
        _allowed(can, org_path(uow.session, sensor))
    elif city is not None and not city(""):
        raise Forbidden(
            "按传感器类型的阈值规则是全市的，须对全市网格有管理权限",
            "rules of a sensor kind are the whole city's: manage the whole grid to change them",
        )


def create_rule(
    uow: UnitOfWork, data: ThresholdIn, can: Check | None = None, city: Check | None = None
) -> ThresholdRule:
    values, sensor = _rule_values(uow, data)
    _rule_allowed(uow, sensor, can, city)
    now = utcnow()
    row = ThresholdRule(created_at=now, updated_at=now, **values)
    uow.session.add(row)
    uow.session.flush()
    uow.record("cityops:threshold:create", f"threshold:{row.id}", data.model_dump())
    return row


def get_rule(s: Any, rule_id: int) -> ThresholdRule:
    s = getattr(s, "session", s)
    row = s.get(ThresholdRule, rule_id)
    if row is None:
        raise NotFound(f"阈值规则 {rule_id} 不存在", f"threshold rule {rule_id} not found")
    return row


def _rule_sensor(uow: UnitOfWork, row: ThresholdRule) -> Sensor | None:
    return uow.session.get(Sensor, row.sensor_id) if row.sensor_id else None


def update_rule(
    uow: UnitOfWork, rule_id: int, data: ThresholdIn, can: Check | None = None, city: Check | None = None
) -> ThresholdRule:
    row = get_rule(uow, rule_id)
    _rule_allowed(uow, _rule_sensor(uow, row), can, city)
    values, sensor = _rule_values(uow, data)
    _rule_allowed(uow, sensor, can, city)
    changed = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at = utcnow()
    uow.record("cityops:threshold:update", f"threshold:{row.id}", changed)
    return row


def delete_rule(uow: UnitOfWork, rule_id: int, can: Check | None = None, city: Check | None = None) -> None:
    row = get_rule(uow, rule_id)
    _rule_allowed(uow, _rule_sensor(uow, row), can, city)
    uow.session.delete(row)
    uow.record("cityops:threshold:delete", f"threshold:{rule_id}", {"metric": row.metric, "op": row.op})


# --- shapes ------------------------------------------------------------------------------------------------
def shown(row: Sensor, category: str, grid_code: str, alarm: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "kind": row.kind,
        "lng": row.lng,
        "lat": row.lat,
        "grid_code": grid_code,
        "address": row.address,
        "category": category,
        "active": row.active,
        "alarm": alarm,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def rule_shown(row: ThresholdRule, sensor_code: str | None, category: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "sensor_kind": row.sensor_kind,
        "sensor": sensor_code,
        "metric": row.metric,
        "op": row.op,
        "value": row.value,
        "hold": row.hold,
        "category": category,
        "severity": row.severity,
        "description": row.description,
        "active": row.active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }

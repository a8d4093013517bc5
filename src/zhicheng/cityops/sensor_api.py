"""JSON routes of IoT sensors under /api/v1/cityops: sensors and threshold rules (read: cityops.read; write:
cityops.manage over the grid a sensor stands in, or over the whole city's grid for a sensor kind's rules),
and the batch of readings (cityops.intake: a sensor platform's API token, or the MQTT subscriber's)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from zhicheng.cityops import intake, sensors
from zhicheng.cityops import sensor_queries as q
from zhicheng.cityops.models import Grid
from zhicheng.cityops.permissions import CITYOPS_MANAGE, CITYOPS_READ, INTAKE
from zhicheng.cityops.sensor_schemas import (
    ReadingBatch,
    ReadingResult,
    SensorDetail,
    SensorIn,
    SensorPage,
    SensorUpdate,
    ThresholdIn,
    ThresholdOut,
)
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.orgs.models import Org
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.security import access

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])


def _grid(me: Principal) -> Callable[[str], bool]:
    return lambda path: me.can(CITYOPS_MANAGE, path)


def _city(s: object, me: Principal) -> Callable[[str], bool]:
    def check(_: str) -> bool:
        paths = s.scalars(select(Org.path).join(Grid, Grid.org_id == Org.id).distinct())  # type: ignore[attr-defined]
        return all(me.can(CITYOPS_MANAGE, p) for p in paths)

    return check


@router.get("/sensors", response_model=SensorPage)
@access(CITYOPS_READ)
def list_sensors(
    s: Reader,
    kind: str | None = None,
    grid: str | None = Query(None, description="15-digit grid code"),
    alarm: bool | None = Query(None, description="only sensors with (true) or without (false) an open alarm"),
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict:
    items, nxt = q.sensors(s, kind=kind, grid=grid, alarm=alarm, active=active, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": nxt}


@router.post("/sensors", response_model=SensorDetail, status_code=201)
@access(CITYOPS_MANAGE)
def create_sensor(body: SensorIn, db: DB, me: Me) -> dict:
    """Register a sensor; its point (any supported crs) must fall in a grid the caller manages."""
    with unit_of_work(db, me.actor) as uow:
        row = sensors.create_sensor(uow, body, _grid(me))
        return q.sensor(uow.session, row.code)


ATTEMPTS = 3  # a batch PostgreSQL rolled back to break a deadlock is applied again, at most this often


def _deadlock(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "40P01"


@router.post("/sensors/readings", response_model=ReadingResult)
@access(INTAKE)
def readings(body: ReadingBatch, db: DB, me: Me, conf: Conf) -> dict:
    """A batch of readings (at most cityops_sensor_batch_max), applied in one transaction. Readings of
    unknown or inactive sensors are skipped and listed in `problems`; the rest are applied."""
    attempt = 1
    while True:
        try:
            with unit_of_work(db, me.actor) as uow:
                res = sensors.evaluate(
                    uow, body.readings, max_batch=conf.cityops_sensor_batch_max, rules=intake.Rules.of(conf)
                )
            return res.shown()
        except OperationalError as exc:
            # two batches raising alarms take intake's locks (a place's advisory lock, the roll-up's
            # rows) one report after the other, so they can wait on each other crosswise; PostgreSQL
            # rolls one back whole, and the same batch applied again is the answer the caller wants
            if attempt == ATTEMPTS or not _deadlock(exc):
                raise
            log.warning("sensor batch of %d readings: deadlock, applied again", len(body.readings))
            attempt += 1


@router.get("/sensors/{code}", response_model=SensorDetail)
@access(CITYOPS_READ)
def get_sensor(code: str, s: Reader) -> dict:
    """The sensor with the latest value and alarm of each metric."""
    return q.sensor(s, code)


@router.put("/sensors/{code}", response_model=SensorDetail)
@access(CITYOPS_MANAGE)
def update_sensor(code: str, body: SensorUpdate, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        sensors.update_sensor(uow, code, body, _grid(me))
        return q.sensor(uow.session, code)


@router.delete("/sensors/{code}", status_code=204)
@access(CITYOPS_MANAGE)
def delete_sensor(code: str, db: DB, me: Me) -> None:
    """Remove a sensor with its own rules and its states; the cases its alarms opened stay."""
    with unit_of_work(db, me.actor) as uow:
        sensors.delete_sensor(uow, code, _grid(me))


@router.get("/sensor-rules", response_model=list[ThresholdOut])
@access(CITYOPS_READ)
def list_rules(s: Reader, sensor: str | None = None, kind: str | None = None) -> list[dict]:
    return q.rules(s, sensor=sensor, kind=kind)


def _one_rule(s: object, rule_id: int) -> dict:
    return next(r for r in q.rules(s) if r["id"] == rule_id)  # type: ignore[arg-type]


@router.post("/sensor-rules", response_model=ThresholdOut, status_code=201)
@access(CITYOPS_MANAGE)
def create_rule(body: ThresholdIn, db: DB, me: Me) -> dict:
    """A threshold for a sensor kind (city-wide) or for one sensor (which then replaces its kind's rules
    for that metric)."""
    with unit_of_work(db, me.actor) as uow:
        row = sensors.create_rule(uow, body, _grid(me), _city(uow.session, me))
        return _one_rule(uow.session, row.id)


@router.put("/sensor-rules/{rule_id}", response_model=ThresholdOut)
@access(CITYOPS_MANAGE)
def update_rule(rule_id: int, body: ThresholdIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        sensors.update_rule(uow, rule_id, body, _grid(me), _city(uow.session, me))
        return _one_rule(uow.session, rule_id)


@router.delete("/sensor-rules/{rule_id}", status_code=204)
@access(CITYOPS_MANAGE)
def delete_rule(rule_id: int, db: DB, me: Me) -> None:
    with unit_of_work(db, me.actor) as uow:
        sensors.delete_rule(uow, rule_id, _grid(me), _city(uow.session, me))

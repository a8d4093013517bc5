"""Reads of sensors, their states and threshold rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from zhicheng.cityops import categories
from zhicheng.cityops import sensors as svc
from zhicheng.cityops.models import Category, Grid
from zhicheng.cityops.sensor_models import Sensor, SensorState, ThresholdRule
from zhicheng.core import paging


def _keys(s: Session) -> dict[int, str]:
    return {
        i: categories.key_of(k, c) for i, k, c in s.execute(select(Category.id, Category.kind, Category.code))
    }


def _in_alarm():  # noqa: ANN202
    return exists().where(SensorState.sensor_id == Sensor.id, SensorState.alarm.is_(True))


def sensors(
    s: Session,
    *,
    kind: str | None = None,
    grid: str | None = None,
    alarm: bool | None = None,
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    paging.check_limit(limit)
    after = paging.decode_id(cursor)
    stmt = (
        select(Sensor, Grid.code, _in_alarm().label("alarm"))
        .join(Grid, Grid.id == Sensor.grid_id)
        .order_by(Sensor.id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(Sensor.id > after)
    if kind:
        stmt = stmt.where(Sensor.kind == kind)
    if grid:
        stmt = stmt.where(Grid.code == grid)
    if active is not None:
        stmt = stmt.where(Sensor.active.is_(active))
    if alarm is not None:
        stmt = stmt.where(_in_alarm() if alarm else ~_in_alarm())
    rows = s.execute(stmt).all()
    items, nxt = paging.page(rows, limit, lambda r: r[0].id)
    keys = _keys(s)
    return [svc.shown(r[0], keys[r[0].category_id], r[1], bool(r[2])) for r in items], nxt


def states(s: Session, sensor_id: int) -> list[dict[str, Any]]:
    t = SensorState.__table__
    rows = s.execute(select(t).where(t.c.sensor_id == sensor_id).order_by(t.c.metric)).mappings()
    return [
        {k: r[k] for k in ("metric", "value", "at", "alarm", "breaches", "rule_id", "alarm_at", "case_id")}
        for r in rows
    ]


def sensor(s: Session, code: str) -> dict[str, Any]:
    row = svc.get(s, code)
    grid_code = s.scalar(select(Grid.code).where(Grid.id == row.grid_id)) or ""
    st = states(s, row.id)
    out = svc.shown(row, _keys(s)[row.category_id], grid_code, any(x["alarm"] for x in st))
    return {**out, "states": st}


def rules(s: Session, *, sensor: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(ThresholdRule, Sensor.code)
        .outerjoin(Sensor, Sensor.id == ThresholdRule.sensor_id)
        .order_by(ThresholdRule.id)
    )
    if sensor:
        stmt = stmt.where(Sensor.code == sensor)
    if kind:
        stmt = stmt.where(ThresholdRule.sensor_kind == kind)
    keys = _keys(s)
    return [
        svc.rule_shown(r, code, keys.get(r.category_id) if r.category_id else None)
        for r, code in s.execute(stmt).all()
    ]

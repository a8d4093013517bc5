"""Request and response shapes of sensors, threshold rules and readings."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from zhicheng.cityops.schemas import LocationIn

CODE = r"^[A-Za-z0-9_.:-]{1,64}$"  # a device id: one MQTT topic level (no / + #)
NAME = r"^[a-z][a-z0-9_]{0,39}$"  # a sensor kind or a metric: manhole_cover_tilt, water_level, pm25
OPS = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES = ("low", "medium", "high")


class SensorIn(BaseModel):
    code: str = Field(pattern=CODE, description="the device's own id, as in its MQTT topic")
    name: str = Field("", max_length=100)
    kind: str = Field(
        pattern=NAME, description="manhole_cover_tilt | water_level | noise | smoke | air_pm25 …"
    )
    location: LocationIn
    address: str = Field("", max_length=200)
    category: str = Field(description="<kind>:<code> its alarms are reported as, e.g. part:0101")
    active: bool = True


class SensorUpdate(BaseModel):
    name: str = Field("", max_length=100)
    kind: str = Field(pattern=NAME)
    location: LocationIn
    address: str = Field("", max_length=200)
    category: str
    active: bool = True


class StateOut(BaseModel):
    metric: str
    value: float
    at: dt.datetime
    alarm: bool
    breaches: int
    rule_id: int | None
    alarm_at: dt.datetime | None
    case_id: int | None


class SensorOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    lng: float = Field(description="WGS-84")
    lat: float = Field(description="WGS-84")
    grid_code: str
    address: str
    category: str
    active: bool
    alarm: bool = Field(description="some metric is in alarm")
    created_at: dt.datetime
    updated_at: dt.datetime


class SensorDetail(SensorOut):
    states: list[StateOut]


class SensorPage(BaseModel):
    items: list[SensorOut]
    next_cursor: str | None = None


class ThresholdIn(BaseModel):
    sensor_kind: str | None = Field(None, pattern=NAME, description="every sensor of this kind …")
    sensor: str | None = Field(None, pattern=CODE, description="… or one sensor (its code)")
    metric: str = Field(pattern=NAME)
    op: str = Field(description="> | >= | < | <= | == | !=")
    value: float = Field(allow_inf_nan=False)
    hold: int = Field(1, ge=1, le=1000, description="consecutive breaching readings that raise the alarm")
    category: str | None = Field(None, description="<kind>:<code> of the case; default: the sensor's")
    severity: str = Field("medium", description="low | medium | high")
    description: str = Field("", max_length=500)
    active: bool = True


class ThresholdOut(ThresholdIn):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ReadingIn(BaseModel):
    sensor: str = Field(max_length=64, description="the sensor's code")
    metric: str = Field(max_length=40)
    value: float = Field(allow_inf_nan=False)
    at: dt.datetime | None = Field(None, description="when measured, with a time zone; default: now")


class ReadingBatch(BaseModel):
    readings: list[ReadingIn]


class ReadingProblem(BaseModel):
    index: int
    sensor: str
    reason: str = Field(description="unknown | inactive | stale | <the report's error>")
    message: str = ""


class ReadingResult(BaseModel):
    received: int
    evaluated: int = Field(description="readings that updated a state")
    alarms: int = Field(description="alarms raised (each reported as a case or merged into one)")
    cleared: int = Field(description="alarms closed by a return to normal")
    unknown: int = Field(description="readings of unknown or inactive sensors (skipped)")
    stale: int = Field(description="readings not newer than the state (redeliveries, out of order)")
    cases: list[int] = Field(description="the cases the raised alarms opened or merged into")
    problems: list[ReadingProblem]

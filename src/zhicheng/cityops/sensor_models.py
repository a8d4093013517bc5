"""IoT sensors (井盖倾斜, 水位, 噪声, 烟感, PM2.5 …), the threshold rules their readings are checked against,
and the latest state of each sensor × metric.

Raw readings are NOT stored here: at tens of thousands of readings a second they belong in a time-series
store (TimescaleDB, InfluxDB, …) fed from the same MQTT topics. This module keeps only what the closed loop
needs: the last value and time per sensor and metric, whether it is in alarm, and the case its alarm opened
or merged into."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core import cache
from zhicheng.core.db import Base, UTCDateTime


class Sensor(Base):
    """One device. `code` is the device's own id (the one in its MQTT topic). The point is stored in WGS-84
    with the grid it falls in (assigned when the sensor is saved); its alarms are reported as `category_id`
    unless the rule that fired names another."""

    __tablename__ = "cityops_sensor"
    __table_args__ = (Index("ix_cityops_sensor_kind", "kind", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # manhole_cover_tilt, water_level, …
    lng: Mapped[float] = mapped_column(Double, nullable=False)
    lat: Mapped[float] = mapped_column(Double, nullable=False)
    grid_id: Mapped[int] = mapped_column(ForeignKey("cityops_grid.id"), nullable=False, index=True)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("cityops_category.id"), nullable=False)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class ThresholdRule(Base):
    """`<metric> <op> <value>` for every sensor of a kind (`sensor_kind`) or for one sensor (`sensor_id`,
    which then replaces the kind's rules for that metric). `hold` consecutive breaching readings raise the
    alarm (1 = the first one). `category_id` overrides the sensor's category for the case."""

    __tablename__ = "cityops_threshold_rule"
    __table_args__ = (
        Index("ix_cityops_threshold_rule_kind", "sensor_kind", "metric"),
        Index("ix_cityops_threshold_rule_sensor", "sensor_id", "metric"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sensor_kind: Mapped[str | None] = mapped_column(String(40))
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("cityops_sensor.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(40), nullable=False)
    op: Mapped[str] = mapped_column(String(2), nullable=False)  # > >= < <= == !=
    value: Mapped[float] = mapped_column(Double, nullable=False)
    hold: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("cityops_category.id"))
    severity: Mapped[str] = mapped_column(String(8), nullable=False, default="medium")  # low|medium|high
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class SensorState(Base):
    """The latest reading of a sensor's metric and its alarm. `breaches` counts consecutive breaching
    readings (for a rule's `hold`); `case_id` is the case the last alarm opened or merged into (kept after
    the return to normal, which closes the alarm, not the case)."""

    __tablename__ = "cityops_sensor_state"
    __audit_exempt__ = True  # the latest value, written in bulk; raising an alarm is audited (intake)

    sensor_id: Mapped[int] = mapped_column(
        ForeignKey("cityops_sensor.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[float] = mapped_column(Double, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    alarm: Mapped[bool] = mapped_column(nullable=False, default=False)
    breaches: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    alarm_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cityops_case.id"))


# the in-process sensor and rule tables (cityops.sensors) are rebuilt when this generation changes
cache.watch("sensors", Sensor.__tablename__, ThresholdRule.__tablename__)

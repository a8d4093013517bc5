"""City operations tables: the grid (grids, their departments and grid workers), the 部件/事件 categories
and routing rules, and the cases of the closed loop with their reporters, photos and timeline.

Due dates live on core.calendar clocks and are copied onto the case rows (`dispatch_due_on`,
`handle_due_on`), so that the overdue sweep and the "overdue" filter are index range scans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core import cache
from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class Grid(Base):
    """A 万米单元网格. `code` is 15 digits: the GB/T 2260 district (6), street (3) and community (3), then the
    grid's own number (3), so code[:12] is the community's division code. `org_id` is the government the
    grid belongs to for permissions: the community's, else the street's, else the district's.

    `geometry` is a GeoJSON Polygon or MultiPolygon in WGS-84; the bbox columns let a query pick the grids
    near a point or an area without reading any geometry. `area_m2` is computed from the geometry."""

    __tablename__ = "cityops_grid"
    __table_args__ = (Index("ix_cityops_grid_bbox", "min_lng", "max_lng", "min_lat", "max_lat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False, index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    min_lng: Mapped[float] = mapped_column(Double, nullable=False)
    min_lat: Mapped[float] = mapped_column(Double, nullable=False)
    max_lng: Mapped[float] = mapped_column(Double, nullable=False)
    max_lat: Mapped[float] = mapped_column(Double, nullable=False)
    area_m2: Mapped[float] = mapped_column(Double, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class GridDepartment(Base):
    """A department responsible for the cases in a grid (a grid may have several: 城管, 市政, 园林 …)."""

    __tablename__ = "cityops_grid_department"
    __table_args__ = (UniqueConstraint("grid_id", "org_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("cityops_grid.id", ondelete="CASCADE"), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False, index=True)


class GridWorker(Base):
    """A grid worker (网格员, a user) assigned to a grid."""

    __tablename__ = "cityops_grid_worker"
    __table_args__ = (UniqueConstraint("grid_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("cityops_grid.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


# Writes to these tables change the generations the in-process point index is checked against (cityops.index).
# Declared beside the tables, so that every process that can write them (API, CLI, worker) bumps them.
cache.watch("grids", Grid.__tablename__)
cache.watch("grid_duty", GridDepartment.__tablename__, GridWorker.__tablename__)


class Category(Base):
    """A 部件 (part) or 事件 (event) class of CJ/T 214: `code` is 大类 (2 digits) + 小类 (2 digits), unique
    within its kind (部件 0101 上水井盖 and 事件 0101 私搭乱建 are different classes). The time limits are
    working days: `dispatch_days` from 立案 to 派遣, `handle_days` from 派遣 to the department's feedback."""

    __tablename__ = "cityops_category"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # part | event
    code: Mapped[str] = mapped_column(String(4), nullable=False)
    major_name: Mapped[str] = mapped_column(String(60), nullable=False)  # 大类
    name: Mapped[str] = mapped_column(String(60), nullable=False)  # 小类
    dispatch_days: Mapped[int] = mapped_column(Integer, nullable=False)
    handle_days: Mapped[int] = mapped_column(Integer, nullable=False)
    closing_standard: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class RouteRule(Base):
    """Category × area → the department that handles it. `category_id` NULL matches every category; `area` is
    a prefix of the grid code (a division code of 6, 9 or 12 digits, or a 15-digit grid code; "" is the whole
    city). The most specific match wins: a named category before any, then the longest area."""

    __tablename__ = "cityops_route_rule"
    __table_args__ = (UniqueConstraint("category_id", "area"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("cityops_category.id"))
    area: Mapped[str] = mapped_column(String(15), nullable=False, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Case(Base):
    """案卷: one problem at one place, whatever the number of reports merged into it (cityops_reporter).

    status (vocab.STATUSES): reported → registered | cancelled → dispatched → handling → handled → closed
    (核查结案) → evaluated; returned (退回 to the command centre) and disputed (争议) wait for a new dispatch;
    rework (返工) is a failed check sent back to the department. The point is stored in WGS-84 with its H3
    cell (vocab.H3_RES) for the duplicate search. The number shown to people is derived from the id
    (see `number`)."""

    __tablename__ = "cityops_case"
    __table_args__ = (
        Index("ix_cityops_case_dup", "category_id", "h3", "reported_at"),
        Index("ix_cityops_case_status", "status", "id"),
        Index("ix_cityops_case_dept", "department_id", "status", "id"),
        Index("ix_cityops_case_grid", "grid_id", "id"),
        Index("ix_cityops_case_division", "division_code", "id"),
        Index("ix_cityops_case_dispatch_due", "status", "escalated_at", "dispatch_due_on"),
        Index("ix_cityops_case_handle_due", "status", "escalated_at", "handle_due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("cityops_category.id"), nullable=False)
    grid_id: Mapped[int] = mapped_column(ForeignKey("cityops_grid.id"), nullable=False)
    division_code: Mapped[str] = mapped_column(String(12), nullable=False)  # the community's code
    lng: Mapped[float] = mapped_column(Double, nullable=False)
    lat: Mapped[float] = mapped_column(Double, nullable=False)
    h3: Mapped[int] = mapped_column(BigInteger, nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    routed_department_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    report_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    reported_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    dispatched_on: Mapped[dt.date | None] = mapped_column(Date)
    handled_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    dispatch_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    dispatch_due_on: Mapped[dt.date | None] = mapped_column(Date)
    handle_clock_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("clock.id"))
    handle_due_on: Mapped[dt.date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column()  # feedback within the handle limit (set at closing)
    extension_requested: Mapped[int | None] = mapped_column(Integer)  # working days asked for, pending
    extension_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # granted in total
    rework_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # of the last cancel, return, dispute or failed check
    evaluation: Mapped[str | None] = mapped_column(String(12))  # excellent | good | poor (综合评价)
    work_order_no: Mapped[str | None] = mapped_column(String(40))  # 12345 工单号
    caller_name: Mapped[str | None] = mapped_column(String(60))
    caller_phone: Mapped[str | None] = mapped_column(String(20))
    callback_result: Mapped[str | None] = mapped_column(Text)  # 回访
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)  # 1..5
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str] = mapped_column(String(160), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

    @property
    def number(self) -> str:
        """The case number people quote: the Shanghai day it was reported and the id, e.g. 20261009-000123."""
        return f"{self.reported_on:%Y%m%d}-{self.id:06d}"


class Reporter(Base):
    """One report that made or merged into a case: who (a party, a login, an external id, a caller), by which
    channel, what they said and where. `client_token` is "<actor>|<Idempotency-Key>": a retry finds it."""

    __tablename__ = "cityops_reporter"
    __table_args__ = (Index("ix_cityops_reporter_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cityops_case.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    external_id: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    lng: Mapped[float] = mapped_column(Double, nullable=False)
    lat: Mapped[float] = mapped_column(Double, nullable=False)
    client_token: Mapped[str | None] = mapped_column(String(250), unique=True)
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Follower(Base):
    """A login that follows a case (a citizen who reported it through the app, or chose to follow it): told
    through core.notify of every public change."""

    __tablename__ = "cityops_follower"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cityops_case.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Blob(Base):
    """Photo content, once per SM3 digest, in the database: it commits or rolls back with its case."""

    __tablename__ = "cityops_blob"

    sm3: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Photo(Base):
    """A photo of a case: `stage` report (with a report), before / after (the department's, at handling)."""

    __tablename__ = "cityops_photo"
    __table_args__ = (Index("ix_cityops_photo_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cityops_case.id"), nullable=False)
    stage: Mapped[str] = mapped_column(String(8), nullable=False)
    sm3: Mapped[str] = mapped_column(ForeignKey("cityops_blob.sm3"), nullable=False)
    media_type: Mapped[str] = mapped_column(String(20), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    added_by: Mapped[str] = mapped_column(String(160), nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class CaseEvent(Base):
    """The timeline of a case. `public` events (the loop's steps, comments) are shown to reporters and sent
    to followers; internal ones (escalations, rework notes) to staff only."""

    __tablename__ = "cityops_event"
    __table_args__ = (Index("ix_cityops_event_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cityops_case.id"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # the case's status after the event
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    public: Mapped[bool] = mapped_column(nullable=False, default=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


from zhicheng.cityops import rollup_models as rollup_models  # noqa: E402,F401  (indicator roll-ups)
from zhicheng.cityops import sensor_models as sensor_models  # noqa: E402,F401  (the sensor tables)

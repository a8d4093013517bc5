"""Request and response shapes of the grid API. Coordinates in answers are in the system the caller asked
for (`crs`), except `bbox` in lists, which is WGS-84 as stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class GridOut(BaseModel):
    id: int
    code: str
    name: str
    org_id: int
    district_code: str
    street_code: str
    community_code: str
    area_m2: float
    bbox: list[float] = Field(description="[west, south, east, north], WGS-84")
    department_ids: list[int]
    worker_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime


class GridPage(BaseModel):
    items: list[GridOut]
    next_cursor: str | None = None


class DepartmentRef(BaseModel):
    id: int
    name: str


class WorkerRef(BaseModel):
    id: int
    username: str
    display_name: str


class GridDetail(GridOut):
    org_name: str
    departments: list[DepartmentRef]
    workers: list[WorkerRef]
    crs: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon in `crs`")


class ImportOut(BaseModel):
    crs: str = Field(description="the system the file was read in")
    count: int
    created: list[str]
    replaced: list[str]


class DepartmentsIn(BaseModel):
    org_ids: list[int] = Field(max_length=50, description="the departments responsible; replaces the set")


class WorkersIn(BaseModel):
    user_ids: list[int] = Field(max_length=200, description="the grid workers; replaces the set")


class PointOut(BaseModel):
    lng: float
    lat: float
    crs: str


class LocatedGrid(BaseModel):
    id: int
    code: str
    name: str
    org_id: int
    district_code: str
    street_code: str
    community_code: str
    department_ids: list[int]
    worker_ids: list[int]


class LocateOut(BaseModel):
    point: PointOut = Field(description="the point as given, in its own system")
    wgs84: PointOut = Field(description="the same point normalised to WGS-84")
    grid: LocatedGrid | None = Field(description="the grid containing the point; null when none does")


# --- categories and routing ----------------------------------------------------------------------------
class CategoryIn(BaseModel):
    kind: str = Field(pattern=r"^(part|event)$", description="part (部件) | event (事件)")
    code: str = Field(pattern=r"^\d{4}$", description="大类 (2 digits) + 小类 (2 digits), CJ/T 214")
    major_name: str = Field(min_length=1, max_length=60, description="大类 name, e.g. 公用设施")
    name: str = Field(min_length=1, max_length=60, description="小类 name, e.g. 上水井盖")
    dispatch_days: int = Field(1, ge=0, le=60, description="working days from 立案 to 派遣")
    handle_days: int = Field(3, ge=0, le=365, description="working days from 派遣 to feedback")
    closing_standard: str = Field("", max_length=2000, description="结案标准")
    active: bool = True


class CategoryOut(CategoryIn):
    id: int
    key: str = Field(description="<kind>:<code>, what reports name, e.g. event:0101")
    major_code: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleIn(BaseModel):
    category: str | None = Field(None, description="<kind>:<code>; null for every category")
    area: str = Field("", pattern=r"^(\d{6}|\d{9}|\d{12}|\d{15})?$", description="division or grid code")
    department_id: int


class CategoryImport(BaseModel):
    categories: list[CategoryIn] = Field(max_length=2000)
    rules: list[RuleIn] = Field(default_factory=list, max_length=5000)


class RuleOut(RuleIn):
    id: int
    category_id: int | None


class ImportResult(BaseModel):
    categories_created: int
    categories_updated: int
    rules: int


# --- cases ----------------------------------------------------------------------------------------------
class LocationIn(BaseModel):
    lng: float
    lat: float
    crs: str | None = Field(None, description="wgs84 (default) | cgcs2000 | gcj02 | bd09")


class ReporterIn(BaseModel):
    name: str | None = Field(None, max_length=60)
    phone: str | None = Field(None, max_length=20)
    external_id: str | None = Field(None, max_length=80, description="the channel's own id (device, account)")


class HotlineIn(BaseModel):
    work_order_no: str = Field(min_length=1, max_length=40, description="12345 工单号")
    caller_name: str | None = Field(None, max_length=60)
    caller_phone: str | None = Field(None, max_length=20)


class ReportIn(BaseModel):
    category: str = Field(description="<kind>:<code>, e.g. event:0101 (see GET /categories)")
    location: LocationIn
    address: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    reporter: ReporterIn | None = None
    hotline: HotlineIn | None = None
    reported_at: dt.datetime | None = Field(None, description="when observed (sensor, drone); default: now")


class ReportOut(BaseModel):
    case_id: int
    number: str
    status: str
    merged: bool = Field(description="true when the report joined an open case (a duplicate)")
    reporter_id: int
    replayed: bool = False


class CaseOut(BaseModel):
    id: int
    number: str
    channel: str
    category: str
    category_name: str
    grid_code: str
    division_code: str
    point: PointOut
    address: str
    description: str
    status: str
    department_id: int | None
    routed_department_id: int | None
    report_count: int
    reported_at: dt.datetime
    registered_on: dt.date | None
    dispatched_on: dt.date | None
    handled_on: dt.date | None
    closed_on: dt.date | None
    dispatch_due_on: dt.date | None
    handle_due_on: dt.date | None
    overdue: bool
    on_time: bool | None
    extension_requested: int | None
    extension_days: int
    rework_count: int
    reason: str | None
    evaluation: str | None
    work_order_no: str | None
    callback_result: str | None
    satisfaction: int | None
    escalated: bool


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = None


class EventOut(BaseModel):
    id: int
    at: dt.datetime
    kind: str
    status: str
    actor: str
    public: bool
    note: str
    data: dict[str, Any]


class ReporterOut(BaseModel):
    id: int
    channel: str
    name: str | None
    phone: str | None
    external_id: str | None
    text: str
    at: dt.datetime


class PhotoOut(BaseModel):
    id: int
    stage: str
    media_type: str
    size: int
    sm3: str
    added_at: dt.datetime


class CaseDetail(CaseOut):
    timeline: list[EventOut]
    reporters: list[ReporterOut]
    photos: list[PhotoOut]
    following: bool


class ActionIn(BaseModel):
    reason: str | None = Field(None, max_length=2000, description="why (cancel, return, dispute, reject)")
    note: str | None = Field(None, max_length=2000)
    department_id: int | None = Field(None, description="dispatch: the department; omitted → routing rule")
    days: int | None = Field(None, ge=1, le=60, description="extension: working days asked for")
    approve: bool | None = Field(None, description="extension: grant (true) or refuse (false)")
    evaluation: str | None = Field(None, pattern=r"^(excellent|good|poor)$")
    satisfaction: int | None = Field(None, ge=1, le=5, description="回访: 1 (very unhappy) .. 5")


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)

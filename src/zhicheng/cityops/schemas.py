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

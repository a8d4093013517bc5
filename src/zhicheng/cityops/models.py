"""The city grid: grids, their responsible departments and their grid workers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Double, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core import cache
from zhicheng.core.db import Base, JSONType, UTCDateTime


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

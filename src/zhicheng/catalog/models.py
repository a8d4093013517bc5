from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class CatalogClass(Base):
    """信息资源分类: 类 (1 digit) → 项 (2) → 目 (3) → 细目 (variable). `code` is the full prefix code,
    e.g. "1", "101", "101001", "10100101"."""

    __tablename__ = "catalog_class"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 类, 2 项, 3 目, 4 细目
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("catalog_class.code"), index=True)


class Resource(Base):
    """A data resource with the cataloguing guide's core metadata. `code` = class code + "/" + a
    6-digit sequence within the class (前段码/后段码)."""

    __tablename__ = "catalog_resource"
    __table_args__ = (
        Index("ix_catalog_resource_provider", "provider_org_id"),
        Index("ix_catalog_resource_class", "class_code"),
        Index("ix_catalog_resource_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    class_code: Mapped[str] = mapped_column(ForeignKey("catalog_class.code"), nullable=False)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    format: Mapped[str] = mapped_column(String(20), nullable=False)
    share_type: Mapped[str] = mapped_column(String(16), nullable=False)  # unconditional | conditional | none
    share_condition: Mapped[str | None] = mapped_column(Text)
    share_basis: Mapped[str | None] = mapped_column(Text)
    share_mode: Mapped[str] = mapped_column(String(16), nullable=False)  # api | file | table
    open_type: Mapped[str] = mapped_column(String(16), nullable=False)  # unconditional | conditional | none
    update_cycle: Mapped[str] = mapped_column(String(16), nullable=False)
    grade: Mapped[str] = mapped_column(String(16), nullable=False)  # general | important | core
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default="published"
    )  # published | retired
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class ResourceItem(Base):
    """信息项: one field of a resource, with its own sensitivity and sharing type."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    data_type: Mapped[str] = mapped_column(
        String(16), nullable=False
    )  # string | integer | decimal | date | ...
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sensitivity: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    share_type: Mapped[str] = mapped_column(String(16), nullable=False)


class ResourceVersion(Base):
    """Every change of a resource's metadata, kept whole: the history a resource page shows."""

    __tablename__ = "catalog_version"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    changed_fields: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)

"""Datasets (the data behind a resource), their loads, scheduled pulls and the usage roll-up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.core.db import Base, BigId, JSONType, UTCDateTime


class Dataset(Base):
    """The rows behind one catalog resource.

    hosted: rows live in the table `table_name` (columns c1…cn, see `columns`), replaced whole by a full
    load (a new table swapped in, so readers never see half a load) or appended to by incremental loads.
    proxied: every call is forwarded to `proxy_url` and the answer governed like hosted rows.
    `columns` maps each catalog item to its physical column: [{"item", "column", "type"}]. `version` grows
    with every change of shape or table, so per-process caches of compiled plans know when to rebuild.
    `loaded_at` is when the data last changed: timeliness is judged against it."""

    __tablename__ = "exchange_dataset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), nullable=False, unique=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # hosted | proxied
    table_name: Mapped[str | None] = mapped_column(String(63))
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    key_item: Mapped[str | None] = mapped_column(String(100))  # incremental loads replace rows by this item
    row_count: Mapped[int] = mapped_column(BigId, nullable=False, default=0)
    loaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    proxy_url: Mapped[str | None] = mapped_column(Text)
    proxy_token: Mapped[str | None] = mapped_column(Text)  # sent to the provider as a bearer token
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class DataLoad(Base):
    """One load into a hosted dataset (an upload or a pull), with its row-by-row report."""

    __tablename__ = "exchange_load"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("exchange_dataset.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # upload | pull
    filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    format: Mapped[str] = mapped_column(String(16), nullable=False)  # csv | xlsx | json | http | database
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # full | incremental
    rows_read: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False, default=list)
    digest: Mapped[str] = mapped_column(String(64), nullable=False, default="")  # SM3 of the file
    actor: Mapped[str] = mapped_column(String(160), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class PullSource(Base):
    """Where and how often a hosted dataset is pulled from the provider: an HTTP API answering JSON rows or a
    database query. incremental pulls ask only for rows whose `cursor_item` is past `cursor_value`."""

    __tablename__ = "exchange_pull"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("exchange_dataset.id"), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # http | database
    url: Mapped[str] = mapped_column(Text, nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False, default="")
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # full | incremental
    cursor_item: Mapped[str | None] = mapped_column(String(100))
    cursor_value: Mapped[str | None] = mapped_column(Text)
    every_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))  # ok | partial | failed
    last_error: Mapped[str | None] = mapped_column(Text)


class Usage(Base):
    """Calls and rows per day × grant, rolled up from the audit trail's exchange records (the trail is the
    truth; this table only makes the charts cheap). consumer_org_id 0 is the anonymous public."""

    __tablename__ = "exchange_usage"
    __audit_exempt__ = True

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    resource_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: anonymous reads of open data
    consumer_org_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows: Mapped[int] = mapped_column(BigId, nullable=False, default=0)


class RollupMark(Base):
    """How far the usage roll-up has read the audit trail (one row per roll-up)."""

    __tablename__ = "exchange_rollup"
    __audit_exempt__ = True

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_audit_id: Mapped[int] = mapped_column(BigId, nullable=False, default=0)

"""Request and response models of the exchange API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HostIn(BaseModel):
    key_item: str | None = Field(
        None, description="the item identifying a row; incremental loads replace by it"
    )


class ProxyIn(BaseModel):
    url: str = Field(..., max_length=2000, description="the provider's records endpoint (http or https)")
    token: str | None = Field(None, max_length=500, description="sent to the provider as a bearer token")


class LoadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    source: str
    filename: str
    format: str
    mode: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    report: list[dict[str, Any]]
    actor: str
    at: dt.datetime


class DatasetOut(BaseModel):
    resource_code: str
    mode: str  # none | hosted | proxied
    row_count: int = 0
    loaded_at: dt.datetime | None = None
    key_item: str | None = None
    proxy_url: str | None = None
    items: list[str] = []
    loads: list[LoadOut] = []


class UsageOut(BaseModel):
    day: dt.date
    resource_code: str
    resource_name: str
    consumer: str
    grant_id: int
    calls: int
    rows: int

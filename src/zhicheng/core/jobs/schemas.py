from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

Status = Literal["pending", "running", "done", "failed"]
STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed")


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None
    status: str
    due_at: dt.datetime
    attempts: int
    max_attempts: int
    locked_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class JobFilter(BaseModel):
    status: Status | None = None
    kind: str | None = None

    @field_validator("status", "kind", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        # the console's filter form sends "" for "all"
        return None if isinstance(v, str) and not v.strip() else v


class WorkerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    host: str
    pid: int
    started_at: dt.datetime
    seen_at: dt.datetime
    jobs_done: int
    alive: bool


class Summary(BaseModel):
    counts: dict[str, int]
    overdue: int
    workers: list[WorkerOut]

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    seq: int | None
    at: dt.datetime
    actor: str
    user_id: int | None
    org_id: int | None
    tag: str
    subject: str
    change: str
    change_digest: str
    prev_hash: str | None
    hash: str | None


class AuditFilter(BaseModel):
    tag: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class VerdictOut(BaseModel):
    ok: bool
    checked: int
    pending: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    seq: int | None = None
    id: int | None = None
    detail: str | None = None

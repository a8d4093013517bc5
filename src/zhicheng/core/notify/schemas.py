from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class MessageOut(BaseModel):
    """A site message as its recipient sees it."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    template: str
    title: str
    body: str
    data: dict[str, Any]
    source: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None


class Inbox(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = None
    unread: int


class ReadAllOut(BaseModel):
    marked: int


class OutboxOut(BaseModel):
    """A message as an operator sees it (addresses masked: the outbox is not a contact list)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    recipient_party_id: int | None
    recipient_user_id: int | None
    channel: str
    address: str | None
    template: str
    title: str
    dedupe_key: str | None
    source: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    external_id: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    dead_at: dt.datetime | None

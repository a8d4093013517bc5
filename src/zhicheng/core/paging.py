"""Keyset pagination: a page of items and an opaque cursor naming the last key seen."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from zhicheng.core.errors import Invalid

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise Invalid("分页游标无效", "invalid pagination cursor") from exc


def decode_id(cursor: str | None) -> int | None:
    """A cursor naming the last id seen (lists ordered by id)."""
    key = decode(cursor)
    if key is not None and (not isinstance(key, int) or isinstance(key, bool)):
        raise Invalid("分页游标无效", "invalid pagination cursor")
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"每页条数应在 1 到 {MAX_LIMIT} 之间", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def page(rows: Sequence[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """`rows` were fetched with limit + 1; returns the page and the cursor for the next one."""
    items = list(rows[:limit])
    return items, (encode(key(items[-1])) if len(rows) > limit else None)

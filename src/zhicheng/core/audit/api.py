from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from zhicheng.core.audit import queries, services
from zhicheng.core.audit.schemas import AuditFilter, AuditOut, VerdictOut
from zhicheng.core.auth import permissions as P
from zhicheng.core.paging import Page, decode_id, page
from zhicheng.web.deps import DB, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut])
@access(P.AUDIT_READ)
def list_records(
    s: Reader,
    f: Annotated[AuditFilter, Depends()],
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict:
    before = decode_id(cursor)
    rows = queries.records(s, f, limit + 1, before)
    items, nxt = page(rows, limit, lambda r: r.id)
    return {"items": items, "next_cursor": nxt}


@router.post("/verify", response_model=VerdictOut)
@access(P.AUDIT_READ)
def verify(db: DB) -> VerdictOut:
    return queries.verdict_out(services.verify(db))

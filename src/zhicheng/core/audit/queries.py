from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.schemas import AuditFilter, VerdictOut
from zhicheng.core.audit.services import Verdict


def records(s: Session, f: AuditFilter, limit: int = 50, before: int | None = None) -> list[AuditRecord]:
    """Newest first; a tag filter ending in ':' matches every tag that starts with it."""
    q = select(AuditRecord).order_by(AuditRecord.id.desc())
    if f.tag:
        q = q.where(AuditRecord.tag.startswith(f.tag) if f.tag.endswith(":") else AuditRecord.tag == f.tag)
    if f.actor:
        q = q.where(AuditRecord.actor.contains(f.actor))
    if f.subject:
        q = q.where(AuditRecord.subject == f.subject)
    if f.since:
        q = q.where(AuditRecord.at >= f.since)
    if f.until:
        q = q.where(AuditRecord.at < f.until)
    if before:
        q = q.where(AuditRecord.id < before)
    return list(s.scalars(q.limit(limit)))


def verdict_out(v: Verdict) -> VerdictOut:
    f = v.finding
    return VerdictOut(
        ok=v.ok,
        checked=v.checked,
        pending=v.pending,
        head_seq=v.head_seq,
        head_hash=v.head_hash,
        problem=f.problem if f else None,
        seq=f.seq if f else None,
        id=f.id if f else None,
        detail=f.detail if f else None,
    )

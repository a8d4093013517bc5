"""The credit blacklist (失信名单) that rules out 容缺受理: entries listed and lifted by supervisors, or
loaded from the credit system. The number is checked (resident ID / credit code) and kept as written there."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.approvals.models import BlacklistEntry
from zhicheng.approvals.schemas import REASON_MIN, BlacklistIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs import codes


def number_of(kind: str, id_number: str) -> str:
    return codes.resident_id(id_number) if kind == "citizen" else codes.credit_code(id_number)


def active_entry(s: Session, kind: str, id_number: str) -> BlacklistEntry | None:
    return s.scalar(select(BlacklistEntry).where(BlacklistEntry.open_key == f"{kind}:{id_number}"))


def add(uow: UnitOfWork, data: BlacklistIn, today: dt.date | None = None) -> BlacklistEntry:
    if len(data.reason.strip()) < REASON_MIN:
        raise Invalid(
            f"请说明列入理由（至少 {REASON_MIN} 个字）",
            f"state the reason (at least {REASON_MIN} characters)",
        )
    number = number_of(data.kind, data.id_number)
    s = uow.session
    if active_entry(s, data.kind, number) is not None:
        raise Conflict("该证件号码已在黑名单中", "this number is on the blacklist already")
    entry = BlacklistEntry(
        kind=data.kind,
        id_number=number,
        open_key=f"{data.kind}:{number}",
        reason=data.reason.strip(),
        source=data.source.strip(),
        listed_on=today or shanghai_today(),
        listed_by=uow.actor.label,
    )
    s.add(entry)
    s.flush()
    # the number is personal data: the audit trail keeps its last four characters
    uow.record(
        "approvals:blacklist:add",
        f"blacklist:{entry.id}",
        {"kind": data.kind, "id_tail": number[-4:], "source": entry.source},
    )
    return entry


def lift(uow: UnitOfWork, entry_id: int, reason: str) -> BlacklistEntry:
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"请说明移出理由（至少 {REASON_MIN} 个字）",
            f"state the reason (at least {REASON_MIN} characters)",
        )
    entry = uow.session.get(BlacklistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise NotFound(f"黑名单记录 {entry_id} 不存在", f"blacklist entry {entry_id} not found")
    if entry.open_key is None:
        raise Conflict("该记录已移出黑名单", "this entry is lifted already")
    entry.open_key, entry.lifted_at, entry.lift_reason = None, utcnow(), reason.strip()
    uow.record("approvals:blacklist:lift", f"blacklist:{entry.id}", {"reason": reason.strip()})
    return entry

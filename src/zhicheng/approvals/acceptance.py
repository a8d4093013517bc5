"""One-window acceptance (一窗受理): accept — with 容缺 when only 容缺-eligible non-core materials are
missing — or refuse with reasons. Acceptance starts the promised and statutory limits and sends the case into
its flow.

容缺受理 (Shenzhen's rule, DOMAIN.md): the supplement deadline is at most 20 working days and at least 2
working days shorter than the promised limit; an applicant on a credit blacklist gets no 容缺; if the
materials do not arrive in time the case ends (supervision.terminate_lapsed); no certificate before they
arrive (review.decide)."""

from __future__ import annotations

import datetime as dt

from zhicheng.approvals import blacklist, cases, checks, clocks, flows, review, wording
from zhicheng.approvals.schemas import REASON_MIN, AcceptIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.models import Party

RONGQUE_MAX_DAYS = 20
RONGQUE_MARGIN_DAYS = 2  # the supplement deadline ends at least this much before the promised limit


def rongque_days_allowed(promised_days: int) -> int:
    """The longest supplement deadline for an item with this promised limit (0: no 容缺 possible)."""
    return max(0, min(RONGQUE_MAX_DAYS, promised_days - RONGQUE_MARGIN_DAYS))


def acceptable(found: checks.Report, rongque: bool) -> list[str]:
    """The 容缺-eligible materials missing; Invalid when the case cannot be accepted so (a blocking problem,
    容缺 materials missing without `rongque`, or `rongque` with nothing missing)."""
    if found.blocking:
        first = found.blocking[0]
        raise Invalid(
            f"不能受理：{first.zh}；请要求申请人补正或不予受理",
            f"cannot accept: {first.en}; ask for corrections or refuse",
            problems=[p.shown() for p in found.blocking],
        )
    missing = found.missing_rongque
    if missing and not rongque:
        raise Invalid(
            f"尚缺 {len(missing)} 份可容缺材料：可容缺受理（rongque=true）或要求补正",
            f"{len(missing)} 容缺-eligible material(s) missing: accept with rongque=true or ask for "
            "corrections",
            missing=missing,
        )
    if rongque and not missing:
        raise Invalid("材料齐全，无需容缺受理", "nothing is missing; accept without 容缺")
    return missing


def accept(uow: UnitOfWork, case_id: int, data: AcceptIn, today: dt.date | None = None) -> object:
    today = today or shanghai_today()
    case = cases.lock(uow, case_id, data.version)
    cases.expect(case, "submitted")
    missing = acceptable(cases.report(uow.session, case), data.rongque)
    days = 0
    if data.rongque:
        party = uow.session.get(Party, case.party_id)
        entry = blacklist.active_entry(uow.session, party.kind, party.id_number) if party else None
        if entry is not None:
            raise Invalid(
                f"申请人列入信用黑名单（{entry.source}），不适用容缺受理，请要求补正",
                f"the applicant is on a credit blacklist ({entry.source}): no 容缺; ask for corrections",
            )
        allowed = rongque_days_allowed(case.promised_days)
        if allowed < 1:
            raise Invalid(
                f"承诺时限仅 {case.promised_days} 个工作日，不能容缺受理",
                f"the promised limit ({case.promised_days} working days) leaves no room for 容缺",
            )
        days = data.supplement_days or allowed
        if days > allowed:
            raise Invalid(
                f"补交期限最长 {allowed} 个工作日（不超过 {RONGQUE_MAX_DAYS} 日，且比承诺时限至少短 "
                f"{RONGQUE_MARGIN_DAYS} 日）",
                f"the supplement deadline is at most {allowed} working days ({RONGQUE_MAX_DAYS} at most and "
                f"{RONGQUE_MARGIN_DAYS} shorter than the promised limit)",
            )
    clocks.stop(uow, case.stage_clock_id, today)
    case.accepted_on = today
    clocks.start_limits(uow, case, today)
    if data.rongque:
        case.rongque, case.rongque_missing = True, list(missing)
        clocks.start_supplement(uow, case, today, days)
    note = data.note.strip()
    if data.rongque:
        cases.event(
            uow,
            case,
            "accepted_rongque",
            today,
            note or "容缺受理",
            missing=missing,
            supplement_due_on=case.supplement_due_on.isoformat() if case.supplement_due_on else None,
        )
        cases.tell(
            uow,
            case,
            "accepted_rongque",
            f"您的申请 {case.number} 已容缺受理，请于 {case.supplement_due_on} 前补交材料",
            f"application {case.number} accepted with 容缺; supplement by {case.supplement_due_on}",
            missing=missing,
        )
    else:
        cases.event(uow, case, "accepted", today, note or "受理")
        cases.tell(uow, case, "accepted", *wording.accepted_message(case.number))
    uow.record(
        "approvals:case:accept",
        f"case:{case.id}",
        {
            "rongque": data.rongque,
            "missing": missing,
            "supplement_days": days or None,
            "promised_due_on": case.promised_due_on.isoformat() if case.promised_due_on else None,
        },
    )
    flow = flows.parsed(flows.flow_of(uow.session, case))
    review.enter(uow, case, flow, flow.first.next or "", today)
    return case


def refuse(
    uow: UnitOfWork, case_id: int, reason: str, version: int | None = None, today: dt.date | None = None
):
    """不予受理, with reasons: before acceptance (also while the applicant was asked for corrections)."""
    today = today or shanghai_today()
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"请说明不予受理的理由（至少 {REASON_MIN} 个字）",
            f"state the reasons (at least {REASON_MIN} characters)",
        )
    case = cases.lock(uow, case_id, version)
    cases.expect(case, "submitted", "correcting")
    if case.accepted_on is not None:
        cases.expect(case, "submitted")  # a correction asked during review is not the window's to refuse
    cases.finish(uow, case, "refused", today, reason.strip())
    cases.event(uow, case, "refused", today, reason.strip())
    uow.record("approvals:case:refuse", f"case:{case.id}", {"reason": reason.strip()})
    cases.tell(
        uow,
        case,
        "refused",
        f"您的申请 {case.number} 不予受理：{reason.strip()}",
        f"application {case.number} refused: {reason.strip()}",
    )
    return case

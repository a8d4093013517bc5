"""补正 and supplements. The window (before acceptance) or the reviewing department (after it) asks the
applicant, all at once (一次性告知), to correct named materials and fields: the clocks pause until the
applicant has supplied every one of them. 容缺 materials arrive the same way; once all are in, the
supplement clock stops and the decision may issue the certificate."""

from __future__ import annotations

import datetime as dt

from zhicheng.approvals import cases, checks, clocks, files, flows
from zhicheng.approvals.flowdef import REVIEWS
from zhicheng.approvals.models import Case
from zhicheng.approvals.schemas import REASON_MIN, CorrectionIn, SupplyIn
from zhicheng.approvals.vocab import OPEN_STATUSES, PAUSE_REASONS
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork
from zhicheng.core.errors import Conflict, Invalid


def request(uow: UnitOfWork, case_id: int, data: CorrectionIn, today: dt.date | None = None) -> Case:
    today = today or shanghai_today()
    if len(data.note.strip()) < REASON_MIN:
        raise Invalid(
            f"请一次性说明需补正的内容和理由（至少 {REASON_MIN} 个字）",
            f"state everything to correct and why (at least {REASON_MIN} characters)",
        )
    if not data.materials and not data.fields:
        raise Invalid("请列出需补正的材料或表单字段", "name the materials or form fields to correct")
    case = cases.lock(uow, case_id, data.version)
    cases.expect(case, "submitted", "in_progress")
    if case.status == "in_progress":
        stage = flows.parsed(flows.flow_of(uow.session, case)).stage(case.stage)
        if stage.kind not in (*REVIEWS, "decide"):
            raise Conflict("该环节不能要求补正", "corrections cannot be asked for in this stage")
    snap = cases.item_snapshot(uow.session, case)
    known_m = {m["code"] for m in snap.get("materials", [])}
    known_f = {f["key"] for f in snap.get("form", [])}
    unknown = [c for c in data.materials if c not in known_m] + [k for k in data.fields if k not in known_f]
    if unknown:
        raise Invalid(
            f"事项没有这些材料或字段：{'、'.join(unknown)}", f"the item has no materials or fields {unknown}"
        )
    resume_to = case.status
    clocks.pause(uow, case, today, PAUSE_REASONS["correction"])
    case.status, case.pause_reason = "correcting", "correction"
    case.correction = {
        "materials": list(dict.fromkeys(data.materials)),
        "fields": list(dict.fromkeys(data.fields)),
        "note": data.note.strip(),
        "on": today.isoformat(),
        "resume_to": resume_to,
    }
    cases.touch(case)
    cases.event(
        uow, case, "correction", today, data.note.strip(), materials=data.materials, fields=data.fields
    )
    uow.record("approvals:case:correction", f"case:{case.id}", {k: v for k, v in case.correction.items()})
    cases.tell(
        uow,
        case,
        "correction",
        f"您的申请 {case.number} 需要补正：{data.note.strip()}",
        f"application {case.number} needs corrections: {data.note.strip()}",
        materials=data.materials,
        fields=data.fields,
    )
    return case


def supply(uow: UnitOfWork, case_id: int, data: SupplyIn, today: dt.date | None = None) -> Case:
    """The applicant hands in corrected or missing materials and fields. Each file is checked against its
    material; what is still missing is listed by `cases.report`. Corrections resume the clocks once every
    requested piece is in; the last 容缺 material stops the supplement clock."""
    today = today or shanghai_today()
    s = uow.session
    case = cases.lock(uow, case_id)
    pending_rq = case.rongque and case.supplements_done_on is None
    if not (case.status in ("submitted", "correcting") or (pending_rq and case.status in OPEN_STATUSES)):
        raise Conflict(
            f"办件 {case.number} 当前无需补交材料", f"case {case.number} is not waiting for materials"
        )
    snap = cases.item_snapshot(s, case)
    asked = case.correction or {}
    allowed_m = {m["code"] for m in snap.get("materials", [])}
    allowed_f = {f["key"] for f in snap.get("form", [])}
    if case.status != "submitted":
        allowed_m = set(asked.get("materials", [])) | set(case.rongque_missing if pending_rq else [])
        allowed_f = set(asked.get("fields", []))
    extra = [c for c in data.materials if c not in allowed_m] + [k for k in data.form if k not in allowed_f]
    if extra:
        raise Invalid(f"这些材料或字段无需补交：{'、'.join(extra)}", f"not asked for: {extra}")
    if not data.materials and not data.form:
        raise Invalid("请提交补正的材料或字段", "nothing supplied")
    uploads = {code: files.owned(s, uid, uow.actor.label) for code, uid in data.materials.items()}
    materials = {m["code"]: m for m in snap.get("materials", [])}
    fields = {f["key"]: f for f in snap.get("form", [])}
    problems = [p for c, u in uploads.items() if (p := checks.check_file(materials[c], u))]
    problems += [p for k, v in data.form.items() if (p := checks.check_field(fields[k], v))]
    if problems:
        checks.Report(problems).raise_blocking()
    cases.attach(uow, case, snap, uploads, supplement=True)
    case.form = {**case.form, **data.form}
    cases.touch(case)
    cases.event(uow, case, "supplied", today, "补交材料", materials=sorted(uploads), fields=sorted(data.form))
    uow.record(
        "approvals:case:supply",
        f"case:{case.id}",
        {"materials": sorted(uploads), "fields": sorted(data.form)},
    )
    if case.status == "correcting":
        supplied = set(asked.get("supplied", [])) | set(uploads) | set(data.form)
        case.correction = {**asked, "supplied": sorted(supplied)}
        if set(asked.get("materials", [])) | set(asked.get("fields", [])) <= supplied:
            _resume(uow, case, today)
    if pending_rq and not [c for c in case.rongque_missing if c not in cases.current_materials(s, case.id)]:
        case.supplements_done_on = today
        clocks.stop(uow, case.supplement_clock_id, today)
        cases.event(uow, case, "supplements_done", today, "容缺材料已补齐")
        uow.record("approvals:case:supplements", f"case:{case.id}", {"on": today.isoformat()})
        cases.tell(
            uow,
            case,
            "supplements_done",
            f"办件 {case.number} 的容缺材料已补齐",
            f"case {case.number}: 容缺 materials complete",
        )
    return case


def _resume(uow: UnitOfWork, case: Case, today: dt.date) -> None:
    back = (case.correction or {}).get("resume_to", "in_progress")
    clocks.resume(uow, case, today)
    case.status, case.pause_reason, case.correction = back, None, None
    cases.event(uow, case, "resumed", today, "补正完成，恢复计时")
    uow.record(
        "approvals:case:resume",
        f"case:{case.id}",
        {
            "reason": "correction",
            "promised_due_on": case.promised_due_on.isoformat() if case.promised_due_on else None,
        },
    )
    cases.tell(
        uow,
        case,
        "resumed",
        f"办件 {case.number} 补正完成，恢复办理",
        f"case {case.number}: corrections complete",
    )

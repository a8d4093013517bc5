"""The flow after acceptance: stages open their tasks (a joint review opens one per department, together), a
stage ends when all its tasks are concluded and then moves on — or, if a department rejected, does what the
stage's `on_reject` says. The decision issues the certificate (hooks) and stops the limits; delivery ends the
case. Hearings, testing, inspection, quarantine and expert review pause the clocks (行政许可法 Art. 45).

Every task conclusion is a conditional update on the task's status and version, made while the case row is
locked (cases.lock): two reviewers acting on one task at once — one wins, the other gets 409."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from zhicheng.approvals import cases, clocks, flows, hooks, wording
from zhicheng.approvals.flowdef import KINDS, QUEUE, REVIEWS, Flow, Stage, stage_orgs
from zhicheng.approvals.models import Case, ServiceItem, Task
from zhicheng.approvals.schemas import REASON_MIN
from zhicheng.approvals.vocab import DELIVERY, PAUSE_REASONS
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org, Party

# Statements of every step, built once: constructing a statement costs more than running it on SQLite.
_ORG_NAMES = select(Org.id, Org.name).where(Org.id.in_(bindparam("ids", expanding=True)))
_TASK_CASE = select(Task.case_id).where(Task.id == bindparam("id"))
_CASE_TASKS = (
    select(Task)
    .where(Task.case_id == bindparam("case"))
    .order_by(Task.id)
    .execution_options(populate_existing=True)
)
_CASE_TASKS_NAMED = _CASE_TASKS.add_columns(Org.name).outerjoin(Org, Org.id == Task.org_id)


def enter(
    uow: UnitOfWork, case: Case, flow: Flow, stage_id: str, today: dt.date, tasks: list[Task] | None = None
) -> None:
    """Put the case into a stage: its clock started and its tasks opened (one per acting organization).
    `tasks`: every task of the case, read after it was locked, when the caller has them (to number the
    round)."""
    s = uow.session
    stage = flow.stage(stage_id)
    snap = cases.item_snapshot(s, case)
    orgs = stage_orgs(stage, case.window_org_id, snap.get("deciding_org_id") or snap["org_id"])
    if tasks is None:
        last = s.scalar(select(func.max(Task.round)).where(Task.case_id == case.id, Task.stage == stage.id))
    else:
        last = max((t.round for t in tasks if t.stage == stage.id), default=None)
    round_ = (last or 0) + 1
    clock = clocks.start_stage(uow, case, stage.id, round_, today, stage.days)
    case.stage = stage.id
    case.status = "delivering" if stage.kind == "deliver" else "in_progress"
    cases.touch(case)
    now = utcnow()
    opened = dict(
        case_id=case.id,
        stage=stage.id,
        kind=stage.kind,
        queue=QUEUE[stage.kind],
        round=round_,
        status="open",
        version=1,
        clock_id=clock.id,
        due_on=clock.due_on,
        opened_at=now,
    )
    s.execute(insert(Task), [opened | {"org_id": org_id} for org_id in orgs])  # one statement for all
    names = dict(s.execute(_ORG_NAMES, {"ids": orgs}).all())
    cases.event(
        uow,
        case,
        "stage",
        today,
        wording.stage_entered(stage, (names.get(o, str(o)) for o in orgs)),
        stage_kind=stage.kind,
        orgs=orgs,
        round=round_,
        due_on=clock.due_on.isoformat(),
    )
    cases.tell(
        uow,
        case,
        "stage",
        *wording.stage_message(case.number, stage),
        stage=stage.id,
        due_on=clock.due_on.isoformat(),
    )
    uow.record(
        "approvals:case:stage",
        f"case:{case.id}",
        {
            "stage": stage.id,
            "kind": stage.kind,
            "orgs": orgs,
            "round": round_,
            "due_on": clock.due_on.isoformat(),
        },
    )


def conclude(
    uow: UnitOfWork,
    task_id: int,
    approve: bool,
    reason: str = "",
    version: int | None = None,
    today: dt.date | None = None,
) -> Task:
    """A department's review conclusion. The stage moves on once every department has concluded."""
    today = today or shanghai_today()
    s = uow.session
    case_id = s.scalar(_TASK_CASE, {"id": task_id})
    if case_id is None:
        raise task_not_found(task_id)
    case = cases.lock(uow, case_id)
    # the case's tasks, read now that it is locked: this one, the others of its stage and the rounds so far
    rows = s.execute(_CASE_TASKS_NAMED, {"case": case.id}).all()
    tasks = [t for t, _ in rows]
    task, org_name = next((t, name) for t, name in rows if t.id == task_id)  # tasks are never deleted
    check_review_task(task)
    _conclude(uow, case, task, approve, reason, version)
    cases.event(
        uow,
        case,
        "reviewed",
        today,
        wording.reviewed(org_name or str(task.org_id), approve, reason),
        task=task.id,
        org_id=task.org_id,
        approve=approve,
    )
    uow.record(
        f"approvals:task:{'approve' if approve else 'reject'}",
        f"task:{task.id}",
        {"case": case.id, "stage": task.stage, "org_id": task.org_id, "reason": reason.strip()},
    )
    _settle(uow, case, task, tasks, today)
    return task


def task_not_found(task_id: int) -> NotFound:
    return NotFound(f"审查任务 {task_id} 不存在", f"task {task_id} not found")


def check_review_task(task: Any) -> None:
    if task.queue != "review":
        raise Conflict("该任务不是审查任务", "this task is not a review task")


def check_open(case: Any, task: Any, version: int | None) -> None:
    """Conflict unless `task` can be concluded now: the case running, the task open and as the caller saw it
    (a Case and Task, or rows read as them)."""
    if case.status in ("correcting", "suspended"):
        raise Conflict(
            f"办件 {case.number} 暂停计时中（补正、听证、检测或专家评审），恢复后再办理",
            f"case {case.number} is paused; conclude once it resumes",
        )
    if task.status != "open" or (version is not None and version != task.version):
        by = f"（{task.concluded_by}）" if task.concluded_by else ""
        raise Conflict(
            f"任务 {task.id} 已被办理{by}或已变更，请刷新后重试",
            f"task {task.id} was concluded or changed; reload",
        )


def check_decidable(case: Any, stage: Stage, approve: bool) -> None:
    """Conflict unless the case is at its decision, and, for an approval, has every 容缺 material in."""
    if stage.kind != "decide":
        raise Conflict(
            f"办件 {case.number} 在“{stage.name}”环节，尚未到决定环节",
            f"case {case.number} is in stage {stage.id}, not decide",
        )
    if approve and case.rongque and case.supplements_done_on is None:
        raise Conflict(
            "容缺材料尚未补齐，不能作出准予决定或出具证照",
            "the 容缺 materials have not arrived: no approval and no certificate before they do",
        )


def decision_task(tasks: list[Any], stage: Stage) -> Any:
    """The open task of the decision stage among the case's tasks; Conflict when it was concluded."""
    task = next((t for t in tasks if t.stage == stage.id and t.status == "open"), None)
    if task is None:
        raise Conflict("决定任务已办理", "the decision was made already")
    return task


def check_delivery(method: str, tracking_no: str | None) -> None:
    if method not in DELIVERY:
        raise Invalid("送达方式应为 online、window 或 mail", "method: online, window or mail")
    if method == "mail" and not tracking_no:
        raise Invalid("邮寄送达须填写快递单号", "mail delivery needs a tracking number")


def _conclude(
    uow: UnitOfWork, case: Case, task: Task, approve: bool, reason: str, version: int | None
) -> None:
    check_open(case, task, version)
    if not approve and len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"不同意须说明理由（至少 {REASON_MIN} 个字）",
            f"a rejection states its reasons ({REASON_MIN}+ characters)",
        )
    done = uow.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == "open", Task.version == task.version)
        .values(
            status="approved" if approve else "rejected",
            version=task.version + 1,
            concluded_at=utcnow(),
            concluded_by=uow.actor.label,
            reason=reason.strip() or None,
        )
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        raise Conflict(
            f"任务 {task.id} 已被他人办理，请刷新", f"task {task.id} was concluded by someone else"
        )


def _settle(uow: UnitOfWork, case: Case, task: Task, tasks: list[Task], today: dt.date) -> None:
    """After `task` was concluded: once its stage's round has no open task, the case moves on. `tasks`: every
    task of the case, as they stand (the conclusion updated `task` in the session)."""
    s = uow.session
    round_ = [t for t in tasks if t.stage == task.stage and t.round == task.round]
    if any(t.status == "open" for t in round_):
        return
    flow = flows.parsed(flows.flow_of(s, case))
    stage = flow.stage(task.stage)
    clocks.stop(uow, case.stage_clock_id, today)
    rejected = [t for t in round_ if t.status == "rejected"]
    if not rejected:
        enter(uow, case, flow, stage.next or "", today, tasks)
        return
    reasons = "；".join(t.reason or "" for t in rejected)
    if stage.on_reject.action == "return":
        cases.event(
            uow,
            case,
            "returned",
            today,
            f"审查不通过，退回{flow.stage(stage.on_reject.to or '').name}环节：{reasons}",
        )
        uow.record("approvals:case:return", f"case:{case.id}", {"from": stage.id, "to": stage.on_reject.to})
        enter(uow, case, flow, stage.on_reject.to or "", today, tasks)
        return
    _reject(uow, case, reasons, today)


def _reject(uow: UnitOfWork, case: Case, reasons: str, today: dt.date) -> None:
    case.outcome, case.decided_on = "rejected", today
    clocks.stop_limits(uow, case, today)
    cases.finish(uow, case, "rejected", today, reasons)
    cases.event(uow, case, "decided", today, f"不予许可：{reasons}", outcome="rejected")
    uow.record("approvals:case:reject", f"case:{case.id}", {"reasons": reasons})
    cases.tell(
        uow,
        case,
        "rejected",
        f"您的申请 {case.number} 不予许可：{reasons}",
        f"application {case.number} rejected: {reasons}",
    )


def decide(
    uow: UnitOfWork,
    case_id: int,
    approve: bool,
    reason: str = "",
    version: int | None = None,
    today: dt.date | None = None,
) -> Case:
    """准予 / 不予许可. An approval needs every 容缺 material in: no certificate before they arrive."""
    today = today or shanghai_today()
    s = uow.session
    case = cases.lock(uow, case_id, version)
    cases.expect(case, "in_progress", "suspended", "correcting")
    flow = flows.parsed(flows.flow_of(s, case))
    stage = flow.stage(case.stage)
    check_decidable(case, stage, approve)
    # the case's tasks, read now that it is locked: the decision's, and the rounds so far (enter)
    tasks = list(s.scalars(_CASE_TASKS, {"case": case.id}))
    task = decision_task(tasks, stage)
    _conclude(uow, case, task, approve, reason, None)
    if not approve:
        clocks.stop(uow, case.stage_clock_id, today)
        _reject(uow, case, reason.strip(), today)
        return case
    case.outcome, case.decided_on = "approved", today
    clocks.stop_limits(uow, case, today, with_stage=True)
    snap = cases.item_snapshot(s, case)
    if snap.get("certificate_type"):
        item = s.get(ServiceItem, case.item_id)
        party = s.get(Party, case.party_id)
        case.certificate_no = hooks.issue_certificate(
            uow,
            hooks.Decision(
                case_id=case.id,
                case_number=case.number,
                item_code=item.code,
                item_name=snap["name"],
                certificate_type=snap["certificate_type"],
                result_name=snap.get("result_name") or snap["certificate_type"],
                holder_kind=party.kind,
                holder_id_number=party.id_number,
                holder_name=party.name,
                issuing_org_id=snap["org_id"],
                deciding_org_id=snap.get("deciding_org_id") or snap["org_id"],
                decided_on=today,
                form=dict(case.form),
            ),
        )
    cases.event(
        uow,
        case,
        "decided",
        today,
        wording.approved(reason),
        outcome="approved",
        certificate_no=case.certificate_no,
    )
    uow.record("approvals:case:approve", f"case:{case.id}", {"certificate_no": case.certificate_no})
    cases.tell(
        uow, case, "approved", *wording.approved_message(case.number), certificate_no=case.certificate_no
    )
    if stage.next:
        enter(uow, case, flow, stage.next, today, tasks)
    else:
        cases.finish(uow, case, "completed", today)
    return case


def deliver(
    uow: UnitOfWork,
    case_id: int,
    method: str,
    tracking_no: str | None = None,
    note: str = "",
    today: dt.date | None = None,
) -> Case:
    today = today or shanghai_today()
    check_delivery(method, tracking_no)
    case = cases.lock(uow, case_id)
    cases.expect(case, "delivering")
    s = uow.session
    s.execute(
        update(Task)
        .where(Task.case_id == case.id, Task.stage == case.stage, Task.status == "open")
        .values(status="done", concluded_at=utcnow(), concluded_by=uow.actor.label, version=Task.version + 1)
        .execution_options(synchronize_session="fetch")
    )
    case.delivery_method, case.tracking_no = method, tracking_no
    cases.finish(uow, case, "completed", today)
    cases.event(
        uow,
        case,
        "delivered",
        today,
        wording.delivered(method, tracking_no, note),
        method=method,
    )
    uow.record("approvals:case:deliver", f"case:{case.id}", {"method": method, "tracking_no": tracking_no})
    cases.tell(
        uow, case, "delivered", *wording.delivered_message(case.number, method), tracking_no=tracking_no
    )
    return case


def pause(uow: UnitOfWork, case_id: int, reason: str, note: str, today: dt.date | None = None) -> Case:
    """Stop the clocks for a hearing, testing, inspection, quarantine or expert review."""
    today = today or shanghai_today()
    if reason not in PAUSE_REASONS or reason == "correction":
        raise Invalid(
            "暂停原因应为听证、检验检测、检查勘验、检疫或专家评审",
            "reason: hearing, testing, inspection, quarantine or expert_review",
        )
    case = cases.lock(uow, case_id)
    cases.expect(case, "in_progress")
    stage = flows.parsed(flows.flow_of(uow.session, case)).stage(case.stage)
    if stage.kind not in (*REVIEWS, "decide"):
        raise Conflict(f"{KINDS[stage.kind]}环节不能暂停计时", f"the {stage.kind} stage cannot pause")
    clocks.pause(uow, case, today, PAUSE_REASONS[reason])
    case.status, case.pause_reason = "suspended", reason
    cases.touch(case)
    cases.event(uow, case, "paused", today, f"{PAUSE_REASONS[reason]}：{note.strip()}", reason=reason)
    uow.record("approvals:case:pause", f"case:{case.id}", {"reason": reason, "note": note.strip()})
    cases.tell(
        uow,
        case,
        "paused",
        f"您的办件 {case.number} 因{PAUSE_REASONS[reason]}暂停计时",
        f"case {case.number} paused: {reason}",
    )
    return case


def resume(uow: UnitOfWork, case_id: int, today: dt.date | None = None) -> Case:
    today = today or shanghai_today()
    case = cases.lock(uow, case_id)
    cases.expect(case, "suspended")
    reason = case.pause_reason
    clocks.resume(uow, case, today)
    case.status, case.pause_reason = "in_progress", None
    cases.touch(case)
    cases.event(
        uow, case, "resumed", today, f"{PAUSE_REASONS.get(reason or '', '')}结束，恢复计时", reason=reason
    )
    uow.record(
        "approvals:case:resume",
        f"case:{case.id}",
        {
            "reason": reason,
            "promised_due_on": case.promised_due_on.isoformat() if case.promised_due_on else None,
        },
    )
    cases.tell(uow, case, "resumed", f"您的办件 {case.number} 恢复计时", f"case {case.number} resumed")
    return case

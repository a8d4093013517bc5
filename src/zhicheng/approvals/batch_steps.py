"""The common steps of a case on a batch's rows (batch_state): submit, accept, conclude (approve), decide
(approve) and deliver, with the rules, rows, timeline events, messages and audit records the services make
(cases, acceptance, review, clocks; core.calendar for the clocks). tests/approvals/test_batch.py runs the
same cases through both and compares every row.

A step checks everything before it changes anything, so an error leaves the batch's rows as they were. What
this path does not do it hands back (Defer) to the services, which run it alone after the batch: 容缺,
uploads, rejections, certificates, clocks that were ever paused, and any notifier or issuer other than the
platform's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zhicheng.approvals import checks, hooks, wiring
from zhicheng.approvals.batch_state import CASES, CLOCKS, TASKS, State
from zhicheng.approvals.cases import _File
from zhicheng.approvals.clocks import CASE, STAGE
from zhicheng.approvals.flowdef import QUEUE, Flow, stage_orgs
from zhicheng.approvals.vocab import CASE_STATUS, DELIVERY
from zhicheng.core.audit.services import entry
from zhicheng.core.calendar.clock import Calendar
from zhicheng.core.db import Actor, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound


class Defer(Exception):
    """This step is the services' to run (alone, after the batch)."""


def own_hooks_only() -> bool:
    """The lean path writes the platform's own message row and issues no certificate: it applies only while
    those are the hooks wired (tests may add others)."""
    return hooks.NOTIFIERS == [wiring.tell]


class Steps:
    def __init__(self, st: State, cal: Calendar) -> None:
        self.st, self.cal = st, cal
        self.new_tasks: set[int] = set()
        self.new_clocks: set[int] = set()
        self.new_cases: set[int] = set()

    # --- what every step shares (cases.py) ------------------------------------------------------------

    def lock(self, case_id: int, version: int | None = None) -> dict[str, Any]:
        case = self.st.cases.get(case_id)
        if case is None:
            raise NotFound(f"办件 {case_id} 不存在", f"case {case_id} not found")
        if version is not None and version != case["version"]:
            raise Conflict(
                f"办件 {case['number']} 已被他人处理（版本 {case['version']}），请刷新后重试",
                f"case {case['number']} has changed (version {case['version']}); reload and try again",
            )
        return case

    @staticmethod
    def expect(case: dict[str, Any], *statuses: str) -> None:
        if case["status"] not in statuses:
            shown = CASE_STATUS.get(case["status"], case["status"])
            raise Conflict(
                f"办件 {case['number']} 当前为“{shown}”，不能进行此操作",
                f"case {case['number']} is {case['status']}; this step does not apply",
            )

    def no_paused_clocks(self, case: dict[str, Any]) -> None:
        ids = (
            case[k]
            for k in ("stage_clock_id", "promised_clock_id", "statutory_clock_id", "supplement_clock_id")
        )
        if any(i in self.st.paused_clocks for i in ids if i):
            raise Defer

    def changed(self, case: dict[str, Any]) -> None:
        if case["id"] not in self.new_cases:
            self.st.changed_cases.add(case["id"])

    def touch(self, case: dict[str, Any]) -> None:
        case["version"] += 1
        case["updated_at"] = utcnow()
        self.changed(case)

    def event(self, a: Actor, case: dict[str, Any], kind: str, on: dt.date, note: str, **data: Any) -> None:
        self.st.events.append(
            {
                "case_id": case["id"],
                "at": utcnow(),
                "day": on,
                "kind": kind,
                "stage": case["stage"],
                "actor": a.label,
                "public": True,
                "note": note,
                "data": data,
            }
        )

    def tell(self, case: dict[str, Any], kind: str, zh: str, en: str, **data: Any) -> None:
        notice = hooks.Notice(case["id"], case["number"], case["party_id"], kind, zh, en, data)
        self.st.notices.append(wiring.message_row(notice))

    def record(self, a: Actor, tag: str, subject: str, change: dict[str, Any]) -> None:
        self.st.audit.append(entry(a, tag, subject, change))

    def task_changed(self, task: dict[str, Any]) -> None:
        if task["id"] not in self.new_tasks:
            self.st.changed_tasks[task["id"]] = task

    # --- clocks (clocks.py, core.calendar) -------------------------------------------------------------

    def start_clock(self, a: Actor, owner: str, subject: str, on: dt.date, days: int) -> dict[str, Any]:
        deadline = self.cal.add_workdays(on, days)
        clock = {
            "id": self.st.next_id(CLOCKS),
            "owner": owner,
            "subject": subject,
            "started_on": on,
            "budget_days": days,
            "due_on": deadline.date,
            "provisional": deadline.provisional,
            "state": "running",
            "stopped_on": None,
        }
        self.st.clocks[clock["id"]] = clock
        self.st.new_clocks.append(clock)
        self.new_clocks.add(clock["id"])
        self.record(
            a,
            "calendar:clock:start",
            f"clock:{clock['id']}",
            {
                "owner": owner,
                "subject": subject,
                "started_on": on.isoformat(),
                "budget_days": days,
                "due_on": clock["due_on"].isoformat(),
                "provisional": clock["provisional"],
            },
        )
        return clock

    def stop_clocks(self, a: Actor, ids: list[int | None], on: dt.date) -> list[dict[str, Any]]:
        """core.calendar.stop_running for clocks never paused: a running clock stops on `on` (or its start, if
        later), its due date recomputed quietly; returns the clocks found."""
        found = [self.st.clocks[i] for i in dict.fromkeys(i for i in ids if i) if i in self.st.clocks]
        for clock in found:
            if clock["state"] == "stopped":
                continue
            day = max(on, clock["started_on"])
            deadline = self.cal.due_with_pauses(clock["started_on"], clock["budget_days"], [])
            clock["due_on"], clock["provisional"] = deadline.date, deadline.provisional
            clock["state"], clock["stopped_on"] = "stopped", day
            if clock["id"] not in self.new_clocks:
                self.st.changed_clocks.add(clock["id"])
            self.record(
                a,
                "calendar:clock:stop",
                f"clock:{clock['id']}",
                {"on": day.isoformat(), "due_on": clock["due_on"].isoformat()},
            )
        return found

    def sync(self, case: dict[str, Any], known: list[dict[str, Any]]) -> None:
        """clocks.sync: the due dates of the clocks onto the case and onto its stage's open tasks."""
        due = {c["id"]: c["due_on"] for c in known}
        for k in ("promised", "statutory"):
            case[f"{k}_due_on"] = due.get(case[f"{k}_clock_id"], case[f"{k}_due_on"])
        before = case["stage_due_on"]
        case["stage_due_on"] = due.get(case["stage_clock_id"], before)
        if case["supplements_done_on"] is None:
            case["supplement_due_on"] = due.get(case["supplement_clock_id"], case["supplement_due_on"])
        self.changed(case)
        if case["stage_clock_id"] in due and case["stage_due_on"] != before:
            for t in self.st.tasks[case["id"]]:
                if t["clock_id"] == case["stage_clock_id"] and t["status"] == "open":
                    t["due_on"] = case["stage_due_on"]
                    self.task_changed(t)

    # --- the steps --------------------------------------------------------------------------------------

    def submit(self, a: Actor, data: Any, party_id: int, token: str | None, on: dt.date) -> tuple[dict, bool]:
        st = self.st
        if data.materials:
            raise Defer  # uploads are checked and attached by the services
        party = st.parties.get(party_id)
        if party is None:
            raise NotFound("登录账号关联的办事人不存在", "the party linked to this login does not exist")
        if token:
            found = st.tokens.get((party_id, token))
            if found is not None:
                if st.item_codes.get(found["item_id"]) != data.item_code:
                    raise Conflict(
                        "同一幂等键已用于另一事项的申请，请换一个键",
                        "this idempotency key was used for another item's application",
                    )
                return found, False
        item = st.items.get(data.item_code)
        if item is None or item["status"] != "active":
            raise NotFound(
                f"事项 {data.item_code} 不存在或已停用", f"service item {data.item_code} not found or retired"
            )
        latest = st.latest_flows.get(item["flow_code"])
        if latest is None:
            raise Invalid(f"办理流程 {item['flow_code']} 不存在", f"flow {item['flow_code']} does not exist")
        flow: Flow = latest["flow"]
        snap = st.snapshots[(item["id"], item["version"])]
        checks.check(snap, data.form, {}).raise_blocking()
        accept = flow.first
        window = stage_orgs(accept, item["org_id"], item["deciding_org_id"] or item["org_id"])[0]
        now = utcnow()
        case_id = st.next_id(CASES)
        case = {c.name: None for c in CASES.c} | {
            "id": case_id,
            "number": f"SP{on:%Y%m%d}{case_id:08d}",
            "item_id": item["id"],
            "item_version": item["version"],
            "flow_id": latest["id"],
            "party_id": party_id,
            "applicant_name": party.name,
            "client_token": token,
            "submitted_by": a.label,
            "form": dict(data.form),
            "window_org_id": window,
            "status": "submitted",
            "stage": accept.id,
            "version": 1,
            "promised_days": item["promised_days"],
            "statutory_days": item["statutory_days"],
            "submitted_on": on,
            "rongque": False,
            "rongque_missing": [],
            "created_at": now,
            "updated_at": now,
        }
        st.cases[case_id] = case
        st.new_cases.append(case)
        self.new_cases.add(case_id)
        st.flows.setdefault(latest["id"], flow)
        if token:
            st.tokens[(party_id, token)] = case
            st.item_codes[item["id"]] = item["code"]
        clock = self.start_clock(a, STAGE, f"{case_id}:{accept.id}:1", on, accept.days)
        case["stage_clock_id"], case["stage_due_on"] = clock["id"], clock["due_on"]
        self.event(a, case, "submitted", on, f"提交申请：{item['name']}", item=item["code"], materials=[])
        self.record(
            a,
            "approvals:case:submit",
            f"case:{case_id}",
            {"item": item["code"], "item_version": item["version"], "flow": latest["id"], "materials": []},
        )
        self.tell(
            case,
            "submitted",
            f"您的申请 {case['number']} 已提交，等待受理",
            f"application {case['number']} received",
        )
        return case, True

    def accept(self, a: Actor, case_id: int, data: Any, on: dt.date) -> dict[str, Any]:
        if data.rongque:
            raise Defer
        case = self.lock(case_id, data.version)
        self.expect(case, "submitted")
        self.no_paused_clocks(case)
        files = {code: _File(m) for code, m in self.st.materials[case_id].items()}
        found = checks.check(self.st.snapshot(case), case["form"], files)
        if found.blocking:
            first = found.blocking[0]
            raise Invalid(
                f"不能受理：{first.zh}；请要求申请人补正或不予受理",
                f"cannot accept: {first.en}; ask for corrections or refuse",
                problems=[p.shown() for p in found.blocking],
            )
        missing = found.missing_rongque
        if missing:
            raise Invalid(
                f"尚缺 {len(missing)} 份可容缺材料：可容缺受理（rongque=true）或要求补正",
                f"{len(missing)} 容缺-eligible material(s) missing: accept with rongque=true or ask for "
                "corrections",
                missing=missing,
            )
        self.stop_clocks(a, [case["stage_clock_id"]], on)
        case["accepted_on"] = on
        promised = self.start_clock(a, CASE, f"{case_id}:promised", on, case["promised_days"])
        statutory = self.start_clock(a, CASE, f"{case_id}:statutory", on, case["statutory_days"])
        case["promised_clock_id"], case["promised_due_on"] = promised["id"], promised["due_on"]
        case["statutory_clock_id"], case["statutory_due_on"] = statutory["id"], statutory["due_on"]
        self.changed(case)
        self.event(a, case, "accepted", on, data.note.strip() or "受理")
        number = case["number"]
        self.tell(case, "accepted", f"您的申请 {number} 已受理", f"application {number} accepted")
        self.record(
            a,
            "approvals:case:accept",
            f"case:{case_id}",
            {
                "rongque": False,
                "missing": [],
                "supplement_days": None,
                "promised_due_on": case["promised_due_on"].isoformat(),
            },
        )
        flow = self.st.flow(case)
        self.enter(a, case, flow, flow.first.next or "", on)
        return case

    def enter(self, a: Actor, case: dict[str, Any], flow: Flow, stage_id: str, on: dt.date) -> None:
        """review.enter: the stage's clock started and one task per acting organization opened."""
        stage = flow.stage(stage_id)
        snap = self.st.snapshot(case)
        orgs = stage_orgs(stage, case["window_org_id"], snap.get("deciding_org_id") or snap["org_id"])
        tasks = self.st.tasks[case["id"]]
        round_ = max((t["round"] for t in tasks if t["stage"] == stage.id), default=0) + 1
        clock = self.start_clock(a, STAGE, f"{case['id']}:{stage.id}:{round_}", on, stage.days)
        case["stage_clock_id"], case["stage_due_on"] = clock["id"], clock["due_on"]
        case["stage"] = stage.id
        case["status"] = "delivering" if stage.kind == "deliver" else "in_progress"
        self.touch(case)
        now = utcnow()
        for org_id in orgs:
            task = {
                "id": self.st.next_id(TASKS),
                "case_id": case["id"],
                "stage": stage.id,
                "kind": stage.kind,
                "queue": QUEUE[stage.kind],
                "org_id": org_id,
                "round": round_,
                "status": "open",
                "version": 1,
                "clock_id": clock["id"],
                "due_on": clock["due_on"],
                "opened_at": now,
                "concluded_at": None,
                "concluded_by": None,
                "reason": None,
                "escalated_at": None,
            }
            tasks.append(task)
            self.st.new_tasks.append(task)
            self.new_tasks.add(task["id"])
        names = self.st.org_names
        due = clock["due_on"].isoformat()
        self.event(
            a,
            case,
            "stage",
            on,
            f"进入{stage.name}环节：{'、'.join(names.get(o, str(o)) for o in orgs)}",
            stage_kind=stage.kind,
            orgs=orgs,
            round=round_,
            due_on=due,
        )
        self.tell(
            case,
            "stage",
            f"您的办件 {case['number']} 进入{stage.name}环节",
            f"case {case['number']}: {stage.kind} stage",
            stage=stage.id,
            due_on=due,
        )
        self.record(
            a,
            "approvals:case:stage",
            f"case:{case['id']}",
            {"stage": stage.id, "kind": stage.kind, "orgs": orgs, "round": round_, "due_on": due},
        )

    def _check_conclude(self, case: dict[str, Any], task: dict[str, Any], version: int | None) -> None:
        if case["status"] in ("correcting", "suspended"):
            raise Conflict(
                f"办件 {case['number']} 暂停计时中（补正、听证、检测或专家评审），恢复后再办理",
                f"case {case['number']} is paused; conclude once it resumes",
            )
        if task["status"] != "open" or (version is not None and version != task["version"]):
            by = f"（{task['concluded_by']}）" if task["concluded_by"] else ""
            raise Conflict(
                f"任务 {task['id']} 已被办理{by}或已变更，请刷新后重试",
                f"task {task['id']} was concluded or changed; reload",
            )

    def _conclude(self, a: Actor, task: dict[str, Any], reason: str) -> None:
        task.update(
            status="approved",
            version=task["version"] + 1,
            concluded_at=utcnow(),
            concluded_by=a.label,
            reason=reason.strip() or None,
        )
        self.task_changed(task)

    def conclude(
        self, a: Actor, task_id: int, approve: bool, reason: str, version: int | None, on: dt.date
    ) -> dict[str, Any]:
        case_id = self.st.task_case.get(task_id)
        if case_id is None:
            raise NotFound(f"审查任务 {task_id} 不存在", f"task {task_id} not found")
        case = self.lock(case_id)
        tasks = self.st.tasks[case_id]
        task = next(t for t in tasks if t["id"] == task_id)
        if task["queue"] != "review":
            raise Conflict("该任务不是审查任务", "this task is not a review task")
        self._check_conclude(case, task, version)
        round_ = [t for t in tasks if t["stage"] == task["stage"] and t["round"] == task["round"]]
        last = all(t["status"] != "open" for t in round_ if t is not task)
        if not approve or (last and any(t["status"] == "rejected" for t in round_)):
            raise Defer  # a rejection, or the last conclusion of a round someone rejected
        if last:
            self.no_paused_clocks(case)
        self._conclude(a, task, reason)
        name = self.st.org_names.get(task["org_id"])
        self.event(
            a,
            case,
            "reviewed",
            on,
            f"{name or task['org_id']}审查同意" + (f"：{reason.strip()}" if reason.strip() else ""),
            task=task_id,
            org_id=task["org_id"],
            approve=True,
        )
        self.record(
            a,
            "approvals:task:approve",
            f"task:{task_id}",
            {"case": case_id, "stage": task["stage"], "org_id": task["org_id"], "reason": reason.strip()},
        )
        if last:  # review._settle: every department has concluded, all approving
            flow = self.st.flow(case)
            stage = flow.stage(task["stage"])
            self.stop_clocks(a, [case["stage_clock_id"]], on)
            self.enter(a, case, flow, stage.next or "", on)
        return task

    def decide(
        self, a: Actor, case_id: int, approve: bool, reason: str, version: int | None, on: dt.date
    ) -> dict[str, Any]:
        case = self.lock(case_id, version)
        self.expect(case, "in_progress", "suspended", "correcting")
        flow = self.st.flow(case)
        stage = flow.stage(case["stage"])
        if stage.kind != "decide":
            raise Conflict(
                f"办件 {case['number']} 在“{stage.name}”环节，尚未到决定环节",
                f"case {case['number']} is in stage {stage.id}, not decide",
            )
        if approve and case["rongque"] and case["supplements_done_on"] is None:
            raise Conflict(
                "容缺材料尚未补齐，不能作出准予决定或出具证照",
                "the 容缺 materials have not arrived: no approval and no certificate before they do",
            )
        tasks = self.st.tasks[case_id]
        task = next((t for t in tasks if t["stage"] == stage.id and t["status"] == "open"), None)
        if task is None:
            raise Conflict("决定任务已办理", "the decision was made already")
        self._check_conclude(case, task, None)
        if not approve or self.st.snapshot(case).get("certificate_type"):
            raise Defer  # a refusal, or a certificate to issue (hooks)
        self.no_paused_clocks(case)
        self._conclude(a, task, reason)
        case["outcome"], case["decided_on"] = "approved", on
        found = self.stop_clocks(
            a, [case["stage_clock_id"], case["promised_clock_id"], case["statutory_clock_id"]], on
        )
        self.sync(case, found)
        note = "准予许可" + (f"：{reason.strip()}" if reason.strip() else "")
        self.event(a, case, "decided", on, note, outcome="approved", certificate_no=None)
        self.record(a, "approvals:case:approve", f"case:{case_id}", {"certificate_no": None})
        self.tell(
            case,
            "approved",
            f"您的申请 {case['number']} 已准予许可",
            f"application {case['number']} approved",
            certificate_no=None,
        )
        if stage.next:
            self.enter(a, case, flow, stage.next, on)
        else:
            self.finish(a, case, "completed", on)
        return case

    def deliver(
        self, a: Actor, case_id: int, method: str, tracking_no: str | None, note: str, on: dt.date
    ) -> dict[str, Any]:
        if method not in DELIVERY:
            raise Invalid("送达方式应为 online、window 或 mail", "method: online, window or mail")
        if method == "mail" and not tracking_no:
            raise Invalid("邮寄送达须填写快递单号", "mail delivery needs a tracking number")
        case = self.lock(case_id)
        self.expect(case, "delivering")
        self.no_paused_clocks(case)
        now = utcnow()
        for t in self.st.tasks[case_id]:
            if t["stage"] == case["stage"] and t["status"] == "open":
                t.update(status="done", concluded_at=now, concluded_by=a.label, version=t["version"] + 1)
                self.task_changed(t)
        case["delivery_method"], case["tracking_no"] = method, tracking_no
        self.finish(a, case, "completed", on)
        self.event(
            a,
            case,
            "delivered",
            on,
            f"{DELIVERY[method]}"
            + (f"，单号 {tracking_no}" if tracking_no else "")
            + (f"：{note}" if note else ""),
            method=method,
        )
        self.record(
            a, "approvals:case:deliver", f"case:{case_id}", {"method": method, "tracking_no": tracking_no}
        )
        self.tell(
            case,
            "delivered",
            f"您的办件 {case['number']} 已办结（{DELIVERY[method]}）",
            f"case {case['number']} completed ({method})",
            tracking_no=tracking_no,
        )
        return case

    def finish(self, a: Actor, case: dict[str, Any], status: str, on: dt.date) -> None:
        """cases.finish: every clock stopped, every open task cancelled."""
        ids = [
            case[k]
            for k in ("stage_clock_id", "promised_clock_id", "statutory_clock_id", "supplement_clock_id")
        ]
        self.sync(case, self.stop_clocks(a, ids, on))
        now = utcnow()
        for t in self.st.tasks[case["id"]]:
            if t["status"] == "open":
                t.update(status="cancelled", concluded_at=now, version=t["version"] + 1)
                self.task_changed(t)
        case["status"], case["closed_on"] = status, on
        case["pause_reason"] = case["paused_on"] = None
        self.touch(case)

"""The common steps of a case on a batch's rows (batch_state): submit, accept, conclude (approve), decide
(approve) and deliver, with the rules, rows, timeline events, messages and audit records the services make
(cases, acceptance, review, clocks; core.calendar for the clocks), whose checks it calls on its rows.
tests/approvals/test_batch.py runs the same cases through both and compares every row.

A step checks everything before it changes anything, so an error leaves the batch's rows as they were. What
this path does not do it hands back (Defer) to the services, which run it alone after the batch: 容缺,
uploads, rejections, certificates, clocks that were ever paused — and every step while a notifier other than
the platform's own is wired."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zhicheng.approvals import acceptance, flows, hooks, review, wiring, wording
from zhicheng.approvals import cases as services
from zhicheng.approvals.batch_state import CASE_CLOCKS, CASES, CLOCKS, TASKS, Row, State
from zhicheng.approvals.clocks import CASE, STAGE
from zhicheng.approvals.flowdef import QUEUE, Flow, stage_orgs
from zhicheng.core.audit.services import entry
from zhicheng.core.calendar.clock import Calendar
from zhicheng.core.db import Actor, Notes, utcnow

_BLANK_CASE = dict.fromkeys(c.name for c in CASES.c)  # the columns a submission leaves empty


class Defer(Exception):
    """This step is the services' to run (alone, after the batch)."""


def own_hooks_only() -> bool:
    """The lean path writes the platform's own message row (a decision that issues a certificate is deferred):
    it applies only while that is the notifier wired (tests may add others)."""
    return hooks.NOTIFIERS == [wiring.tell]


class Steps:
    def __init__(self, st: State, cal: Calendar) -> None:
        self.st, self.cal = st, cal
        self.now = utcnow()  # the batch's time: its steps commit together
        self.notes = Notes()

    # --- what every step shares (cases.py) ------------------------------------------------------------

    def lock(self, case_id: int, version: int | None = None, stage: str | None = None) -> Row:
        case = self.st.cases.get(case_id)
        if case is None:
            raise services.case_not_found(case_id)
        services.check_version(case, version)
        services.check_stage(case, stage)
        return case

    def no_paused_clocks(self, case: Row) -> None:
        if any(case[k] in self.st.paused_clocks for k in CASE_CLOCKS if case[k]):
            raise Defer

    def touch(self, case: Row) -> None:
        case["version"] += 1
        case["updated_at"] = self.now
        self.st.change(CASES, case)

    def event(self, a: Actor, case: Row, kind: str, on: dt.date, note: str, **data: Any) -> None:
        self.st.events.append(
            {
                "case_id": case["id"],
                "at": self.now,
                "day": on,
                "kind": kind,
                "stage": case["stage"],
                "actor": a.label,
                "public": True,
                "note": note,
                "data": data,
            }
        )

    def tell(self, case: Row, kind: str, zh: str, en: str, **data: Any) -> None:
        notice = hooks.Notice(case["id"], case["number"], case["party_id"], kind, zh, en, data)
        self.st.notices.append(wiring.message_row(notice, self.now))

    def record(self, a: Actor, tag: str, subject: str, change: dict[str, Any]) -> None:
        self.st.audit.append(entry(a, tag, subject, self.notes.into(change), self.now))

    def settle(self, a: Actor) -> None:
        """The end of a step (UnitOfWork.settle): notes no record followed become records of their own."""
        self.st.audit.extend(self.notes.records(a, self.now))

    # --- clocks (clocks.py, core.calendar) -------------------------------------------------------------

    def start_clock(self, a: Actor, owner: str, subject: str, on: dt.date, days: int) -> Row:
        deadline = self.cal.add_workdays(on, days)
        clock = Row(
            {
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
        )
        self.st.clocks[clock["id"]] = self.st.add(CLOCKS, clock)
        self.notes.add(
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

    def stop_clocks(self, a: Actor, ids: list[int | None], on: dt.date) -> list[Row]:
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
            self.st.change(CLOCKS, clock)
            self.notes.add(
                "calendar:clock:stop",
                f"clock:{clock['id']}",
                {"on": day.isoformat(), "due_on": clock["due_on"].isoformat()},
            )
        return found

    def sync(self, case: Row, known: list[Row]) -> None:
        """clocks.sync: the due dates of the clocks onto the case and onto its stage's open tasks."""
        due = {c["id"]: c["due_on"] for c in known}
        for k in ("promised", "statutory"):
            case[f"{k}_due_on"] = due.get(case[f"{k}_clock_id"], case[f"{k}_due_on"])
        before = case["stage_due_on"]
        case["stage_due_on"] = due.get(case["stage_clock_id"], before)
        if case["supplements_done_on"] is None:
            case["supplement_due_on"] = due.get(case["supplement_clock_id"], case["supplement_due_on"])
        self.st.change(CASES, case)
        if case["stage_clock_id"] in due and case["stage_due_on"] != before:
            for t in self.st.tasks[case["id"]]:
                if t["clock_id"] == case["stage_clock_id"] and t["status"] == "open":
                    t["due_on"] = case["stage_due_on"]
                    self.st.change(TASKS, t)

    # --- the steps --------------------------------------------------------------------------------------

    def submit(self, a: Actor, data: Any, party_id: int, token: str | None, on: dt.date) -> tuple[dict, bool]:
        st = self.st
        if data.materials:
            raise Defer  # uploads are checked and attached by the services
        party = st.parties.get(party_id)
        if party is None:
            raise services.party_not_found()
        if token:
            found = st.tokens.get((party_id, token))
            if found is not None:
                services.check_replay(st.item_codes.get(found["item_id"]), data.item_code)
                return found, False
        item = st.items.get(data.item_code)
        if item is None or item["status"] != "active":
            raise services.item_not_found(data.item_code)
        latest = st.latest_flows.get(item["flow_code"])
        if latest is None:
            raise flows.missing(item["flow_code"])
        flow: Flow = latest["flow"]
        snap = st.snapshots[(item["id"], item["version"])]
        services.check_case(snap, data.form, {}).raise_blocking()
        accept = flow.first
        window = stage_orgs(accept, item["org_id"], item["deciding_org_id"] or item["org_id"])[0]
        case_id = st.next_id(CASES)
        case = Row(
            _BLANK_CASE
            | {
                "id": case_id,
                "number": services.case_number(on, case_id),
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
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        st.cases[case_id] = st.add(CASES, case)
        st.flows.setdefault(latest["id"], flow)
        if token:
            st.tokens[(party_id, token)] = case
            st.item_codes[item["id"]] = item["code"]
        clock = self.start_clock(a, STAGE, f"{case_id}:{accept.id}:1", on, accept.days)
        case["stage_clock_id"], case["stage_due_on"] = clock["id"], clock["due_on"]
        self.event(a, case, "submitted", on, wording.submitted(item["name"]), item=item["code"], materials=[])
        self.record(
            a,
            "approvals:case:submit",
            f"case:{case_id}",
            {"item": item["code"], "item_version": item["version"], "flow": latest["id"], "materials": []},
        )
        self.tell(case, "submitted", *wording.submitted_message(case["number"]))
        return case, True

    def accept(self, a: Actor, case_id: int, data: Any, on: dt.date, stage: str | None = None) -> Row:
        if data.rongque:
            raise Defer
        case = self.lock(case_id, data.version, stage)
        services.expect(case, "submitted")
        self.no_paused_clocks(case)
        found = services.check_case(self.st.snapshot(case), case["form"], self.st.materials[case_id])
        acceptance.acceptable(found, rongque=False)
        self.stop_clocks(a, [case["stage_clock_id"]], on)
        case["accepted_on"] = on
        promised = self.start_clock(a, CASE, f"{case_id}:promised", on, case["promised_days"])
        statutory = self.start_clock(a, CASE, f"{case_id}:statutory", on, case["statutory_days"])
        case["promised_clock_id"], case["promised_due_on"] = promised["id"], promised["due_on"]
        case["statutory_clock_id"], case["statutory_due_on"] = statutory["id"], statutory["due_on"]
        self.st.change(CASES, case)
        self.event(a, case, "accepted", on, data.note.strip() or "受理")
        self.tell(case, "accepted", *wording.accepted_message(case["number"]))
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

    def enter(self, a: Actor, case: Row, flow: Flow, stage_id: str, on: dt.date) -> None:
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
        for org_id in orgs:
            task = Row(
                {
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
                    "opened_at": self.now,
                    "concluded_at": None,
                    "concluded_by": None,
                    "reason": None,
                    "escalated_at": None,
                }
            )
            tasks.append(self.st.add(TASKS, task))
        names = self.st.org_names
        due = clock["due_on"].isoformat()
        self.event(
            a,
            case,
            "stage",
            on,
            wording.stage_entered(stage, (names.get(o, str(o)) for o in orgs)),
            stage_kind=stage.kind,
            orgs=orgs,
            round=round_,
            due_on=due,
        )
        self.tell(
            case,
            "stage",
            *wording.stage_message(case["number"], stage),
            stage=stage.id,
            due_on=due,
        )
        self.record(
            a,
            "approvals:case:stage",
            f"case:{case['id']}",
            {"stage": stage.id, "kind": stage.kind, "orgs": orgs, "round": round_, "due_on": due},
        )

    def _conclude(self, a: Actor, task: Row, reason: str) -> None:
        task.update(
            status="approved",
            version=task["version"] + 1,
            concluded_at=self.now,
            concluded_by=a.label,
            reason=reason.strip() or None,
        )
        self.st.change(TASKS, task)

    def conclude(
        self, a: Actor, task_id: int, approve: bool, reason: str, version: int | None, on: dt.date
    ) -> Row:
        case_id = self.st.task_case.get(task_id)
        if case_id is None:
            raise review.task_not_found(task_id)
        case = self.lock(case_id)
        tasks = self.st.tasks[case_id]
        task = next(t for t in tasks if t["id"] == task_id)
        review.check_review_task(task)
        review.check_open(case, task, version)
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
            wording.reviewed(name or str(task["org_id"]), True, reason),
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
        self,
        a: Actor,
        case_id: int,
        approve: bool,
        reason: str,
        version: int | None,
        on: dt.date,
        stage: str | None = None,
    ) -> Row:
        case = self.lock(case_id, version, stage)
        services.expect(case, "in_progress", "suspended", "correcting")
        flow = self.st.flow(case)
        stage = flow.stage(case["stage"])
        review.check_decidable(case, stage, approve)
        task = review.decision_task(self.st.tasks[case_id], stage)
        review.check_open(case, task, None)
        if not approve or self.st.snapshot(case).get("certificate_type"):
            raise Defer  # a refusal, or a certificate to issue (hooks)
        self.no_paused_clocks(case)
        self._conclude(a, task, reason)
        case["outcome"], case["decided_on"] = "approved", on
        found = self.stop_clocks(
            a, [case["stage_clock_id"], case["promised_clock_id"], case["statutory_clock_id"]], on
        )
        self.sync(case, found)
        self.event(a, case, "decided", on, wording.approved(reason), outcome="approved", certificate_no=None)
        self.record(a, "approvals:case:approve", f"case:{case_id}", {"certificate_no": None})
        self.tell(case, "approved", *wording.approved_message(case["number"]), certificate_no=None)
        if stage.next:
            self.enter(a, case, flow, stage.next, on)
        else:
            self.finish(a, case, "completed", on)
        return case

    def deliver(
        self,
        a: Actor,
        case_id: int,
        method: str,
        tracking_no: str | None,
        note: str,
        on: dt.date,
        stage: str | None = None,
    ) -> Row:
        review.check_delivery(method, tracking_no)
        case = self.lock(case_id, None, stage)
        services.expect(case, "delivering")
        self.no_paused_clocks(case)
        for t in self.st.tasks[case_id]:
            if t["stage"] == case["stage"] and t["status"] == "open":
                t.update(status="done", concluded_at=self.now, concluded_by=a.label, version=t["version"] + 1)
                self.st.change(TASKS, t)
        case["delivery_method"], case["tracking_no"] = method, tracking_no
        self.finish(a, case, "completed", on)
        self.event(
            a,
            case,
            "delivered",
            on,
            wording.delivered(method, tracking_no, note),
            method=method,
        )
        self.record(
            a, "approvals:case:deliver", f"case:{case_id}", {"method": method, "tracking_no": tracking_no}
        )
        self.tell(
            case, "delivered", *wording.delivered_message(case["number"], method), tracking_no=tracking_no
        )
        return case

    def finish(self, a: Actor, case: Row, status: str, on: dt.date) -> None:
        """cases.finish: every clock stopped, every open task cancelled."""
        self.sync(case, self.stop_clocks(a, [case[k] for k in CASE_CLOCKS], on))
        for t in self.st.tasks[case["id"]]:
            if t["status"] == "open":
                t.update(status="cancelled", concluded_at=self.now, version=t["version"] + 1)
                self.st.change(TASKS, t)
        case["status"], case["closed_on"] = status, on
        case["pause_reason"] = case["paused_on"] = None
        self.touch(case)

"""The rows a batch of approval steps reads and writes, held as plain dicts (batch.py): loaded with one
statement per table for the whole batch, changed in memory by batch_steps, written back with one statement
per table and kind of write. Ids of new rows are taken here (the batch refers to them before it writes), so
nothing needs a round trip per row.

On PostgreSQL the cases are locked in id order (SELECT … FOR UPDATE), as cases.lock does one at a time; on
SQLite the transaction holds the write lock from its start."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from zhicheng.approvals import flowdef, flows
from zhicheng.approvals.models import (
    Case,
    CaseEvent,
    CaseMaterial,
    FlowVersion,
    ItemVersion,
    ServiceItem,
    Task,
)
from zhicheng.core import bulk
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.calendar.models import Clock, ClockPause
from zhicheng.core.notify.models import Notification
from zhicheng.core.orgs.models import Org, Party

CASES, TASKS, CLOCKS = Case.__table__, Task.__table__, Clock.__table__
EVENTS, NOTICES, AUDIT = CaseEvent.__table__, Notification.__table__, AuditRecord.__table__

# what a step may change of an existing row: written back whole, one UPDATE per table for the batch
CASE_CHANGES = (
    "status",
    "stage",
    "version",
    "accepted_on",
    "decided_on",
    "closed_on",
    "stage_clock_id",
    "promised_clock_id",
    "statutory_clock_id",
    "stage_due_on",
    "promised_due_on",
    "statutory_due_on",
    "supplement_due_on",
    "pause_reason",
    "paused_on",
    "outcome",
    "reason",
    "certificate_no",
    "delivery_method",
    "tracking_no",
    "updated_at",
)
TASK_CHANGES = ("status", "version", "due_on", "concluded_at", "concluded_by", "reason")
CLOCK_CHANGES = ("state", "stopped_on", "due_on", "provisional")
# a case's clocks (clocks.py), in the order clocks.stop_all stops them
CASE_CLOCKS = ("stage_clock_id", "promised_clock_id", "statutory_clock_id", "supplement_clock_id")


class Row(dict[str, Any]):
    """A row as a dict whose columns also read as attributes, so that the services' checks (cases.expect,
    review.check_open, …) apply to it as they do to the ORM's objects."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _ids(column: Any) -> Any:
    return bulk.among(column)


_TASK_CASES = select(TASKS.c.id, TASKS.c.case_id).where(_ids(TASKS.c.id))
_PAUSED = select(ClockPause.clock_id).where(_ids(ClockPause.clock_id)).distinct()
_FLOWS = select(FlowVersion.id, FlowVersion.code, FlowVersion.version, FlowVersion.definition)
_FLOWS_BY_ID = _FLOWS.where(_ids(FlowVersion.id))
_FLOWS_BY_CODE = _FLOWS.where(bulk.among(FlowVersion.code, "codes"))
_SNAPSHOTS = select(ItemVersion.item_id, ItemVersion.version, ItemVersion.snapshot).where(
    _ids(ItemVersion.item_id)
)
_ORG_NAMES = select(Org.id, Org.name).where(_ids(Org.id))
_MATERIALS = select(CaseMaterial.case_id, CaseMaterial.code, CaseMaterial.filename, CaseMaterial.size).where(
    _ids(CaseMaterial.case_id), CaseMaterial.superseded.is_(False)
)
_ITEMS = select(ServiceItem).where(bulk.among(ServiceItem.code, "codes"))
_ITEM_CODES = select(ServiceItem.id, ServiceItem.code).where(_ids(ServiceItem.id))
_PARTIES = select(Party.id, Party.name, Party.kind, Party.id_number).where(_ids(Party.id))
_LOCK_PARTIES = select(Party.id).where(_ids(Party.id)).order_by(Party.id).with_for_update()
_TOKENS = select(CASES).where(
    _ids(CASES.c.party_id), bulk.among(CASES.c.client_token, "tokens")
)


# written in this order: parents before children
ADDED = (CLOCKS, CASES, TASKS)
CHANGES = {CASES.name: CASE_CHANGES, TASKS.name: TASK_CHANGES, CLOCKS.name: CLOCK_CHANGES}
APPENDED = {"events": EVENTS, "notices": NOTICES, "audit": AUDIT}


class State:
    """What one batch reads, changes and adds. `changed_*`: ids of loaded rows to write back."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.cases: dict[int, Row] = {}
        self.tasks: dict[int, list[Row]] = defaultdict(list)  # by case, in id order
        self.task_case: dict[int, int] = {}
        self.clocks: dict[int, Row] = {}
        self.paused_clocks: set[int] = set()  # clocks that have (or had) a pause: left to the services
        self.flows: dict[int, flowdef.Flow] = {}
        self.latest_flows: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[tuple[int, int], dict[str, Any]] = {}
        self.org_names: dict[int, str] = {}
        self.materials: dict[int, dict[str, Any]] = defaultdict(dict)
        self.items: dict[str, dict[str, Any]] = {}
        self.item_codes: dict[int, str] = {}
        self.parties: dict[int, Any] = {}
        self.tokens: dict[tuple[int, str], Row] = {}
        # rows added (written by INSERT) and loaded rows changed (by UPDATE), by table, in the order met
        self.added: dict[str, dict[int, Row]] = {t.name: {} for t in ADDED}
        self.changed: dict[str, dict[int, Row]] = {t: {} for t in CHANGES}
        self.events: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []
        self._ids: dict[str, Iterator[int]] = {}
        self._read: dict[str, dict[int, tuple[Any, ...]]] = {t: {} for t in CHANGES}  # as loaded

    # --- reading ---------------------------------------------------------------------------------------

    def load(self, task_ids: set[int], case_ids: set[int], submits: list[Any]) -> None:
        c = self.conn
        if task_ids:
            self.task_case = dict(c.execute(_TASK_CASES, {"ids": sorted(task_ids)}).all())
        ids = sorted(case_ids | set(self.task_case.values()))
        if ids:
            self.cases = {r["id"]: r for r in bulk.select(c, CASES, "id", ids, lock=True, into=Row)}
            self._keep(CASES, self.cases.values())
            tasks = bulk.select(c, TASKS, "case_id", ids, into=Row)
            self._keep(TASKS, tasks)
            for r in tasks:
                self.tasks[r["case_id"]].append(r)
            for r in c.execute(_MATERIALS, {"ids": ids}):
                self.materials[r.case_id][r.code] = r
        clock_ids = sorted({case[k] for case in self.cases.values() for k in CASE_CLOCKS if case[k]})
        if clock_ids:
            self.clocks = {r["id"]: r for r in bulk.select(c, CLOCKS, "id", clock_ids, lock=True, into=Row)}
            self._keep(CLOCKS, self.clocks.values())
            self.paused_clocks = set(c.execute(_PAUSED, {"ids": clock_ids}).scalars())
        if submits:
            self._load_submits(submits)
        flow_ids = {case["flow_id"] for case in self.cases.values()}
        if flow_ids:
            for r in c.execute(_FLOWS_BY_ID, {"ids": sorted(flow_ids)}):
                self.flows[r.id] = flows.parsed(r)
        keys = {(case["item_id"], case["item_version"]) for case in self.cases.values()}
        keys |= {(i["id"], i["version"]) for i in self.items.values()}
        if keys:
            for r in c.execute(_SNAPSHOTS, {"ids": sorted({k[0] for k in keys})}):
                if (r.item_id, r.version) in keys:
                    self.snapshots[(r.item_id, r.version)] = r.snapshot
        orgs = {case["window_org_id"] for case in self.cases.values()}
        for flow in self.flows.values():
            orgs |= flow.org_ids()
        for snap in self.snapshots.values():
            orgs |= {o for o in (snap.get("org_id"), snap.get("deciding_org_id")) if o}
        for tasks in self.tasks.values():
            orgs |= {t["org_id"] for t in tasks}
        if orgs:
            self.org_names = dict(c.execute(_ORG_NAMES, {"ids": sorted(orgs)}).all())

    def _load_submits(self, submits: list[Any]) -> None:
        c = self.conn
        codes = sorted({s.application.item_code for s in submits})
        self.items = {r.code: dict(r._mapping) for r in c.execute(_ITEMS, {"codes": codes})}
        flow_codes = sorted({i["flow_code"] for i in self.items.values()})
        if flow_codes:
            for r in c.execute(_FLOWS_BY_CODE, {"codes": flow_codes}):
                have = self.latest_flows.get(r.code)
                if have is None or r.version > have["version"]:
                    self.latest_flows[r.code] = {"id": r.id, "version": r.version, "flow": flows.parsed(r)}
        parties = sorted({s.party_id for s in submits})
        self.parties = {r.id: r for r in c.execute(_PARTIES, {"ids": parties})}
        tokens = sorted({s.token for s in submits if s.token})
        if tokens:
            if self.dialect == "postgresql":  # one submission per party and token at a time (cases.submit)
                c.execute(_LOCK_PARTIES, {"ids": parties})
            for r in c.execute(_TOKENS, {"ids": parties, "tokens": tokens}):
                self.tokens[(r.party_id, r.client_token)] = Row(r._mapping)
            item_ids = {"ids": sorted({r["item_id"] for r in self.tokens.values()})}
            self.item_codes = dict(c.execute(_ITEM_CODES, item_ids).all())

    def flow(self, case: Row) -> flowdef.Flow:
        return self.flows[case["flow_id"]]

    def snapshot(self, case: Row) -> dict[str, Any]:
        return self.snapshots[(case["item_id"], case["item_version"])]

    # --- new rows and changes --------------------------------------------------------------------------

    def next_id(self, table: Any) -> int:
        """An id for a new row of `table`, taken now: on SQLite after the largest (the transaction holds the
        write lock), on PostgreSQL from the table's sequence, 64 at a time."""
        ids = self._ids.get(table.name)
        found = next(ids, None) if ids is not None else None
        if found is None:
            ids = self._ids[table.name] = self._reserve(table)
            found = next(ids)
        return found

    def _reserve(self, table: Any) -> Iterator[int]:
        if self.dialect == "postgresql":
            return iter(
                self.conn.exec_driver_sql(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 64)",
                    (table.name,),
                )
                .scalars()
                .all()
            )
        name = self.conn.dialect.identifier_preparer.quote(table.name)
        top = self.conn.exec_driver_sql(f"SELECT max(id) FROM {name}").scalar()  # the rowid's last entry
        return itertools.count((top or 0) + 1)

    def add(self, table: Any, row: Row) -> Row:
        """A new row of `table` (cases, tasks, clocks): inserted, with whatever the batch changes later."""
        self.added[table.name][row["id"]] = row
        return row

    def change(self, table: Any, row: Row) -> None:
        """A row of `table` changed: written back by UPDATE, unless the batch added it."""
        if row["id"] not in self.added[table.name]:
            self.changed[table.name][row["id"]] = row

    def _keep(self, table: Any, rows: Any) -> None:
        """The changeable columns of rows as loaded, to write back only the columns a batch moved."""
        get = itemgetter(*CHANGES[table.name])
        self._read[table.name] = {r["id"]: get(r) for r in rows}

    def _moved(self, table: Any, rows: list[Row]) -> tuple[str, ...]:
        """The columns some of `rows` changed: an UPDATE setting the others would only rewrite their
        indexes' entries (a case's status and dates are in several)."""
        cols, read = CHANGES[table.name], self._read[table.name]
        get = itemgetter(*cols)
        now = [(get(r), read[r["id"]]) for r in rows]
        return tuple(c for i, c in enumerate(cols) if any(a[i] != b[i] for a, b in now))

    def write(self) -> None:
        """Everything the batch changed, one statement per table and kind (core.bulk)."""
        c = self.conn
        for table in ADDED:
            bulk.insert(c, table, list(self.added[table.name].values()))
            changed = [self.changed[table.name][i] for i in sorted(self.changed[table.name])]
            bulk.update(c, table, self._moved(table, changed), changed)
        for name, table in APPENDED.items():
            bulk.insert(c, table, getattr(self, name))

"""The lean write path of a batch of reports (cityops.batch gathers them): Core statements instead of the
ORM's unit of work, one statement per table for the whole batch, the duplicate search among stored cases and
the cases opened earlier in the same batch (on PostgreSQL after one statement taking the advisory locks of
all its reports, cityops.dedupe), one audit record per report, and the roll-up delta of the new cases
written directly (rollup.opened; the ORM's flush hook sees nothing of these inserts, so nothing is counted
twice). A report that breaks a rule gets its error and writes nothing; the others go on."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import h3.api.basic_int as h3
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from zhicheng.cityops import categories, dedupe, index, rollup, vocab
from zhicheng.cityops.intake import Outcome, Rules, _number, outside_city, ring_size
from zhicheng.cityops.models import Case, CaseEvent, Follower, Reporter
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core import bulk, cache
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import entry
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import Actor, utcnow
from zhicheng.core.errors import DomainError

MAX_BATCH = 200

CASES = Case.__table__
REPORTERS = Reporter.__table__
EVENTS = CaseEvent.__table__
FOLLOWERS = Follower.__table__
AUDIT = AuditRecord.__table__


@dataclass
class Item:
    """One report, checked and ready to join a batch."""

    actor: Actor
    data: ReportIn
    channel: str
    token: str | None
    rules: Rules
    today: dt.date | None
    lng: float = 0.0
    lat: float = 0.0
    at: dt.datetime | None = None
    error: DomainError | None = None  # found before the batch; answered after the replay check
    # the caller's authorization, checked again in the batch's transaction against the cache generations
    # it reads there: None when it holds, else the error to answer (cityops.lane)
    recheck: Callable[[dict[str, int]], DomainError | None] | None = None


# --- the write path --------------------------------------------------------------------------------------

_REPLAYS = (
    select(Reporter.id, Reporter.case_id, Reporter.client_token, Case.reported_on, Case.status)
    .join(Case, Case.id == Reporter.case_id)
    .where(Reporter.client_token.in_(bindparam("tokens", expanding=True)))
)
_FIRSTS = (
    select(Reporter.case_id, func.min(Reporter.id))
    .where(Reporter.case_id.in_(bindparam("cases", expanding=True)))
    .group_by(Reporter.case_id)
)
_INSERT_FOLLOWERS = insert(FOLLOWERS)
_MERGE = (
    update(CASES)
    .where(CASES.c.id == bindparam("case_id"))
    .values(report_count=CASES.c.report_count + bindparam("n"), updated_at=bindparam("now"))
)
_FOLLOWING = select(Follower.case_id).where(
    Follower.user_id == bindparam("user"), Follower.case_id.in_(bindparam("cases", expanding=True))
)


@dataclass
class _New:
    """A case opened in this batch (its row, and the batch's reports that made or joined it)."""

    row: dict[str, Any]
    category_key: str
    grid_code: str
    id: int = 0


_sequences: dict[tuple[str, str], str] = {}


def _ids(conn: Connection, cases: int, reporters: int) -> tuple[list[int], list[int]]:
    """Ids for the new cases and reporters, known before the inserts (so that they need no RETURNING):
    from the tables' sequences on PostgreSQL; on SQLite after the largest id, which is safe because the
    transaction holds the database's write lock (BEGIN IMMEDIATE, core.db) as SQLite's own allocation is."""
    if not cases and not reporters:
        return [], []
    if conn.dialect.name == "postgresql":
        url = str(conn.engine.url)
        seqs = []
        for name in (CASES.name, REPORTERS.name):
            seq = _sequences.get((url, name))
            if seq is None:
                seq = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (name,)).scalar()
                _sequences[(url, name)] = seq
            seqs.append(seq)
        row = conn.exec_driver_sql(
            "SELECT ARRAY(SELECT nextval(%s) FROM generate_series(1, %s)), "
            "ARRAY(SELECT nextval(%s) FROM generate_series(1, %s))",
            (seqs[0], cases, seqs[1], reporters),
        ).one()
        return list(row[0]), list(row[1])
    row = conn.exec_driver_sql(
        f"SELECT (SELECT coalesce(max(id), 0) FROM {CASES.name}), "
        f"(SELECT coalesce(max(id), 0) FROM {REPORTERS.name})"
    ).one()
    return list(range(row[0] + 1, row[0] + 1 + cases)), list(range(row[1] + 1, row[1] + 1 + reporters))


def _replays(conn: Connection, tokens: list[str]) -> dict[str, Outcome]:
    rows = conn.execute(_REPLAYS, {"tokens": tokens}).all()
    if not rows:
        return {}
    firsts = dict(conn.execute(_FIRSTS, {"cases": sorted({r.case_id for r in rows})}).all())
    return {
        r.client_token: Outcome(
            r.case_id, _number(r.reported_on, r.case_id), r.status, firsts[r.case_id] != r.id, r.id, True
        )
        for r in rows
    }


_PICK = "SELECT c.id, c.category_id, c.h3, c.lng, c.lat, c.reported_at, c.reported_on, c.status"


def _candidates(
    conn: Connection, wanted: set[tuple[int, int]], since: dt.datetime
) -> dict[tuple[int, int], list[tuple[int, float, float, dt.datetime, dt.date, str]]]:
    """The open cases of the batch's (category, H3 cell) pairs reported since `since`, by pair: one query
    for the whole batch (candidates_query). Closed cases are dropped here, not in SQL (intake.MAX_CANDIDATES
    says why)."""
    sql, params = candidates_query(conn, sorted(wanted), since)
    at_out = CASES.c.reported_at.type._cached_result_processor(conn.dialect, None)
    on_out = CASES.c.reported_on.type._cached_result_processor(conn.dialect, None)
    out: dict[tuple[int, int], list[tuple[int, float, float, dt.datetime, dt.date, str]]] = defaultdict(list)
    for r in conn.exec_driver_sql(sql, params):
        if r[7] not in vocab.OPEN:
            continue
        at = at_out(r[5]) if at_out else r[5]
        on = on_out(r[6]) if on_out else r[6]
        out[(r[1], r[2])].append((r[0], r[3], r[4], at, on, r[7]))
    return out


def candidates_query(
    conn: Connection, pairs: list[tuple[int, int]], since: dt.datetime
) -> tuple[str, tuple[Any, ...]]:
    """The candidate search's SQL and parameters: the (category, cell) pairs joined to the cases so that
    each is looked up in the duplicate index (category, h3, reported_at). PostgreSQL gets the pairs as two
    arrays (one statement text, prepared once), each looked up by a LATERAL subquery that OFFSET 0 keeps
    from being flattened into a join: on statistics older than the table's growth the planner otherwise
    hashes the pairs against a scan of the whole table, whose cost grows with every case stored. SQLite
    gets a VALUES list."""
    at_in = CASES.c.reported_at.type._cached_bind_processor(conn.dialect)
    at = at_in(since) if at_in else since
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT c.* FROM unnest(%s::integer[], %s::bigint[]) AS v (category_id, h3) "
            f"CROSS JOIN LATERAL ({_PICK} FROM cityops_case c WHERE c.category_id = v.category_id "
            "AND c.h3 = v.h3 AND c.reported_at >= %s OFFSET 0) AS c"
        )
        return sql, ([p[0] for p in pairs], [p[1] for p in pairs], at)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"{_PICK} FROM (VALUES {', '.join([f'({mark}, {mark})'] * len(pairs))}) AS v "
        "JOIN cityops_case c ON c.category_id = v.column1 AND c.h3 = v.column2 "
        f"WHERE c.reported_at >= {mark}"
    )
    return sql, (*(v for pair in pairs for v in pair), at)


def _nearest_stored(
    found: dict[tuple[int, int], list[tuple[int, float, float, dt.datetime, dt.date, str]]],
    category_id: int,
    cells: list[int],
    item: Item,
) -> tuple[float, int, dt.date, str] | None:
    """The nearest stored open case of the category within the radius, reported within the window."""
    since = item.at - dt.timedelta(hours=item.rules.hours)
    best = None
    for cell in cells:
        for case_id, lng, lat, at, on, status in found.get((category_id, cell), ()):
            if at < since:
                continue
            d = h3.great_circle_distance((item.lat, item.lng), (lat, lng), "m")
            if d <= item.rules.radius_m and (best is None or (d, case_id) < best[:2]):
                best = (d, case_id, on, status)
    return best


def _nearest_new(new: list[_New], category_id: int, item: Item) -> tuple[float, int] | None:
    rules = item.rules
    since = item.at - dt.timedelta(hours=rules.hours)
    best = None
    for j, n in enumerate(new):
        row = n.row
        if row["category_id"] != category_id or row["reported_at"] < since:
            continue
        d = h3.great_circle_distance((item.lat, item.lng), (row["lat"], row["lng"]), "m")
        if d <= rules.radius_m and (best is None or d < best[0]):
            best = (d, j)
    return best


def write(conn: Connection, url: str, items: list[Item]) -> list[Outcome | DomainError]:
    """Write a batch of reports in the caller's transaction on `conn`; one answer per item, in order: the
    outcome, or the DomainError of a report that broke a rule (and wrote nothing). Any other exception is
    the transaction's failure."""
    results: list[Outcome | DomainError | None] = [None] * len(items)
    gens = cache.generations(conn)
    first: dict[str, int] = {}
    later: list[int] = []  # a second report with an Idempotency-Key of this batch: replayed once it is in
    for i, it in enumerate(items):
        if it.recheck is not None and (refused := it.recheck(gens)) is not None:
            results[i] = refused
            continue
        if it.token is not None:
            if it.token in first:
                later.append(i)
            else:
                first[it.token] = i
    replays = _replays(conn, list(first)) if first else {}
    grids, _ = index.current(SimpleNamespace(url=url), conn, gens)  # type: ignore[arg-type]
    table = categories.table(conn, url, gens)
    now = utcnow()
    new: list[_New] = []
    # per report: ("stored", case id, reported_on, status) | ("new", index in `new`)
    target: dict[int, tuple[Any, ...]] = {}
    merged_stored: dict[int, int] = defaultdict(int)
    skip = set(later)
    placed: list[tuple[int, Any, Any, int, list[int]]] = []  # (item, grid, category, cell, k-ring)
    wanted: set[tuple[int, int]] = set()
    locking = dedupe.locking(conn)
    keys: set[int] = set()  # the advisory locks (cityops.dedupe), taken before the candidates are read
    since: dt.datetime | None = None
    for i, it in enumerate(items):
        if results[i] is not None:
            continue
        if i in skip:
            if locking:
                keys |= _later_keys(it, table)
            continue
        if it.token is not None and it.token in replays:
            results[i] = replays[it.token]
            continue
        if it.error is not None:
            results[i] = it.error
            continue
        grid = grids.locate(it.lng, it.lat)
        if grid is None:
            results[i] = outside_city(it.lng, it.lat)
            continue
        try:
            category = table.category(it.data.category)
        except DomainError as exc:
            results[i] = exc
            continue
        cell = h3.latlng_to_cell(it.lat, it.lng, vocab.H3_RES)
        ring: list[int] = []
        if it.rules.radius_m > 0 and it.rules.hours > 0:
            ring = list(h3.grid_disk(cell, ring_size(it.rules.radius_m)))
            wanted.update((category.id, c) for c in ring)
            if locking:
                keys |= dedupe.keys(category.id, ring)
            start = it.at - dt.timedelta(hours=it.rules.hours)
            since = start if since is None or start < since else since
        placed.append((i, grid, category, cell, ring))
    dedupe.lock(conn, keys)
    found = _candidates(conn, wanted, since) if wanted and since is not None else {}
    for i, grid, category, cell, ring in placed:
        it = items[i]
        stored = near = None
        if ring:
            stored = _nearest_stored(found, category.id, ring, it)
            near = _nearest_new(new, category.id, it)
        if stored is not None and (near is None or stored[0] <= near[0]):
            target[i] = ("stored", *stored[1:])
            merged_stored[stored[1]] += 1
            continue
        if near is not None:
            target[i] = ("new", near[1])
            new[near[1]].row["report_count"] += 1
            continue
        hotline = it.data.hotline
        row = {
            "channel": it.channel,
            "category_id": category.id,
            "grid_id": grid.id,
            "division_code": grid.code[:12],
            "lng": it.lng,
            "lat": it.lat,
            "h3": cell,
            "address": it.data.address.strip(),
            "description": it.data.description.strip(),
            "status": "reported",
            "routed_department_id": table.route(category.id, grid.code),
            "department_id": None,
            "report_count": 1,
            "extension_days": 0,
            "rework_count": 0,
            "version": 1,
            "reported_at": it.at,
            "reported_on": it.today or local_date(it.at),
            "work_order_no": hotline.work_order_no if hotline else None,
            "caller_name": hotline.caller_name if hotline else None,
            "caller_phone": hotline.caller_phone if hotline else None,
            "created_by": it.actor.label,
            "updated_at": now,
        }
        target[i] = ("new", len(new))
        new.append(_New(row, category.key, grid.code))

    order = sorted(target)
    case_ids, reporter_ids = _ids(conn, len(new), len(order))
    if new:
        for n, case_id in zip(new, case_ids, strict=True):
            n.id = n.row["id"] = case_id
        bulk.insert(conn, CASES, [n.row for n in new])
        bulk.insert(
            conn,
            EVENTS,
            [
                {
                    "case_id": n.id,
                    "at": now,
                    "kind": "reported",
                    "status": "reported",
                    "actor": n.row["created_by"],
                    "public": True,
                    "note": "",
                    "data": {"channel": n.row["channel"]},
                }
                for n in new
            ],
        )
    if merged_stored:
        conn.execute(_MERGE, [{"case_id": c, "n": k, "now": now} for c, k in sorted(merged_stored.items())])
    if order:
        rows = []
        for i, reporter_id in zip(order, reporter_ids, strict=True):
            it, t = items[i], target[i]
            data = it.data
            rows.append(
                {
                    "id": reporter_id,
                    "case_id": t[1] if t[0] == "stored" else new[t[1]].id,
                    "channel": it.channel,
                    "name": (data.reporter.name if data.reporter else None)
                    or (data.hotline.caller_name if data.hotline else None),
                    "phone": (data.reporter.phone if data.reporter else None)
                    or (data.hotline.caller_phone if data.hotline else None),
                    "party_id": None,
                    "user_id": it.actor.user_id if it.actor.kind == "user" else None,
                    "external_id": data.reporter.external_id if data.reporter else None,
                    "text": data.description,
                    "lng": it.lng,
                    "lat": it.lat,
                    "client_token": it.token,
                    "actor": it.actor.label,
                    "at": it.at,
                }
            )
        bulk.insert(conn, REPORTERS, rows)
        opened: set[int] = set()
        entries = []
        for i, row, reporter_id in zip(order, rows, reporter_ids, strict=True):
            it, t = items[i], target[i]
            case_id = row["case_id"]
            if t[0] == "stored":
                results[i] = Outcome(case_id, _number(t[2], case_id), t[3], True, reporter_id)
                entries.append(
                    entry(
                        it.actor,
                        "cityops:case:merge",
                        f"case:{case_id}",
                        {"channel": it.channel, "reporter": reporter_id},
                    )
                )
            elif case_id in opened:
                n = new[t[1]]
                results[i] = Outcome(
                    case_id, _number(n.row["reported_on"], case_id), "reported", True, reporter_id
                )
                entries.append(
                    entry(
                        it.actor,
                        "cityops:case:merge",
                        f"case:{case_id}",
                        {"channel": it.channel, "reporter": reporter_id},
                    )
                )
            else:
                opened.add(case_id)
                n = new[t[1]]
                results[i] = Outcome(
                    case_id, _number(n.row["reported_on"], case_id), "reported", False, reporter_id
                )
                entries.append(
                    entry(
                        it.actor,
                        "cityops:case:report",
                        f"case:{case_id}",
                        {
                            "channel": it.channel,
                            "category": n.category_key,
                            "grid": n.grid_code,
                            "lng": it.lng,
                            "lat": it.lat,
                        },
                    )
                )
        _follow(
            conn,
            [(items[i], r["case_id"], target[i][0] == "stored") for i, r in zip(order, rows, strict=True)],
        )
        rollup.opened(conn, [n.row for n in new])
        bulk.insert(conn, AUDIT, entries)
    if later:
        for i, out in zip(later, write(conn, url, [items[i] for i in later]), strict=True):
            results[i] = out
    return results  # type: ignore[return-value]


def _later_keys(item: Item, table: categories.Table) -> set[int]:
    """The locks of a report written after the batch (write's recursion: an Idempotency-Key used again in
    it), taken with the batch's own: a transaction that takes more locks after it has written could wait
    in a cycle with another. Its point and class are valid unless the report itself is refused later."""
    rules = item.rules
    if item.error is not None or rules.radius_m <= 0 or rules.hours <= 0:
        return set()
    try:
        category = table.category(item.data.category)
    except DomainError:
        return set()
    cell = h3.latlng_to_cell(item.lat, item.lng, vocab.H3_RES)
    return dedupe.keys(category.id, h3.grid_disk(cell, ring_size(rules.radius_m)))


def _follow(conn: Connection, placed: list[tuple[Item, int, bool]]) -> None:
    """A citizen reporting through the app follows the case (once)."""
    wanted: dict[tuple[int, int], bool] = {}
    for it, case_id, stored in placed:
        user = it.actor.user_id
        if it.channel == "app" and it.actor.kind == "user" and user is not None:
            wanted.setdefault((case_id, user), stored)
    if not wanted:
        return
    by_user: dict[int, list[int]] = defaultdict(list)
    for (case_id, user), stored in wanted.items():
        if stored:
            by_user[user].append(case_id)
    have = {
        (case_id, user)
        for user, cases in by_user.items()
        for case_id in conn.execute(_FOLLOWING, {"user": user, "cases": cases}).scalars()
    }
    now = utcnow()
    rows = [{"case_id": c, "user_id": u, "at": now} for (c, u) in sorted(wanted) if (c, u) not in have]
    if rows:
        conn.execute(_INSERT_FOLLOWERS, rows)

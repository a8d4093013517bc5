"""Intake: the one service every channel calls (12345 hotline, grid workers, sensors, drones, video AI,
Open311, the citizens' app). `report` normalises the point from its declared system to WGS-84, assigns the
grid (the in-process H3 index), looks up the category and the routing rule (an in-process table), looks for
an open case of the same category nearby (H3 cell + k-ring, then the exact great-circle distance), and
either opens a case or merges the report into the nearest one.

Kept lean for the hot path: one read of the cache generations (grid index and category table together),
the duplicate search (one indexed query on category, cell and time; on PostgreSQL after one statement taking
the advisory locks that make it race-free across processes, cityops.dedupe), then the inserts; the audit
record is written with the commit. An Idempotency-Key adds one indexed lookup.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import h3.api.basic_int as h3
from sqlalchemy import select, update

from zhicheng.cityops import categories, dedupe, index, vocab
from zhicheng.cityops.models import Case, CaseEvent, Follower, Reporter
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core import cache
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Invalid
from zhicheng.core.geo import crs as C

EDGE_M = h3.average_hexagon_edge_length(vocab.H3_RES, "m") * 0.8  # cells vary; count on smaller ones
MAX_CANDIDATES = 200  # the latest cases of the class in the ring and window a report is compared with
# Both duplicate searches (here and cityops.batch_write) ask SQL only for the class, the
# cells and the window, and drop closed cases themselves. With a status condition in the query, PostgreSQL
# on statistics gathered when the table was smaller (a bulk load, a busy hour before autoanalyze) chose the
# status index and read every open case of the city for each batch: 4.5 ms at 12,000 cases, 390 ms at
# 27,000. Without it the (category, h3, reported_at) index is the only one that fits.


@dataclass(frozen=True)
class Rules:
    """The duplicate rule (settings cityops_duplicate_radius_m and cityops_duplicate_hours)."""

    radius_m: float = 50.0
    hours: float = 24.0

    @classmethod
    def of(cls, settings: object) -> Rules:
        return cls(
            float(getattr(settings, "cityops_duplicate_radius_m", 50.0)),
            float(getattr(settings, "cityops_duplicate_hours", 24.0)),
        )


@dataclass
class Outcome:
    case_id: int
    number: str
    status: str
    merged: bool
    reporter_id: int
    replayed: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def shown(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "number": self.number,
            "status": self.status,
            "merged": self.merged,
            "reporter_id": self.reporter_id,
            "replayed": self.replayed,
        }


def ring_size(radius_m: float) -> int:
    """The k of the k-ring whose cells hold every point within `radius_m` of a point in the centre cell."""
    return max(1, math.ceil((radius_m + 2 * EDGE_M) / (1.5 * EDGE_M)))


def where(data: ReportIn) -> tuple[float, float]:
    """The report's point in WGS-84, from the system it declares (Invalid for a point that is no point)."""
    system = C.system(data.location.crs)
    x, y = C.check(data.location.lng, data.location.lat, system)
    return C.to_wgs84(x, y, system)


def when(data: ReportIn, now: dt.datetime) -> dt.datetime:
    """When it was observed, in UTC, never later than `now` (a clock ahead does not date a report ahead)."""
    at = data.reported_at or now
    if at.tzinfo is None:
        raise Invalid("上报时间必须带时区", "reported_at must carry a time zone")
    return min(at.astimezone(dt.UTC), now)


def outside_city(lng: float, lat: float) -> Invalid:
    return Invalid(
        f"上报位置（{lng:.6f}, {lat:.6f}，WGS-84）不在本市任何网格内",
        f"the point ({lng:.6f}, {lat:.6f}, WGS-84) is outside the city (in no grid)",
        point={"lng": lng, "lat": lat, "crs": C.WGS84},
    )


def _number(reported_on: dt.date, case_id: int) -> str:
    return f"{reported_on:%Y%m%d}-{case_id:06d}"


def _replay(uow: UnitOfWork, token: str) -> Outcome | None:
    row = uow.session.execute(
        select(Reporter.id, Reporter.case_id, Case.reported_on, Case.status, Case.report_count)
        .join(Case, Case.id == Reporter.case_id)
        .where(Reporter.client_token == token)
    ).first()
    if row is None:
        return None
    first = uow.session.scalar(
        select(Reporter.id).where(Reporter.case_id == row.case_id).order_by(Reporter.id)
    )
    return Outcome(
        row.case_id, _number(row.reported_on, row.case_id), row.status, first != row.id, row.id, True
    )


def _url(conn: object) -> str:
    return conn.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]


def report(
    uow: UnitOfWork,
    data: ReportIn,
    *,
    channel: str,
    today: dt.date | None = None,
    rules: Rules = Rules(),
    idempotency_key: str | None = None,
) -> Outcome:
    """Take one report. Invalid for an unknown channel or category, a bad point, or a point outside every
    grid ("outside the city"). Returns the case it opened or merged into; with an Idempotency-Key that was
    used before by the same caller, the first answer again (`replayed`) and nothing written."""
    if channel not in vocab.CHANNELS:
        raise Invalid(f"未知的上报渠道：{channel}", f"unknown channel: {channel}")
    token = None
    if idempotency_key:
        token = f"{uow.actor.label}|{idempotency_key}"[:250]
        found = _replay(uow, token)
        if found is not None:
            return found
    lng, lat = where(data)
    s = uow.session
    conn = s.connection()
    url = _url(conn)
    gens = cache.generations(conn)
    grid_index, _ = index.current(SimpleNamespace(url=url), conn, gens)  # type: ignore[arg-type]
    grid = grid_index.locate(lng, lat)
    if grid is None:
        raise outside_city(lng, lat)
    table = categories.table(conn, url, gens)
    category = table.category(data.category)
    now = utcnow()
    at = when(data, now)
    cell = h3.latlng_to_cell(lat, lng, vocab.H3_RES)
    reporter = Reporter(
        channel=channel,
        name=(data.reporter.name if data.reporter else None)
        or (data.hotline.caller_name if data.hotline else None),
        phone=(data.reporter.phone if data.reporter else None)
        or (data.hotline.caller_phone if data.hotline else None),
        user_id=uow.actor.user_id if uow.actor.kind == "user" else None,
        external_id=data.reporter.external_id if data.reporter else None,
        text=data.description,
        lng=lng,
        lat=lat,
        client_token=token,
        actor=uow.actor.label,
        at=at,
    )
    merged = _nearest(uow, category.id, cell, lng, lat, at, rules)
    if merged is not None:
        case_id, reported_on, status = merged
        s.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(report_count=Case.report_count + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        reporter.case_id = case_id
        s.add(reporter)
        _follow(uow, case_id, channel, existing=True)
        s.flush()
        uow.record("cityops:case:merge", f"case:{case_id}", {"channel": channel, "reporter": reporter.id})
        return Outcome(case_id, _number(reported_on, case_id), status, True, reporter.id)
    hotline = data.hotline
    case = Case(
        channel=channel,
        category_id=category.id,
        grid_id=grid.id,
        division_code=grid.code[:12],
        lng=lng,
        lat=lat,
        h3=cell,
        address=data.address.strip(),
        description=data.description.strip(),
        status="reported",
        routed_department_id=table.route(category.id, grid.code),
        report_count=1,
        reported_at=at,
        reported_on=today or local_date(at),
        work_order_no=hotline.work_order_no if hotline else None,
        caller_name=hotline.caller_name if hotline else None,
        caller_phone=hotline.caller_phone if hotline else None,
        created_by=uow.actor.label,
        updated_at=now,
    )
    s.add(case)
    s.flush()
    reporter.case_id = case.id
    s.add(reporter)
    s.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind="reported",
            status="reported",
            actor=uow.actor.label,
            data={"channel": channel},
        )
    )
    _follow(uow, case.id, channel, existing=False)
    s.flush()
    uow.record(
        "cityops:case:report",
        f"case:{case.id}",
        {"channel": channel, "category": category.key, "grid": grid.code, "lng": lng, "lat": lat},
    )
    return Outcome(case.id, case.number, case.status, False, reporter.id)


def _nearest(
    uow: UnitOfWork, category_id: int, cell: int, lng: float, lat: float, at: dt.datetime, rules: Rules
) -> tuple[int, dt.date, str] | None:
    """The nearest open case of the category within the radius, reported within the window before `at`.
    On PostgreSQL the search waits for any transaction deciding on a report of the category nearby, so it
    sees the case that one opens (cityops.dedupe)."""
    if rules.radius_m <= 0 or rules.hours <= 0:
        return None
    cells = list(h3.grid_disk(cell, ring_size(rules.radius_m)))
    conn = uow.session.connection()
    if dedupe.locking(conn):
        dedupe.lock(conn, dedupe.keys(category_id, cells))
    rows = uow.session.execute(
        select(Case.id, Case.lng, Case.lat, Case.reported_on, Case.status)
        .where(
            Case.category_id == category_id,
            Case.h3.in_(cells),
            Case.reported_at >= at - dt.timedelta(hours=rules.hours),
        )
        .order_by(Case.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    best: tuple[float, int, dt.date, str] | None = None
    for r in rows:
        if r.status not in vocab.OPEN:  # not in SQL: MAX_CANDIDATES says why
            continue
        d = h3.great_circle_distance((lat, lng), (r.lat, r.lng), "m")
        if d <= rules.radius_m and (best is None or d < best[0]):
            best = (d, r.id, r.reported_on, r.status)
    return None if best is None else best[1:]


def _follow(uow: UnitOfWork, case_id: int, channel: str, existing: bool) -> None:
    """A citizen reporting through the app follows the case."""
    user_id = uow.actor.user_id
    if channel != "app" or uow.actor.kind != "user" or user_id is None:
        return
    if existing and uow.session.scalar(
        select(Follower.id).where(Follower.case_id == case_id, Follower.user_id == user_id)
    ):
        return
    uow.session.add(Follower(case_id=case_id, user_id=user_id, at=utcnow()))

"""Group-committed intake (cityops.batch) and its fast lane (cityops.lane): the same rules as intake.report —
grid, routing, duplicates (also within one batch), Idempotency-Key, one audit record per report, roll-ups
equal to a recount — with concurrent reports written together and a bad report sinking no other."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time

import h3.api.basic_int as h3
import pytest
from sqlalchemy import func, select

from tests.cityops.conftest import MANHOLE, ME, SHED, centre, report_body, xuanwu_code
from zhicheng.cityops import batch, batch_write, dedupe, intake, rollup, vocab
from zhicheng.cityops.models import Case, CaseEvent, Reporter
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core import bulk
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import TokenIn
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Invalid

URL = "/api/v1/cityops/reports"
SYSTEM = Actor(kind="system", name="batch-test")


def _item(body: dict, channel: str = "sensor", **kw) -> batch.Item:  # noqa: ANN003
    return batch.prepare(SYSTEM, ReportIn(**body), channel=channel, **kw)


def _count(db: Database, what) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(what)) or 0


def _tags(db: Database) -> list[str]:
    with db.read() as s:
        return sorted(s.scalars(select(AuditRecord.tag).where(AuditRecord.tag.like("cityops:case:%"))))


def _rollups_match(db: Database) -> None:
    with db.read() as s:
        conn = s.connection()
        assert rollup.stored(conn) == rollup.recount(conn)


def _token(db: Database, org_id: int, role: str) -> str:
    with unit_of_work(db, ME) as uow:
        _, raw = auth.create_token(uow, TokenIn(name=f"{role}-feed", org_id=org_id, roles=[role], days=1))
    return raw


def _revoke(db: Database, raw: str) -> None:
    from zhicheng.core.auth.models import ApiToken

    with unit_of_work(db, ME) as uow:
        token_id = uow.session.scalar(select(ApiToken.id).where(ApiToken.key == raw.split("_")[1]))
        auth.revoke_token(uow, token_id)


# --- one batch, written in the test's transaction ----------------------------------------------------------


def test_batch_merges_duplicates_within_itself(db, city) -> None:  # noqa: ANN001
    x, y = centre(3, 3)
    items = [
        _item(report_body(lng=x, lat=y)),
        _item(report_body(lng=x + 0.0003, lat=y), channel="hotline"),  # ~28 m: joins the first
        _item(report_body(lng=x + 0.0008, lat=y)),  # ~75 m: a case of its own
        _item(report_body(MANHOLE, lng=x, lat=y)),  # another category
        _item(report_body(lng=x - 0.0002, lat=y)),  # ~19 m from the first
    ]
    first, near, far, manhole, west = batch.run(db, items)
    assert not first.merged and not far.merged and not manhole.merged
    assert near.merged and west.merged and near.case_id == west.case_id == first.case_id
    assert len({first.case_id, far.case_id, manhole.case_id}) == 3
    assert near.number == first.number and near.status == "reported"
    with db.read() as s:
        case = s.get(Case, first.case_id)
        assert case.report_count == 3 and case.routed_department_id == city["urban"]
        assert case.division_code == xuanwu_code(3, 3)[:12]
        assert s.get(Case, manhole.case_id).routed_department_id == city["street"]
        channels = s.scalars(select(Reporter.channel).where(Reporter.case_id == case.id)).all()
        assert sorted(channels) == ["hotline", "sensor", "sensor"]
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        assert [(e.kind, e.status, e.public, e.data) for e in events] == [
            ("reported", "reported", True, {"channel": "sensor"})
        ]
        assert abs((case.reported_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60
        assert case.reported_on == local_date(case.reported_at) and case.version == 1
        record = s.scalars(
            select(AuditRecord).where(AuditRecord.subject == f"case:{case.id}").order_by(AuditRecord.id)
        ).first()  # the report's record, written before its merges
        assert json.loads(record.change)["grid"] == xuanwu_code(3, 3) and record.actor == "system:batch-test"
    assert _tags(db) == ["cityops:case:merge"] * 2 + ["cityops:case:report"] * 3
    _rollups_match(db)
    # the next batch merges into stored cases as intake.report does, and the ORM path into batch cases
    again = batch.run(db, [_item(report_body(lng=x + 0.0001, lat=y))])[0]
    assert again.merged and again.case_id == first.case_id
    with unit_of_work(db, ME) as uow:
        orm = intake.report(uow, ReportIn(**report_body(MANHOLE, lng=x, lat=y)), channel="grid")
    assert orm.merged and orm.case_id == manhole.case_id
    with db.read() as s:
        assert s.get(Case, first.case_id).report_count == 4
    _rollups_match(db)


def test_a_bad_report_sinks_no_other(db, city) -> None:  # noqa: ANN001
    x, y = centre(1, 1)
    items = [
        _item(report_body(lng=x, lat=y)),
        _item(report_body(lng=116.4, lat=39.9)),  # outside the city
        _item(report_body("event:9999", lng=x, lat=y)),  # unknown category
        _item(report_body(crs="mars2")),  # unknown coordinate system
        _item(report_body(MANHOLE, lng=x, lat=y)),
    ]
    ok, outside, unknown, mars, manhole = batch.run(db, items)
    assert isinstance(outside, Invalid) and "outside the city" in outside.detail_en
    assert isinstance(unknown, Invalid) and "unknown category" in unknown.detail_en
    assert isinstance(mars, Invalid)
    assert not ok.merged and not manhole.merged
    assert _count(db, Case) == 2 and _count(db, Reporter) == 2
    with pytest.raises(Invalid, match="unknown channel"):
        _item(report_body(), channel="pigeon")


def test_a_failed_transaction_is_retried_report_by_report(db, city, monkeypatch) -> None:  # noqa: ANN001
    real = batch.write

    def poisoned(conn, url, items):  # noqa: ANN001, ANN202
        if any(it.data.description == "poison" for it in items):
            raise RuntimeError("the database refused the batch")
        return real(conn, url, items)

    monkeypatch.setattr(batch, "write", poisoned)
    rows = [centre(0, c) for c in range(4)]
    items = [_item(report_body(lng=x, lat=y)) for x, y in rows]
    items[2] = _item(report_body(lng=rows[2][0], lat=rows[2][1], description="poison"))
    results = batch.run(db, items)
    assert isinstance(results[2], RuntimeError)
    assert all(not r.merged for i, r in enumerate(results) if i != 2)
    assert _count(db, Case) == 3 and _count(db, Reporter) == 3
    assert _tags(db) == ["cityops:case:report"] * 3
    _rollups_match(db)


def test_idempotency_key_within_and_across_batches(db, city) -> None:  # noqa: ANN001
    x, y = centre(4, 4)
    body = report_body(lng=x, lat=y)
    first, twin, other = batch.run(
        db,
        [
            _item(body, idempotency_key="device-42-0001"),
            _item(body, idempotency_key="device-42-0001"),
            _item(report_body(lng=x, lat=y + 0.0002), idempotency_key="device-42-0002"),
        ],
    )
    assert not first.replayed and twin.replayed and twin.case_id == first.case_id
    assert twin.reporter_id == first.reporter_id and not twin.merged
    assert other.merged and other.case_id == first.case_id and not other.replayed
    later = batch.run(db, [_item(body, idempotency_key="device-42-0002")])[0]
    assert later.replayed and later.merged and later.reporter_id == other.reporter_id
    # a retry is answered from the first report even when its point would now be refused
    bad = batch.run(db, [_item(report_body(lng=116.4, lat=39.9), idempotency_key="device-42-0001")])[0]
    assert bad.replayed and bad.case_id == first.case_id
    assert _count(db, Reporter) == 2 and len(_tags(db)) == 2


def test_a_batch_takes_all_its_duplicate_locks_at_once(db, city, monkeypatch) -> None:  # noqa: ANN001
    """One lock statement before the candidates are read, holding the keys of every report, also of one
    written after the batch (its Idempotency-Key's first report was refused): taking more locks after
    writing could wait in a cycle with another transaction (cityops.dedupe)."""
    taken: list[set[int]] = []
    monkeypatch.setattr(dedupe, "locking", lambda conn: True)  # the keys gathered on SQLite too
    monkeypatch.setattr(dedupe, "lock", lambda conn, wanted: taken.append(set(wanted)))
    x, y = centre(2, 2)
    far = centre(5, 5)
    refused, written, other = batch.run(
        db,
        [
            _item(report_body(lng=116.4, lat=39.9), idempotency_key="device-7-0001"),  # outside the city
            _item(report_body(lng=x, lat=y), idempotency_key="device-7-0001"),  # so this one is written
            _item(report_body(lng=far[0], lat=far[1])),
        ],
    )
    assert isinstance(refused, Invalid) and not written.replayed and not other.merged
    with db.read() as s:
        shed = s.scalar(select(Case.category_id).where(Case.id == written.case_id))
    ring = intake.ring_size(intake.Rules().radius_m)
    mine, theirs = (
        dedupe.keys(shed, h3.grid_disk(h3.latlng_to_cell(lat, lng, vocab.H3_RES), ring))
        for lng, lat in ((x, y), far)
    )
    assert taken[0] == mine | theirs and all(t <= taken[0] for t in taken[1:])


# --- the fast lane over HTTP ----------------------------------------------------------------------------


def test_lane_answers_as_the_route(db, city, app) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from tests import personas

    token = _token(db, personas.WORLD.city, "hotline_agent")
    feed = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {token}"})
    body = report_body(hotline={"work_order_no": "GD20261009001", "caller_name": "孙先生"})
    key = {"Idempotency-Key": "call-0001-abc"}
    r = feed.post(URL, params={"channel": "hotline"}, json=body, headers=key)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    out = r.json()
    assert set(out) == {"case_id", "number", "status", "merged", "reporter_id", "replayed"}
    assert not out["merged"] and out["status"] == "reported"
    with db.read() as s:
        case = s.get(Case, out["case_id"])
        assert out["number"] == case.number and case.work_order_no == "GD20261009001"
        assert case.caller_name == "孙先生" and case.routed_department_id == city["urban"]
        assert (
            s.scalar(select(Reporter.actor).where(Reporter.case_id == case.id)) == "system:hotline_agent-feed"
        )
    again = feed.post(URL, params={"channel": "hotline"}, json=body, headers=key)
    assert again.status_code == 200 and again.json() == {**out, "replayed": True}
    merged = feed.post(
        URL, params={"channel": "grid"}, json=body, headers={"Idempotency-Key": "call-0002-abc"}
    )
    assert (
        merged.status_code == 200 and merged.json()["merged"] and merged.json()["case_id"] == out["case_id"]
    )
    assert _tags(db) == ["cityops:case:merge", "cityops:case:report"]

    def problem(resp, status: int, text: str) -> None:  # noqa: ANN001
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"] == "application/problem+json" and text in resp.text

    problem(feed.post(URL, json=body), 422, "name the channel")
    problem(
        feed.post(URL, params={"channel": "hotline"}, json=report_body(lng=116.4, lat=39.9)), 422, "outside"
    )
    problem(
        feed.post(URL, params={"channel": "hotline"}, json=report_body("part:9999")), 422, "unknown category"
    )
    problem(feed.post(URL, params={"channel": "pigeon"}, json=body), 422, "unknown channel")
    # what FastAPI validates is handed on to the route: the same 422 with its list of errors
    missing = feed.post(URL, params={"channel": "grid"}, json={"category": SHED})
    problem(missing, 422, "location")
    assert missing.json()["errors"][0]["loc"][-1] == "location"
    short = feed.post(URL, params={"channel": "grid"}, json=body, headers={"Idempotency-Key": "short"})
    problem(short, 422, "idempotency-key")
    json_type = {"Content-Type": "application/json"}
    problem(
        feed.post(URL, params={"channel": "grid"}, content=b"{not json", headers=json_type), 422, "invalid"
    )
    # callers without the permissions, or without a valid token, are answered by the guard and the route
    outsider = TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {personas.SYSTEM_TOKEN}"}
    )
    problem(outsider.post(URL, params={"channel": "grid"}, json=body), 403, "no permission to report")
    forged = TestClient(app, raise_server_exceptions=False, headers={"Authorization": "Bearer zc_0000_nope"})
    problem(forged.post(URL, params={"channel": "grid"}, json=body), 401, "token")
    citizen_app = _token(db, personas.WORLD.city, "city_reporter")
    citizen = TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {citizen_app}"}
    )
    problem(citizen.post(URL, params={"channel": "hotline"}, json=body), 403, "app channel")
    mine = citizen.post(URL, json=report_body(MANHOLE))
    assert mine.status_code == 201
    with db.read() as s:
        assert s.scalar(select(Reporter.channel).where(Reporter.id == mine.json()["reporter_id"])) == "app"
    assert _count(db, Reporter) == 3
    _rollups_match(db)
    # a token revoked after the lane has verified it is refused by the very next report, nothing written
    _revoke(db, token)
    problem(feed.post(URL, params={"channel": "grid"}, json=report_body(MANHOLE)), 401, "revoked")
    assert _count(db, Reporter) == 3
    for c in (feed, outsider, forged, citizen):
        c.close()


# --- concurrency: real commits on a database of the test's own ----------------------------------------------


class TestConcurrent:
    @pytest.fixture
    def db(self, fresh_url):  # noqa: ANN001, ANN201 - the conftest fixtures (city …) build on this one
        live = Database(fresh_url)
        yield live
        live.dispose()

    def test_threads_are_written_together(self, db, city, monkeypatch) -> None:  # noqa: ANN001
        """N threads report at once: the first leads a batch of one and is held until every other has
        queued; they form the second batch. Duplicates merge across and within the batches."""
        n = 12
        group = batch._batchers(db)
        sizes: list[int] = []
        real = batch.run

        def held(database, items):  # noqa: ANN001, ANN202
            if not sizes:
                deadline = time.monotonic() + 20
                while len(group.queue) < n - 1 and time.monotonic() < deadline:
                    time.sleep(0.005)
            sizes.append(len(items))
            return real(database, items)

        monkeypatch.setattr(batch, "run", held)
        x, y = centre(2, 3)
        bodies = [report_body(lng=x + 0.0001 * (i % 3), lat=y) for i in range(6)]  # one place: one case
        bodies += [report_body(lng=centre(5, c)[0], lat=centre(5, c)[1]) for c in range(6)]  # six places
        results: list[object] = [None] * n
        start = threading.Barrier(n)

        def one(i: int) -> None:
            start.wait()
            if i:
                time.sleep(0.05)  # the first thread leads
            results[i] = group.submit(_item(bodies[i], idempotency_key=f"thread-{i:04d}"))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sizes == [1, n - 1]
        assert all(isinstance(r, intake.Outcome) for r in results)
        place = {r.case_id for r in results[:6]}
        assert len(place) == 1 and sum(not r.merged for r in results[:6]) == 1
        assert len({r.case_id for r in results[6:]} | place) == 7
        with db.read() as s:
            assert s.get(Case, place.pop()).report_count == 6
        assert _count(db, Reporter) == n and _count(db, Case) == 7
        assert len(_tags(db)) == n
        _rollups_match(db)
        # the same reports again (retries): the first answers, nothing written
        again = [group.submit(_item(bodies[i], idempotency_key=f"thread-{i:04d}")) for i in range(n)]
        assert [a.case_id for a in again] == [r.case_id for r in results] and all(a.replayed for a in again)
        assert _count(db, Reporter) == n

    def test_coroutines_share_one_commit(self, db, city, monkeypatch) -> None:  # noqa: ANN001
        sizes: list[int] = []
        real = batch.run

        def counted(database, items):  # noqa: ANN001, ANN202
            sizes.append(len(items))
            return real(database, items)

        monkeypatch.setattr(batch, "run", counted)
        x, y = centre(0, 5)
        items = [_item(report_body(lng=x, lat=y)) for _ in range(5)]
        items.append(_item(report_body(lng=116.4, lat=39.9)))

        async def all_at_once() -> list[object]:
            return await asyncio.gather(*(batch.submit_async(db, it) for it in items), return_exceptions=True)

        # a loop of its own in a thread of its own: Playwright's sync API (the browser tests, earlier in the
        # same session) keeps an event loop running in this thread, where asyncio.run() refuses to start
        results: list[object] = []
        runner = threading.Thread(target=lambda: results.extend(asyncio.run(all_at_once())))
        runner.start()
        runner.join()
        assert sizes == [6]
        assert isinstance(results[-1], Invalid)
        assert {r.case_id for r in results[:5]} == {results[0].case_id} and not results[0].merged
        assert _count(db, Reporter) == 5
        _rollups_match(db)


def test_batch_never_merges_into_closed_cases(db, city) -> None:  # noqa: ANN001
    """The candidate query reads open and closed cases alike (batch_write.candidates_query); the closed ones
    are dropped before the distance is compared."""
    x, y = centre(2, 2)
    first = batch.run(db, [_item(report_body(lng=x, lat=y))])[0]
    with unit_of_work(db, ME) as uow:
        uow.session.get(Case, first.case_id).status = "closed"
        uow.record("test:case:close", f"case:{first.case_id}")
    near, nearer = batch.run(
        db, [_item(report_body(lng=x + 0.0001, lat=y)), _item(report_body(lng=x, lat=y))]
    )
    assert not near.merged and near.case_id != first.case_id
    assert nearer.merged and nearer.case_id == near.case_id  # the open case of this batch, not the closed one
    single = intake.report
    with unit_of_work(db, ME) as uow:
        again = single(uow, ReportIn(**report_body(lng=x, lat=y)), channel="grid")
    assert again.merged and again.case_id == near.case_id


def test_the_candidate_query_probes_the_duplicate_index(db, city) -> None:  # noqa: ANN001
    """Thousands of cases stored since the statistics were gathered (a bulk load, a busy hour before
    autoanalyze): the candidate search must still look each (category, cell) pair up in the duplicate index
    rather than scan the cases, or every batch grows slower with every case stored."""
    rnd = __import__("random").Random(5)
    for _ in range(15):
        items = []
        for _ in range(200):
            row, col = rnd.randrange(4), rnd.randrange(4)
            x, y = centre(row, col)
            items.append(
                _item(report_body(lng=x + rnd.uniform(-0.004, 0.004), lat=y + rnd.uniform(-0.004, 0.004)))
            )
        batch.run(db, items)
    assert _count(db, Case) > 1_000
    x, y = centre(1, 2)
    with db.read() as s:
        category_id = s.scalar(select(Case.category_id).limit(1))
        ring = h3.grid_disk(h3.latlng_to_cell(y, x, vocab.H3_RES), 2)
        pairs = sorted((category_id, c) for c in ring)
        conn = s.connection()
        sql, params = batch_write.candidates_query(
            conn, pairs, dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
        )
        if conn.dialect.name == "postgresql":
            plan = json.dumps(conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar())
            assert "ix_cityops_case_dup" in plan and '"Seq Scan"' not in plan, plan
        else:
            plan = " | ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert "USING INDEX ix_cityops_case_dup" in plan and "SCAN c " not in plan + " ", plan


def test_batch_rows_read_back_exactly_as_written(db, city) -> None:  # noqa: ANN001
    """The batch's inserts (one JSON parameter per table on PostgreSQL, core.db.json_rows_insert) keep every
    value as given: the reported time to the microsecond, floats, the H3 cell, text with quotes, newlines
    and characters outside the BMP, the hotline's fields and the event's JSON."""
    x, y = centre(4, 1)
    at = dt.datetime(2026, 11, 20, 15, 59, 59, 123457, tzinfo=dt.UTC)  # 23:59 in Shanghai: still the 20th
    text = '井盖"松动"\n\\ 行人绊倒 😀'
    body = report_body(
        lng=x,
        lat=y,
        description=text,
        address="玄武区 '中山路' 1号",
        reported_at=at.isoformat(),
        hotline={"work_order_no": "GD-2026-000001", "caller_name": "王 芳", "caller_phone": "13800000000"},
    )
    out = batch.run(db, [_item(body, channel="hotline")])[0]
    with db.read() as s:
        case = s.get(Case, out.case_id)
        assert (case.lng, case.lat) == intake.where(ReportIn(**body))
        assert case.h3 == h3.latlng_to_cell(case.lat, case.lng, vocab.H3_RES)
        assert case.reported_at == at and case.reported_on == dt.date(2026, 11, 20)
        assert (case.description, case.address) == (text, "玄武区 '中山路' 1号")
        assert (case.work_order_no, case.caller_name, case.caller_phone) == (
            "GD-2026-000001",
            "王 芳",
            "13800000000",
        )
        assert case.department_id is None and case.report_count == 1
        event = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
        assert (event.public, event.data, event.note) == (True, {"channel": "hotline"}, "")
        reporter = s.scalars(select(Reporter).where(Reporter.case_id == case.id)).one()
        assert (reporter.text, reporter.at, reporter.name) == (text, at, "王 芳")
    _rollups_match(db)


def test_a_value_too_long_for_its_column(db, city) -> None:  # noqa: ANN001
    """A text longer than its column is refused on PostgreSQL, as a plain INSERT's would be (never cut to
    fit); SQLite does not enforce declared lengths and keeps it whole."""
    from sqlalchemy.exc import DBAPIError

    out = batch.run(db, [_item(report_body())])[0]  # a real case's row, then one like it
    with db.read() as s:
        stored = s.get(Case, out.case_id)
        shape = {c.name: getattr(stored, c.name) for c in Case.__table__.columns if c.name != "id"}
    long = dict(shape, address="长" * 201, id=out.case_id + 1000)
    bind = db.writer_sessions.kw["bind"]
    with bind.begin_nested() as savepoint:
        if db.dialect == "postgresql":
            with pytest.raises(DBAPIError, match="too long"):
                bulk.insert(bind, batch_write.CASES, [long])
        else:
            bulk.insert(bind, batch_write.CASES, [long])
            assert bind.scalar(select(Case.address).where(Case.id == long["id"])) == "长" * 201
        savepoint.rollback()

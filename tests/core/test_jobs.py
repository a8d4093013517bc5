"""Timed work: enqueue, claim, run exactly once, retry with backoff, timers, dedupe keys, periodic tasks,
the fence that refuses a worker whose lease was taken over, concurrent workers, /healthz, API, page, CLI."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.core import job_handlers
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, unit_of_work, utcnow
from zhicheng.core.errors import Invalid
from zhicheng.core.jobs import services
from zhicheng.core.jobs.models import Job, WorkerBeat
from zhicheng.core.jobs.registry import REGISTRY, Registry
from zhicheng.core.jobs.worker import Worker, start_embedded
from zhicheng.settings import Settings

ME = Actor(kind="cli", name="tester")
TEST_KINDS = REGISTRY.only(job_handlers.KINDS)


class Clock:
    """A clock the test moves by hand; it starts a moment ahead so that jobs enqueued "now" are due."""

    def __init__(self) -> None:
        self.now = utcnow() + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def enqueue(db: Database, kind: str, payload: dict | None = None, **kw) -> int:  # noqa: ANN003
    with unit_of_work(db, ME) as uow:
        return services.enqueue(uow.session, kind, payload, **kw)


def get(db: Database, job_id: int) -> Job:
    with db.read() as s:
        return s.get(Job, job_id)


def effects(db: Database, job_id: int) -> list[AuditRecord]:
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditRecord).where(
                    AuditRecord.tag == "test:job:run", AuditRecord.subject == f"job:{job_id}"
                )
            )
        )


def worker(
    db: Database,
    settings: Settings,
    name: str = "w1",
    registry: Registry = TEST_KINDS,
    clock: Clock | None = None,
) -> Worker:
    return Worker(db, settings, worker_id=name, registry=registry, clock=clock or Clock())


# --- the life of a job -----------------------------------------------------------------------------------
def test_a_job_is_claimed_run_and_done_once(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "test.run", {"note": "你好"})
    w = worker(db, settings)
    assert w.run_once() == 1
    job = get(db, job_id)
    assert (job.status, job.attempts, job.lock_token, job.locked_until) == ("done", 1, None, None)
    assert job.finished_at is not None
    [effect] = effects(db, job_id)
    assert effect.actor == "worker:w1" and json.loads(effect.change)["note"] == "你好"
    assert w.run_once() == 0 and len(effects(db, job_id)) == 1


def test_enqueue_belongs_to_the_callers_transaction(db) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError), unit_of_work(db, ME) as uow:
        services.enqueue(uow.session, "test.run", {}, dedupe_key="atomic")
        raise RuntimeError("the cause of the job failed")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.run")) == 0


def test_bad_jobs_are_refused(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        with pytest.raises(Invalid):
            services.enqueue(uow.session, "Not A Kind", {})
        with pytest.raises(Invalid):
            services.enqueue(uow.session, "test.run", {"when": dt.date(2026, 1, 1)})
        with pytest.raises(Invalid):
            services.enqueue(uow.session, "test.run", {}, max_attempts=0)
        with pytest.raises(Invalid):
            services.enqueue(uow.session, "test.run", {}, due_at=dt.datetime(2026, 1, 1, 9))  # no zone
        with pytest.raises(Invalid):
            services.enqueue(uow.session, "test.run", {}, dedupe_key="periodic:audit.seal")


def test_a_timer_waits_until_it_is_due(db, settings) -> None:  # noqa: ANN001
    clock = Clock()
    job_id = enqueue(db, "test.run", due_at=clock.now + dt.timedelta(hours=1))
    w = worker(db, settings, clock=clock)
    assert w.run_once() == 0 and get(db, job_id).status == "pending"
    clock.advance(3599)
    assert w.run_once() == 0
    clock.advance(2)
    assert w.run_once() == 1 and get(db, job_id).status == "done"


def test_errors_retry_with_backoff_then_fail_keeping_the_error(db, settings) -> None:  # noqa: ANN001
    clock = Clock()
    job_id = enqueue(db, "test.fail", {"message": "电子证照库无响应"}, max_attempts=3)
    w = worker(db, settings, clock=clock)
    for attempt, wait in [(1, 2), (2, 4)]:
        assert w.run_once() == 0
        job = get(db, job_id)
        assert (job.status, job.attempts) == ("pending", attempt)
        assert job.last_error == "RuntimeError: 电子证照库无响应"
        assert job.due_at == clock.now + dt.timedelta(seconds=wait)
        assert w.run_once() == 0 and get(db, job_id).attempts == attempt  # not before the backoff
        clock.advance(wait)
    assert w.run_once() == 0
    job = get(db, job_id)
    assert (job.status, job.attempts, job.last_error) == ("failed", 3, "RuntimeError: 电子证照库无响应")
    assert job.finished_at == clock.now
    clock.advance(86400)
    assert w.run_once() == 0 and get(db, job_id).status == "failed"
    assert effects(db, job_id) == []  # every attempt's effect was rolled back with its error


def test_a_flaky_job_succeeds_on_retry(db, settings) -> None:  # noqa: ANN001
    clock = Clock()
    job_id = enqueue(db, "test.flaky", {"fail_times": 1})
    w = worker(db, settings, clock=clock)
    assert w.run_once() == 0
    clock.advance(2)
    assert w.run_once() == 1
    job = get(db, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert [json.loads(e.change)["attempt"] for e in effects(db, job_id)] == [2]


def test_backoff_is_capped() -> None:
    assert services.backoff(1) == dt.timedelta(seconds=2)
    assert services.backoff(30) == dt.timedelta(seconds=services.BACKOFF_CAP)


# --- dedupe keys: reschedule, cancel, reuse ---------------------------------------------------------------
def test_a_dedupe_key_reschedules_instead_of_duplicating(db) -> None:  # noqa: ANN001
    soon = utcnow() + dt.timedelta(hours=1)
    first = enqueue(db, "test.run", {"v": 1}, due_at=soon, dedupe_key="remind:case:7")
    again = enqueue(db, "test.run", {"v": 2}, due_at=soon + dt.timedelta(days=1), dedupe_key="remind:case:7")
    assert again == first
    job = get(db, first)
    assert job.payload == {"v": 2} and job.due_at == soon + dt.timedelta(days=1)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.dedupe_key == "remind:case:7")) == 1
    with unit_of_work(db, ME) as uow:
        assert services.cancel(uow.session, "remind:case:7") is True
        assert services.cancel(uow.session, "remind:case:7") is False
    assert get(db, first) is None


def test_a_finished_timer_gives_its_key_up(db, settings) -> None:  # noqa: ANN001
    first = enqueue(db, "test.run", dedupe_key="remind:case:8")
    assert worker(db, settings).run_once() == 1
    assert get(db, first).dedupe_key is None
    second = enqueue(db, "test.run", dedupe_key="remind:case:8")
    assert second != first and get(db, second).status == "pending"


def test_setting_a_timer_while_its_namesake_runs_adds_one(db, settings) -> None:  # noqa: ANN001
    first = enqueue(db, "test.run", dedupe_key="remind:case:9")
    w = worker(db, settings)
    claimed = w.claim()
    assert claimed.id == first
    second = enqueue(db, "test.run", dedupe_key="remind:case:9")
    assert second != first
    assert w.execute(claimed) == "done"  # the running one still completes
    assert get(db, second).dedupe_key == "remind:case:9" and get(db, second).status == "pending"


def test_cancel_leaves_a_running_job_alone(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "test.run", dedupe_key="remind:case:10")
    w = worker(db, settings)
    claimed = w.claim()
    with unit_of_work(db, ME) as uow:
        assert services.cancel(uow.session, "remind:case:10") is False
    assert w.execute(claimed) == "done" and len(effects(db, job_id)) == 1


def test_jobs_of_kinds_without_a_handler_are_left_for_another_worker(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "elsewhere.task")
    assert worker(db, settings).run_once() == 0
    assert get(db, job_id).status == "pending" and get(db, job_id).attempts == 0


# --- periodic tasks ---------------------------------------------------------------------------------------
def ticking_registry() -> Registry:
    reg = Registry()

    @reg.periodic("test.tick", seconds=60)
    def tick(ctx, payload) -> None:  # noqa: ANN001
        ctx.record("test:job:run", f"job:{ctx.job_id}", {"tick": ctx.attempt})

    return reg


def test_a_periodic_task_keeps_one_row_and_rearms_itself(db, settings) -> None:  # noqa: ANN001
    clock = Clock()
    reg = ticking_registry()
    w1 = worker(db, settings, "w1", reg, clock)
    w2 = worker(db, settings, "w2", reg, clock)
    assert w1.run_once() == 1
    with db.read() as s:
        [row] = s.scalars(select(Job).where(Job.kind == "test.tick")).all()
    assert (row.status, row.dedupe_key, row.attempts) == ("pending", "periodic:test.tick", 0)
    assert row.due_at == clock.now + dt.timedelta(seconds=60)
    assert w2.run_once() == 0  # the next tick is not due, and nobody adds a second row
    clock.advance(60)
    claimed = w1.claim()
    assert claimed.id == row.id
    assert w2.run_once() == 0  # while w1 holds the tick, w2 cannot run it too
    assert w1.execute(claimed) == "done"
    assert len(effects(db, row.id)) == 2
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.tick")) == 1


def test_a_failed_periodic_task_is_rearmed(db, settings) -> None:  # noqa: ANN001
    clock = Clock()
    w = worker(db, settings, "w1", ticking_registry(), clock)
    w.ensure_periodic(force=True)
    with db.sessions() as s, s.begin():
        s.execute(update(Job).where(Job.kind == "test.tick").values(status="failed", attempts=5))
    w.ensure_periodic(force=True)
    with db.read() as s:
        row = s.scalar(select(Job).where(Job.kind == "test.tick"))
    assert (row.status, row.attempts) == ("pending", 0)
    assert w.run_once() == 1


def test_the_audit_seal_task_seals_the_chain(db, settings) -> None:  # noqa: ANN001
    import zhicheng.core.audit.jobs  # noqa: F401 - registers audit.seal

    for i in range(7):
        with unit_of_work(db, ME) as uow:
            uow.record("test:thing:touch", f"thing:{i}", {})
    w = worker(db, settings, registry=REGISTRY.only(["audit.seal"]))
    assert w.run_once() == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.seq.is_(None))) == 0
        job = s.scalar(select(Job).where(Job.dedupe_key == "periodic:audit.seal"))
    assert job.status == "pending" and job.due_at == w.clock() + dt.timedelta(seconds=1)


# --- leases and the fence ----------------------------------------------------------------------------------
def expire_lease(db: Database, job_id: int) -> None:
    with db.sessions() as s, s.begin():
        s.execute(update(Job).where(Job.id == job_id).values(locked_until=utcnow() - dt.timedelta(seconds=1)))


def test_a_stale_worker_cannot_complete_a_job_taken_over(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "test.run")
    slow, fast = worker(db, settings, "slow"), worker(db, settings, "fast")
    claimed = slow.claim()
    assert fast.run_once() == 0  # the lease holds
    expire_lease(db, job_id)
    assert fast.run_once() == 1
    assert slow.execute(claimed) == "lost"
    [effect] = effects(db, job_id)
    assert effect.actor == "worker:fast"
    job = get(db, job_id)
    assert (job.status, job.attempts) == ("done", 2)


def test_a_stale_worker_cannot_record_a_failure_either(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "test.fail")
    slow = worker(db, settings, "slow")
    claimed = slow.claim()
    expire_lease(db, job_id)
    taker = worker(db, settings, "taker")
    retaken = taker.claim()
    assert slow.execute(claimed) == "lost"
    job = get(db, job_id)
    assert (job.status, job.lock_token, job.last_error) == ("running", retaken.token, None)


def test_a_job_whose_worker_vanished_on_its_last_attempt_fails(db, settings) -> None:  # noqa: ANN001
    job_id = enqueue(db, "test.run", max_attempts=1)
    worker(db, settings, "doomed").claim()
    expire_lease(db, job_id)
    assert worker(db, settings, "next").run_once() == 0
    job = get(db, job_id)
    assert job.status == "failed" and job.last_error.startswith("worker lost")
    assert effects(db, job_id) == []


# --- many workers at once ----------------------------------------------------------------------------------
def test_concurrent_workers_run_every_job_exactly_once(fresh_url, dialect) -> None:  # noqa: ANN001
    db = Database(fresh_url)
    settings = Settings(env="test", database_url=fresh_url, embedded_worker=False)
    with unit_of_work(db, ME) as uow:
        ids = [services.enqueue(uow.session, "test.run", {"n": n}) for n in range(200)]
    threads_n = 4 if dialect == "postgresql" else 2
    workers = [Worker(db, settings, worker_id=f"t{i}", registry=TEST_KINDS) for i in range(threads_n)]
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def drain(w: Worker) -> None:
        try:
            start.wait(timeout=30)
            while w.run_once(limit=10) or w.claimed:  # every job is due now: nothing to claim means all taken
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and errors == []
    with db.read() as s:
        by_status = select(Job.status, func.count()).where(Job.id.in_(ids)).group_by(Job.status)
        statuses = dict(s.execute(by_status).all())
        by_subject = (
            select(AuditRecord.subject, func.count())
            .where(AuditRecord.tag == "test:job:run")
            .group_by(AuditRecord.subject)
        )
        runs = dict(s.execute(by_subject).all())
        actors = set(s.scalars(select(AuditRecord.actor).where(AuditRecord.tag == "test:job:run")))
    db.dispose()
    assert statuses == {"done": 200}
    assert runs == {f"job:{i}": 1 for i in ids}  # none twice, none lost
    assert sum(w.jobs_done for w in workers) == 200
    if dialect == "postgresql":
        assert len(actors) >= 2  # SKIP LOCKED let them work side by side


def test_takeovers_under_short_leases_still_commit_each_job_once(fresh_url, dialect) -> None:  # noqa: ANN001
    """Leases shorter than the jobs: workers keep taking jobs over from each other, and the fence must
    roll every loser back. Whatever the interleaving, no job's effect commits twice: a job ends done with
    exactly one effect, or, when takeovers used up all its attempts (two workers can pass a job longer
    than the lease back and forth for ever), failed with none."""
    db = Database(fresh_url)
    settings = Settings(env="test", database_url=fresh_url, embedded_worker=False)
    rnd = random.Random(7)
    with unit_of_work(db, ME) as uow:
        ids = [
            services.enqueue(uow.session, "test.slow", {"ms": rnd.randint(0, 40)}, max_attempts=100)
            for _ in range(60)
        ]
    threads_n = 4 if dialect == "postgresql" else 2
    workers = [Worker(db, settings, worker_id=f"t{i}", registry=TEST_KINDS) for i in range(threads_n)]
    outcomes: list[str] = []
    errors: list[BaseException] = []
    for w in workers:
        w.lease = dt.timedelta(milliseconds=20)

    def drain(w: Worker) -> None:
        try:
            while (job := w.claim()) is not None:
                outcomes.append(w.execute(job))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and errors == []
    with db.read() as s:
        jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(ids)))}
        by_subject = (
            select(AuditRecord.subject, func.count())
            .where(AuditRecord.tag == "test:job:run")
            .group_by(AuditRecord.subject)
        )
        runs = dict(s.execute(by_subject).all())
    db.dispose()
    done = [i for i, j in jobs.items() if j.status == "done"]
    worn_out = [i for i, j in jobs.items() if j.status == "failed" and j.attempts >= j.max_attempts]
    assert sorted(done + worn_out) == sorted(ids)
    assert done  # takeovers slow the queue down but do not stop it
    assert runs == {f"job:{i}": 1 for i in done}  # worn-out jobs left no effect behind
    assert outcomes.count("done") == len(done)  # every other run was refused by the fence
    if dialect == "postgresql":  # SQLite's one writer lock mostly keeps a second worker out while a job runs
        assert "lost" in outcomes  # takeovers did happen, so the fence was put to the test
    assert len(outcomes) == sum(j.attempts for j in jobs.values())


def test_the_embedded_loop_runs_jobs_and_stops_cleanly(fresh_url) -> None:  # noqa: ANN001
    """What `zhicheng serve` starts: the loop in a thread, with a heartbeat, stopped on exit."""
    db = Database(fresh_url)
    settings = Settings(env="test", database_url=fresh_url, worker_poll_seconds=0.05)
    job_id = enqueue(db, "test.run")
    w = start_embedded(settings, registry=TEST_KINDS)
    done = threading.Event()
    for _ in range(600):  # at most 30 s
        if get(db, job_id).status == "done":
            done.set()
            break
        done.wait(0.05)
    with db.read() as s:
        assert s.get(WorkerBeat, w.id) is not None
    w.stop()
    w.thread.join(timeout=30)
    assert done.is_set() and not w.thread.is_alive()
    assert [e.actor for e in effects(db, job_id)] == [f"worker:{w.id}"]
    with db.read() as s:
        assert s.get(WorkerBeat, w.id) is None  # a clean stop removes the heartbeat
    db.dispose()


# --- /healthz -----------------------------------------------------------------------------------------------
def test_healthz_reports_the_worker_by_its_heartbeat(db, settings, client) -> None:  # noqa: ANN001
    body = client.get("/healthz").json()
    assert body["status"] == "degraded" and body["worker"]["ok"] is False
    w = Worker(db, settings, worker_id="beating", registry=TEST_KINDS)
    w.beat()
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["worker"] == {"ok": True, "alive": 1, "overdue_jobs": 0}
    w.beat()  # a second beat updates the same row
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(WorkerBeat)) == 1
    with db.sessions() as s, s.begin():  # a beat older than 30 s is a dead worker
        s.execute(update(WorkerBeat).values(seen_at=utcnow() - dt.timedelta(minutes=5)))
    assert client.get("/healthz").json()["worker"]["ok"] is False


# --- API, console page, CLI ------------------------------------------------------------------------------
def failed_job(db: Database, settings: Settings, message: str = "boom") -> int:
    job_id = enqueue(db, "test.fail", {"message": message}, max_attempts=1)
    assert worker(db, settings).run_once() == 0
    assert get(db, job_id).status == "failed"
    return job_id


def test_api_lists_filters_and_pages_jobs(db, settings, as_user) -> None:  # noqa: ANN001
    failed = failed_job(db, settings)
    ids = [enqueue(db, "test.run", due_at=utcnow() + dt.timedelta(days=1)) for _ in range(5)]
    c = as_user("auditor")
    r = c.get("/api/v1/jobs", params={"status": "failed"})
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item["id"] == failed and item["last_error"] == "RuntimeError: boom"
    r = c.get("/api/v1/jobs", params={"kind": "test.run", "limit": 3})
    first = r.json()
    assert [j["id"] for j in first["items"]] == ids[::-1][:3] and first["next_cursor"]
    rest = c.get("/api/v1/jobs", params={"kind": "test.", "limit": 3, "cursor": first["next_cursor"]}).json()
    assert [j["id"] for j in rest["items"]] == [ids[1], ids[0], failed] and rest["next_cursor"] is None
    assert c.get("/api/v1/jobs", params={"status": "bogus"}).status_code == 422
    assert c.get("/api/v1/jobs", params={"cursor": "!!"}).status_code == 422


def test_api_shows_workers_and_summary(db, settings, as_user) -> None:  # noqa: ANN001
    Worker(db, settings, worker_id="api-seen", registry=TEST_KINDS).beat()
    c = as_user("auditor")
    [w] = c.get("/api/v1/jobs/workers").json()
    assert w["id"] == "api-seen" and w["alive"] is True
    summary = c.get("/api/v1/jobs/summary").json()
    assert set(summary["counts"]) == {"pending", "running", "done", "failed"}


def test_only_an_administrator_retries_a_failed_job(db, settings, as_user) -> None:  # noqa: ANN001
    job_id = failed_job(db, settings)
    r = as_user("auditor").send("POST", f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 403 and get(db, job_id).status == "failed"
    admin = as_user("admin")
    r = admin.send("POST", f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempts"] == 0
    with db.read() as s:
        actor = s.scalar(
            select(AuditRecord.actor).where(
                AuditRecord.tag == "jobs:job:retry", AuditRecord.subject == f"job:{job_id}"
            )
        )
    assert actor == "user:admin"
    assert admin.send("POST", f"/api/v1/jobs/{job_id}/retry").status_code == 409
    assert admin.send("POST", "/api/v1/jobs/999999/retry").status_code == 404


def test_the_jobs_page_shows_workers_counts_and_errors(db, settings, as_user) -> None:  # noqa: ANN001
    job_id = failed_job(db, settings, "证照接口超时")
    Worker(db, settings, worker_id="page-seen", registry=TEST_KINDS).beat()
    auditor = as_user("auditor")
    page = auditor.get("/jobs", params={"status": "", "kind": ""})
    assert page.status_code == 200
    assert 'hx-trigger="every 5s"' in page.text and "page-seen" in page.text
    assert "RuntimeError: 证照接口超时" in page.text and f"/jobs/{job_id}/retry" not in page.text
    live = auditor.get("/jobs/live", params={"status": "failed"})
    assert live.status_code == 200 and "<html" not in live.text and "证照接口超时" in live.text
    admin = as_user("admin")
    assert f"/jobs/{job_id}/retry" in admin.get("/jobs", params={"status": "failed"}).text
    assert auditor.form(f"/jobs/{job_id}/retry", {}).status_code == 403
    assert auditor.get("/jobs", params={"status": "bogus"}).status_code == 422
    r = admin.form(f"/jobs/{job_id}/retry", {})
    assert r.status_code == 303 and get(db, job_id).status == "pending"
    english = auditor.get("/jobs", params={"lang": "en"}).text
    assert "Background jobs" in english and "Last heartbeat" in english


def test_cli_lists_and_retries(fresh_url, monkeypatch) -> None:  # noqa: ANN001
    from zhicheng.cli import app as cli

    db = Database(fresh_url)
    settings = Settings(env="test", database_url=fresh_url)
    job_id = failed_job(db, settings, "市监接口 503")
    monkeypatch.setenv("ZHICHENG_DATABASE_URL", fresh_url)
    runner = CliRunner()
    r = runner.invoke(cli, ["jobs", "list", "--status", "failed", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    [listed] = out["jobs"]
    assert listed["id"] == job_id and listed["last_error"] == "RuntimeError: 市监接口 503"
    assert out["counts"]["failed"] == 1
    r = runner.invoke(cli, ["jobs", "list"])
    assert r.exit_code == 0 and "failed" in r.output and "市监接口 503" in r.output
    r = runner.invoke(cli, ["jobs", "retry", str(job_id)])
    assert r.exit_code == 0 and get(db, job_id).status == "pending"
    with db.read() as s:
        actor = s.scalar(select(AuditRecord.actor).where(AuditRecord.tag == "jobs:job:retry"))
    assert actor == "cli:operator"
    db.dispose()

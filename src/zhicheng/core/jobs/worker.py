"""The worker: claims due jobs, runs each handler in one transaction, beats its heart.

`zhicheng worker` runs `run(settings)` in the foreground; `zhicheng serve` runs `start_embedded(settings)`,
the same loop in a daemon thread. Any number of workers may share a PostgreSQL database.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import signal
import socket
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from zhicheng.core.db import Actor, Database, unit_of_work, utcnow
from zhicheng.core.jobs import services
from zhicheng.core.jobs.registry import REGISTRY, JobContext, Registry, load_modules
from zhicheng.core.jobs.services import Claimed
from zhicheng.settings import Settings

log = logging.getLogger("zhicheng.jobs")
HEARTBEAT_SECONDS = 5.0  # /healthz calls a worker dead after 30 s without a beat
PERIODIC_CHECK_SECONDS = 30.0  # how often a worker makes sure every periodic task has its row
MAX_IDLE_BACKOFF = 30.0  # seconds between attempts while the database is unreachable


class LeaseLost(Exception):
    """Our lease expired and another worker took the job over; our transaction must not commit."""


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        worker_id: str | None = None,
        registry: Registry | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.registry = REGISTRY if registry is None else registry
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.id = (worker_id or f"{self.host}:{self.pid}:{uuid.uuid4().hex[:6]}")[:80]
        self.actor = Actor(kind="worker", name=self.id)
        self.lease = dt.timedelta(seconds=settings.job_lease_seconds)
        self.started_at = clock()
        self.jobs_done = 0
        self.claimed = 0  # jobs claimed by the last run_once, so the loop knows whether to idle
        self.stopping = threading.Event()
        self._periodic_checked: dt.datetime | None = None
        self.thread: threading.Thread | None = None  # set when the loop runs embedded in a thread

    # --- one job ----------------------------------------------------------------------------------------
    def claim(self) -> Claimed | None:
        return services.claim(self.db, self.registry.kinds, uuid.uuid4().hex, self.lease, self.clock())

    def execute(self, job: Claimed) -> str:
        """Run a claimed job. Returns done, pending (will retry), failed, or lost (taken over)."""
        spec = self.registry.get(job.kind)
        assert spec is not None, job.kind  # we only claim kinds we have
        try:
            # a unit of work holds SQLite's write lock from its first statement (core.db): a handler that
            # reads and then writes cannot fail with "database is locked" when another writer commits between
            with unit_of_work(self.db, self.actor) as uow:
                ctx = JobContext(uow, self.db, self.settings, job.id, job.kind, job.attempt)
                spec.fn(ctx, dict(job.payload))
                if not services.mark_done(uow.session, job, spec, self.clock()):
                    raise LeaseLost(job.id)
        except LeaseLost:
            log.warning(
                "job %s (%s): lease lost to another worker; our work was rolled back", job.id, job.kind
            )
            return "lost"
        except Exception as exc:  # noqa: BLE001 - any handler error is recorded on the job, never fatal
            error = traceback.format_exception_only(exc)[-1].strip()
            log.warning(
                "job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempt, error, exc_info=True
            )
            return services.mark_failed(self.db, job, error, self.clock()) or "lost"
        self.jobs_done += 1
        log.debug("job %s (%s) done", job.id, job.kind)
        return "done"

    # --- the loop ---------------------------------------------------------------------------------------
    def ensure_periodic(self, force: bool = False) -> None:
        now = self.clock()
        due = self._periodic_checked is None or now - self._periodic_checked >= dt.timedelta(
            seconds=PERIODIC_CHECK_SECONDS
        )
        if force or due:
            services.ensure_periodic(self.db, self.registry.periodic_specs, now)
            self._periodic_checked = now

    def run_once(self, limit: int = 100) -> int:
        """Claim and run due jobs until none is due (or `limit`); returns how many completed."""
        self.ensure_periodic()
        done = self.claimed = 0
        while self.claimed < limit and not self.stopping.is_set():
            job = self.claim()
            if job is None:
                break
            self.claimed += 1
            done += self.execute(job) == "done"
        return done

    def beat(self) -> None:
        services.beat(self.db, self.id, self.host, self.pid, self.started_at, self.jobs_done, self.clock())

    def _beat_loop(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat shows on /healthz; the loop goes on
                log.warning("heartbeat failed", exc_info=True)

    def serve_forever(self) -> None:
        """Run until stop(); the job in hand is finished first."""
        try:
            self.beat()
        except Exception:  # noqa: BLE001
            log.warning("first heartbeat failed", exc_info=True)
        beats = threading.Thread(target=self._beat_loop, name=f"beat-{self.id}", daemon=True)
        beats.start()
        failures = 0
        try:
            while not self.stopping.is_set():
                try:
                    self.run_once()
                    failures = 0
                except Exception:  # noqa: BLE001 - the database may be away for a while; keep trying
                    failures += 1
                    log.exception("worker loop error (%s in a row)", failures)
                    self.stopping.wait(min(MAX_IDLE_BACKOFF, self.settings.worker_poll_seconds * 2**failures))
                    continue
                if not self.claimed:
                    self.stopping.wait(self.settings.worker_poll_seconds)
        finally:
            self.stopping.set()
            beats.join(timeout=HEARTBEAT_SECONDS)
            try:
                services.forget_worker(self.db, self.id)
            except Exception:  # noqa: BLE001
                log.warning("could not remove the heartbeat of %s", self.id, exc_info=True)
            log.info("worker %s stopped after %s jobs", self.id, self.jobs_done)

    def stop(self) -> None:
        self.stopping.set()


def run(settings: Settings, registry: Registry | None = None) -> None:
    """`zhicheng worker`: the loop in the foreground; SIGTERM or SIGINT stops it after the current job."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    registry = load_modules(settings) if registry is None else registry
    db = Database.from_settings(settings)
    worker = Worker(db, settings, registry=registry)

    def on_signal(signum: int, _frame: Any) -> None:
        if worker.stopping.is_set():  # a second signal: stop now; the job's lease brings it back
            raise KeyboardInterrupt
        log.info("signal %s: finishing the current job, then stopping", signum)
        worker.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    log.info("worker %s on %s; kinds: %s", worker.id, db.dialect, ", ".join(registry.kinds) or "(none)")
    try:
        worker.serve_forever()
    finally:
        db.dispose()


def start_embedded(settings: Settings, registry: Registry | None = None) -> Worker:
    """`zhicheng serve`: the same loop in a daemon thread, stopped when the process exits."""
    registry = load_modules(settings) if registry is None else registry
    db = Database.from_settings(settings)
    worker = Worker(db, settings, registry=registry)
    worker.thread = threading.Thread(target=worker.serve_forever, name="zhicheng-worker", daemon=True)
    worker.thread.start()

    def stop() -> None:
        worker.stop()
        worker.thread.join(timeout=30)  # type: ignore[union-attr]

    atexit.register(stop)
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default disposition
        # the process would die there without running atexit, i.e. without stopping this worker cleanly
        signal.signal(signal.SIGTERM, _exit_cleanly)
    log.info("embedded worker %s started", worker.id)
    return worker


def _exit_cleanly(signum: int, _frame: Any) -> None:
    raise SystemExit(0)

"""Real `zhicheng worker` processes: one killed mid-job loses nothing and commits nothing of it; another
finishes the job exactly once. SIGTERM lets the job in hand finish before the worker exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.jobs import services
from zhicheng.core.jobs.models import Job, WorkerBeat

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ZHICHENG = Path(sys.executable).parent / "zhicheng"
ME = Actor(kind="cli", name="tester")
TIMEOUT = 60.0  # seconds any single wait may take before the test fails


class Workers:
    """Starts `zhicheng worker` subprocesses on one database and cleans up whatever is left running."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp, self.procs = url, tmp, []

    def start(self, lease: int = 2, command: tuple[str, ...] = ("worker",)) -> subprocess.Popen:
        env = {
            **os.environ,
            "ZHICHENG_ENV": "test",
            "ZHICHENG_DATABASE_URL": self.url,
            "ZHICHENG_JOB_LEASE_SECONDS": str(lease),
            "ZHICHENG_WORKER_POLL_SECONDS": "0.1",
            "ZHICHENG_JOB_MODULES": "tests.core.job_handlers",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        log = open(self.tmp / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [str(ZHICHENG), *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append((proc, log))
        return proc

    def log(self, proc: subprocess.Popen) -> str:
        return Path(proc.log_path).read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]

    def close(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=TIMEOUT)
            log.close()


@pytest.fixture
def workers(fresh_url: str, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(fresh_url, tmp_path)
    yield w
    w.close()


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen, workers: Workers) -> None:
    """Poll until `check()` holds; fail (with the worker's log) on timeout or if the worker died."""
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if proc.poll() is not None:
            pytest.fail(f"worker exited ({proc.returncode}) while waiting for {what}:\n{workers.log(proc)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{workers.log(proc)}")
        time.sleep(0.05)


def block_job(db: Database, tmp: Path) -> tuple[int, Path, Path]:
    started, release = tmp / "started", tmp / "release"
    with unit_of_work(db, ME) as uow:
        payload = {"started": str(started), "release": str(release)}
        job_id = services.enqueue(uow.session, "test.block", payload)
    return job_id, started, release


def job(db: Database, job_id: int) -> Job:
    with db.read() as s:
        return s.get(Job, job_id)


def effects(db: Database, job_id: int) -> int:
    with db.read() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.tag == "test:job:run", AuditRecord.subject == f"job:{job_id}")
        )


def test_a_killed_worker_commits_nothing_and_another_finishes_the_job(fresh_url, workers, tmp_path) -> None:  # noqa: ANN001, E501
    db = Database(fresh_url)
    job_id, started, release = block_job(db, tmp_path)
    first = workers.start(lease=2)
    wait_for("the job to start", started.exists, first, workers)
    # the handler has written its effect inside its transaction and is now blocked
    claimed = job(db, job_id)
    assert (claimed.status, claimed.attempts) == ("running", 1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=TIMEOUT)
    assert effects(db, job_id) == 0  # the dead worker's effect was never committed
    assert job(db, job_id).status == "running"  # nor was the job lost: it waits for its lease to expire

    release.touch()
    second = workers.start(lease=2)
    wait_for("another worker to finish the job", lambda: job(db, job_id).status == "done", second, workers)
    done = job(db, job_id)
    assert done.attempts == 2 and done.lock_token is None
    assert effects(db, job_id) == 1
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=TIMEOUT) == 0, workers.log(second)
    db.dispose()


def test_sigterm_finishes_the_job_in_hand_then_exits(fresh_url, workers, tmp_path) -> None:  # noqa: ANN001
    db = Database(fresh_url)
    job_id, started, release = block_job(db, tmp_path)
    proc = workers.start(lease=300)

    def beating() -> bool:
        with db.read() as s:
            return s.scalar(select(func.count()).select_from(WorkerBeat)) == 1

    wait_for("the worker's heartbeat", beating, proc, workers)
    wait_for("the job to start", started.exists, proc, workers)
    proc.send_signal(signal.SIGTERM)
    release.touch()
    assert proc.wait(timeout=TIMEOUT) == 0, workers.log(proc)
    finished = job(db, job_id)
    assert (finished.status, finished.attempts) == ("done", 1)
    assert effects(db, job_id) == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(WorkerBeat)) == 0  # it said goodbye
    db.dispose()


def test_serve_runs_an_embedded_worker_and_stops_it_cleanly_on_sigterm(fresh_url, workers, tmp_path) -> None:  # noqa: ANN001, E501
    db = Database(fresh_url)
    with unit_of_work(db, ME) as uow:
        job_id = services.enqueue(uow.session, "test.run", {})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = workers.start(lease=300, command=("serve", "--port", str(port)))
    wait_for("the embedded worker to run the job", lambda: job(db, job_id).status == "done", server, workers)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(WorkerBeat)) == 1
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=TIMEOUT) == 0, workers.log(server)
    with db.read() as s:  # the worker was stopped, not cut off: it removed its heartbeat
        assert s.scalar(select(func.count()).select_from(WorkerBeat)) == 0
    assert effects(db, job_id) == 1
    db.dispose()

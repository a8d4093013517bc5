"""Real concurrency, on a database of its own with real commits (SQLite and PostgreSQL): two reviewers on one
task, two departments finishing a joint review at once, and a double-clicked submission."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.approvals.conftest import ME, PDF, W, build_world, good_form
from zhicheng.approvals import acceptance, cases, files, review
from zhicheng.approvals.models import Case, Task
from zhicheng.approvals.schemas import AcceptIn, CaseIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Conflict
from zhicheng.core.orgs.models import Party

CITIZEN = Actor(kind="user", name="zhangsan")


@pytest.fixture
def real(fresh_url: str) -> Iterator[tuple[Database, W]]:
    db = Database(fresh_url)
    yield db, build_world(db)
    db.dispose()


def uploads(db: Database) -> dict[str, int]:
    with unit_of_work(db, CITIZEN) as uow:
        return {
            c: files.store(uow, io.BytesIO(PDF), f"{c}.pdf", 10**6).id
            for c in ("form", "land", "fire", "drawings")
        }


def submit(db: Database, w: W, mats: dict[str, int], token: str | None = None) -> int:
    with unit_of_work(db, CITIZEN) as uow:
        party = uow.session.get(Party, w.citizen)
        case, _ = cases.submit(
            uow, CaseIn(item_code=w.joint_item, form=good_form(), materials=mats), party, token
        )
        return case.id


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; returns each one's result or exception."""
    start = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        start.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def accepted_case(db: Database, w: W) -> tuple[int, list[int]]:
    case_id = submit(db, w, uploads(db))
    with unit_of_work(db, ME) as uow:
        acceptance.accept(uow, case_id, AcceptIn())
    with db.read() as s:
        return case_id, list(s.scalars(select(Task.id).where(Task.case_id == case_id).order_by(Task.id)))


def conclude(db: Database, who: str, task_id: int, approve: bool = True) -> Callable[[], Any]:
    def go() -> Any:
        with unit_of_work(db, Actor(kind="user", name=who)) as uow:
            return review.conclude(
                uow, task_id, approve, "" if approve else "两位审查人意见不一致，不同意"
            ).status

    return go


def test_two_reviewers_on_one_task_one_wins(real) -> None:  # noqa: ANN001
    db, w = real
    case_id, tasks = accepted_case(db, w)
    results = race(conclude(db, "rv_housing", tasks[0]), conclude(db, "rv_housing2", tasks[0], approve=False))
    wins = [r for r in results if isinstance(r, str)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    with db.read() as s:
        task = s.get(Task, tasks[0])
        assert task.status == wins[0] and task.version == 2


def test_the_last_two_departments_at_once_move_the_case_once(real) -> None:  # noqa: ANN001
    db, w = real
    case_id, tasks = accepted_case(db, w)
    conclude(db, "rv_housing", tasks[0])()
    conclude(db, "rv_planning", tasks[1])()
    results = race(conclude(db, "rv_fire", tasks[2]), conclude(db, "rv_civil", tasks[3]))
    assert results == ["approved", "approved"]
    with db.read() as s:
        assert s.get(Case, case_id).stage == "decide"
        decide = s.scalar(
            select(func.count()).select_from(Task).where(Task.case_id == case_id, Task.kind == "decide")
        )
        assert decide == 1


def test_a_double_click_makes_one_case(real) -> None:  # noqa: ANN001
    db, w = real
    mats = uploads(db)
    results = race(*(lambda: submit(db, w, mats, "double-click-000001") for _ in range(4)))
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1

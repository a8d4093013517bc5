"""Real concurrency on a database of its own (SQLite and PostgreSQL): issuers racing for numbers and for the
first signing key, and two clerks moving one delivery at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from tests import personas
from tests.certificates.conftest import CITIZEN_ID, ME, TEACHER

from zhicheng.certificates import delivery, numbers, services
from zhicheng.certificates.models import CertificateKey
from zhicheng.certificates.schemas import DeliveryIn, DeliveryStepIn, FieldIn, TypeIn
from zhicheng.certificates.verification import verify
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import Conflict


@pytest.fixture
def real(fresh_url: str) -> Iterator[Database]:
    db = Database(fresh_url)
    with unit_of_work(db, ME) as uow:
        services.define_type(
            uow,
            TypeIn(code=TEACHER, name="教师资格证", holder_kind="citizen", fields=[FieldIn(key="资格种类")]),
        )
    yield db
    db.dispose()


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; each one's result or exception."""
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
        t.join(timeout=120)
    return out


def issue(db: Database, n: int) -> str:
    with unit_of_work(db, ME) as uow:
        cert = services.issue(
            uow,
            type_code=TEACHER,
            holder_name="张三",
            holder_id=CITIZEN_ID,
            issuer_org_id=personas.WORLD.market,
            content={"资格种类": f"第 {n} 种"},
        )
        return cert.number


def test_racing_issuers_get_distinct_consecutive_numbers_and_share_one_key(real: Database) -> None:
    got = race(*[lambda n=n: issue(real, n) for n in range(8)])
    assert all(isinstance(g, str) for g in got), got
    assert sorted(numbers.parse(g).sequence for g in got) == list(range(1, 9))
    with real.read() as s:
        keys = list(s.scalars(select(CertificateKey)))
        assert [k.status for k in keys] == ["active"]  # the first signing made exactly one key
        assert all(verify(s, g).valid for g in got)


def test_two_clerks_moving_one_delivery_one_wins(real: Database) -> None:
    number = issue(real, 0)
    with unit_of_work(real, ME) as uow:
        cert = services.get(uow, number)
        d = delivery.start(uow, cert, DeliveryIn(method="window"))

    def step(status: str) -> str:
        with unit_of_work(real, ME) as uow:
            c = services.get(uow, number)
            # both clerks' pages showed version 1
            return delivery.advance(uow, c, d.id, DeliveryStepIn(status=status, version=1)).status

    got = race(lambda: step("ready"), lambda: step("cancelled"))
    wins = [g for g in got if isinstance(g, str)]
    assert len(wins) == 1, got
    assert all(isinstance(g, Conflict) for g in got if not isinstance(g, str)), got

"""Usage statistics rolled up from the audit trail: counted once, shown to the consumer, the provider and
the data authority, not to others."""

from __future__ import annotations

from tests import personas
from tests.exchange.conftest import ME
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import unit_of_work
from zhicheng.exchange import usage

URL = "/api/v1/exchange/resources/{}/records"


def test_calls_are_counted_once_per_day_and_grant(as_system, as_user, hosted, db) -> None:  # noqa: ANN001
    for limit in (5, 7, 30):
        assert as_system.get(URL.format(hosted["code"]), params={"limit": limit}).status_code == 200
    with unit_of_work(db, ME) as uow:
        assert usage.roll_up(uow) == 3
    with unit_of_work(db, ME) as uow:
        assert usage.roll_up(uow) == 0  # the mark moved: nothing is counted twice
    as_system.get(URL.format(hosted["code"]), params={"limit": 1})
    with unit_of_work(db, ME) as uow:
        assert usage.roll_up(uow) == 1
    mine = as_system.get("/api/v1/exchange/usage").json()
    assert [(u["calls"], u["rows"], u["grant_id"]) for u in mine] == [(4, 43, hosted["grant_id"])]
    assert mine[0]["resource_code"] == hosted["code"] and mine[0]["consumer"] == "南京市数据局"

    with unit_of_work(db, ME) as uow:  # the provider's catalogue clerk sees the use of its resource
        user = auth.create_user(
            uow,
            UserIn(
                username="provider",
                display_name="钱编目",
                password=personas.PASSWORD,
                org_id=personas.WORLD.market,
            ),
        )
        auth.grant_role(uow, user.id, GrantIn(role="catalog_clerk", org_id=personas.WORLD.market))
    assert [u["calls"] for u in as_user("provider").get("/api/v1/exchange/usage").json()] == [4]
    assert as_user("district_admin").get("/api/v1/exchange/usage").json() == []
    assert as_user("outsider").get("/api/v1/exchange/usage").status_code == 403

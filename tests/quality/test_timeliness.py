"""Timeliness against the declared update cycle: one issue per overdue spell, flagged to the provider and
cleared when the data is updated; completeness of hosted rows computed in SQL; who may see them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.quality.conftest import ME, ROWS, URL, body, host, reload
from zhicheng.catalog import services as catalog
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import unit_of_work
from zhicheng.exchange import services as exchange
from zhicheng.exchange.models import Dataset
from zhicheng.quality import queries, services
from zhicheng.quality.models import QualityIssue

DAY = dt.timedelta(days=1)


def sweep(db, now: dt.datetime) -> tuple[int, int]:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        return services.flag_stale(uow, now)


def issues(db, resource_id: int) -> list[QualityIssue]:  # noqa: ANN001
    with db.read() as s:
        q = select(QualityIssue).where(QualityIssue.resource_id == resource_id).order_by(QualityIssue.id)
        return list(s.scalars(q))


def loaded_at(db, dataset_id: int) -> dt.datetime:  # noqa: ANN001
    with db.read() as s:
        return s.get_one(Dataset, dataset_id).loaded_at


def test_one_issue_per_overdue_spell_cleared_by_new_data(db, world) -> None:  # noqa: ANN001
    ds = host(db, world["daily"])
    t0 = loaded_at(db, ds)
    # a daily resource: due a day after its load, flagged only once the grace day is over too
    assert sweep(db, t0 + 2 * DAY) == (0, 0)
    assert sweep(db, t0 + 2 * DAY + dt.timedelta(minutes=1)) == (1, 0)
    assert sweep(db, t0 + 3 * DAY) == (0, 0)  # the same spell: no second issue
    (first,) = issues(db, world["daily"])
    assert (first.kind, first.source, first.update_cycle) == ("stale", "dataset", "daily")
    assert first.last_update_at == t0 and first.due_at == t0 + DAY and first.cleared_at is None
    assert first.open_key == f"stale:{world['daily']}"

    reload(db, ds)  # the provider loads new data
    t1 = loaded_at(db, ds)
    assert t1 > t0
    assert sweep(db, t1 + DAY) == (0, 1)
    (first,) = issues(db, world["daily"])
    assert (first.cleared_reason, first.open_key) == ("updated", None)

    # overdue again later: a second spell, a second issue
    assert sweep(db, t1 + 3 * DAY) == (1, 0)
    spells = issues(db, world["daily"])
    assert len(spells) == 2 and spells[1].cleared_at is None and spells[1].last_update_at == t1
    with db.read() as s:
        tags = list(
            s.scalars(
                select(AuditRecord.tag)
                .where(AuditRecord.subject.in_([f"issue:{i.id}" for i in spells]))
                .order_by(AuditRecord.id)
            )
        )
    assert tags == ["quality:issue:flag", "quality:issue:clear", "quality:issue:flag"]


def test_without_hosted_data_the_catalog_entry_counts(db, world) -> None:  # noqa: ANN001
    with db.read() as s:
        res = {r.id: r for r in s.scalars(select(Resource))}
    updated = res[world["monthly"]].updated_at
    # monthly: 31 days + 1 day of grace; the irregular resource is never overdue; weekly is by then
    assert sweep(db, updated + 32 * DAY) == (2, 0)  # daily and weekly (no data at all)
    assert sweep(db, updated + 32 * DAY + dt.timedelta(seconds=1)) == (1, 0)  # monthly
    stale = {i.resource_id: i for i in issues(db, world["monthly"])}
    assert stale[world["monthly"]].source == "catalog" and stale[world["monthly"]].last_update_at == updated
    assert issues(db, world["irregular"]) == []
    with db.read() as s:
        monthly = queries.timeliness(s, s.get_one(Resource, world["monthly"]), updated + 40 * DAY)
        irregular = queries.timeliness(s, s.get_one(Resource, world["irregular"]), updated + 400 * DAY)
    assert monthly["overdue"] and monthly["open_issue_id"] == stale[world["monthly"]].id
    assert monthly["cycle_days"] == 31 and monthly["due_at"] == updated + 31 * DAY
    assert (irregular["overdue"], irregular["cycle_days"], irregular["due_at"]) == (False, None, None)


def test_retired_or_no_longer_periodic_resources_are_cleared(db, world) -> None:  # noqa: ANN001
    w = world
    with db.read() as s:
        updated = s.get_one(Resource, w["monthly"]).updated_at
    far = updated + 100 * DAY
    assert sweep(db, far) == (3, 0)  # daily, monthly and weekly
    with unit_of_work(db, ME) as uow:
        catalog.retire_resource(uow, w["monthly"], "职能调整，资源撤销")
        from tests import personas

        catalog.update_resource(uow, w["weekly"], body("食品经营许可信息", "不定期", personas.WORLD.market))
    assert sweep(db, far) == (0, 2)
    reasons = {i.resource_id: i.cleared_reason for i in issues(db, w["monthly"]) + issues(db, w["weekly"])}
    assert reasons == {w["monthly"]: "retired", w["weekly"]: "cycle"}


def test_completeness_counts_values_per_item_in_sql(db, world) -> None:  # noqa: ANN001
    host(db, world["daily"])
    with db.read() as s:
        found = queries.completeness(s, world["daily"])
        assert queries.completeness(s, world["monthly"]) is None  # no data on the platform
    # 8 rows; 法定代表人 missing in 3 (None twice, "" once: empty text is no value), 注册资本 in 2
    assert (found["rows"], found["complete_rows"]) == (8, 4)
    assert found["complete_share"] == 0.5
    assert {i["item"]: (i["filled"], i["share"]) for i in found["items"]} == {
        "统一社会信用代码": (8, 1.0),
        "企业名称": (8, 1.0),
        "法定代表人": (5, 0.625),
        "注册资本": (6, 0.75),
    }
    assert sum(1 for r in ROWS if all(v not in (None, "") for v in r.values())) == 4


def test_quality_api_for_readers_providers_and_the_authority(db, world, as_user) -> None:  # noqa: ANN001
    host(db, world["daily"])
    with unit_of_work(db, ME) as uow:
        exchange.proxy(uow, world["monthly"], "https://provider.example/api/records")
    clerk = as_user("clerk")
    shown = clerk.get(f"{URL}/resources/{world['daily']}")
    assert shown.status_code == 200, shown.text
    q = shown.json()
    assert (q["data_mode"], q["timeliness"]["source"], q["timeliness"]["overdue"]) == (
        "hosted",
        "dataset",
        False,
    )
    assert q["completeness"]["complete_rows"] == 4 and q["open_corrections"] == 0
    assert clerk.get(f"{URL}/resources/{world['monthly']}").json()["data_mode"] == "proxied"
    assert clerk.get(f"{URL}/resources/{world['monthly']}").json()["completeness"] is None
    assert clerk.get(f"{URL}/resources/999999").status_code == 404
    assert as_user("outsider").get(f"{URL}/resources/{world['daily']}").status_code == 403

    with db.read() as s:
        updated = s.get_one(Resource, world["monthly"]).updated_at
    sweep(db, updated + 40 * DAY)
    provider = as_user("provider").get(f"{URL}/issues")
    assert provider.status_code == 200
    assert {i["resource_id"] for i in provider.json()} == {world["daily"], world["monthly"]}  # 数据局's only
    review = as_user("authority").get(f"{URL}/issues", params={"view": "review"})
    assert {i["resource_id"] for i in review.json()} == {world["daily"], world["monthly"], world["weekly"]}
    assert clerk.get(f"{URL}/issues").status_code == 403  # a consumer manages no provider department
    assert as_user("authority").get(f"{URL}/issues").status_code == 403
    assert as_user("provider").get(f"{URL}/issues", params={"view": "nope"}).status_code == 422

"""The governed records call: grant check, granted items only, masking, filters, sort, keyset paging,
rate limits and the audit record of every call — as the consumer system, the provider, an outsider."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.exchange.conftest import ME, grant, make_resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import unit_of_work
from zhicheng.sharing import services as sharing

URL = "/api/v1/exchange/resources/{}/records"


def call(client, code: str, **params):  # noqa: ANN001, ANN003, ANN201
    q = {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v) for k, v in params.items()
    }
    return client.get(URL.format(code), params=q)


def test_consumer_gets_granted_items_masked(as_system, hosted, db) -> None:  # noqa: ANN001
    r = call(as_system, hosted["code"], limit=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["id"] for f in body["fields"]] == [
        "_id",
        "姓名",
        "公民身份号码",
        "联系电话",
        "现住址",
        "出生日期",
        "所属区县",
        "家庭人口",
    ]
    first = body["records"][0]
    assert "内部备注" not in first
    assert first["姓名"] == "张**"
    assert first["公民身份号码"].startswith("320102") and "********" in first["公民身份号码"]
    assert first["联系电话"] == "138****0000"
    assert first["现住址"].startswith("南京市玄武区") and "中山路1号" not in first["现住址"]
    assert first["出生日期"] == "1980-01-01" and first["所属区县"] == "玄武区"
    assert body["total"] == 30 and len(body["records"]) == 5 and body["next_cursor"]


def test_every_call_is_on_the_audit_chain(as_system, hosted, db) -> None:  # noqa: ANN001
    call(as_system, hosted["code"], filters={"所属区县": "秦淮区"}, limit=3)
    with db.read() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.tag == "exchange:records:read")).all()
    assert len(rec) == 1
    change = json.loads(rec[0].change)
    assert rec[0].subject == f"resource:{hosted['code']}" and rec[0].actor.startswith("system:")
    assert change["grant"] == hosted["grant_id"] and change["rows"] == 3
    assert change["purpose"] == "人口信息核验" and len(change["query"]) == 64


def test_filters_in_the_items_type(as_system, hosted) -> None:  # noqa: ANN001
    code = hosted["code"]
    assert call(as_system, code, filters={"所属区县": "秦淮区"}).json()["total"] == 10
    assert call(as_system, code, filters={"所属区县": ["秦淮区", "鼓楼区"]}).json()["total"] == 20
    assert call(as_system, code, filters={"家庭人口": 2}).json()["total"] == 5
    assert call(as_system, code, filters={"家庭人口": None}).json()["total"] == 5  # NULL matches null
    assert call(as_system, code, filters={"出生日期": "1981-02-02"}).json()["total"] == 1
    assert call(as_system, code, q="中山路2").json()["total"] == 11  # 2, 20…29 (addresses are masked)
    assert call(as_system, code, q={"所属区县": "鼓"}).json()["total"] == 10


def test_bad_queries_are_clear_4xx(as_system, hosted) -> None:  # noqa: ANN001
    code = hosted["code"]
    cases = [
        ({"filters": "{not json"}, 422, "filters"),
        ({"filters": json.dumps({"无此项": "x"})}, 422, "filters"),
        ({"filters": json.dumps({"家庭人口": "两口"})}, 422, "filters"),
        ({"filters": json.dumps({"出生日期": "1981-13-45"})}, 422, "filters"),
        ({"limit": "100000"}, 422, "limit"),
        ({"limit": "-1"}, 422, "limit"),
        ({"offset": "abc"}, 422, "offset"),
        ({"sort": "无此项 desc"}, 422, "sort"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"records_format": "csv"}, 422, "records_format"),
        ({"drop": "table"}, 422, "drop"),
    ]
    for params, status, field in cases:
        r = as_system.get(URL.format(code), params=params)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json().get("field") == field, (params, r.json())


def test_items_not_granted_are_refused_not_ignored(as_system, hosted) -> None:  # noqa: ANN001
    for params in ({"fields": "内部备注"}, {"filters": {"内部备注": "内部"}}, {"sort": "内部备注"}):
        r = call(as_system, hosted["code"], **params)
        assert r.status_code == 403, r.text
        assert "内部备注" in r.json()["messages"]["zh"]


def test_injection_is_just_a_value(as_system, hosted, db) -> None:  # noqa: ANN001
    evil = "玄武区' OR '1'='1"
    r = call(as_system, hosted["code"], filters={"所属区县": evil}, q="%' ; DROP TABLE x; --")
    assert r.status_code == 200 and r.json()["records"] == [] and r.json()["total"] == 0
    assert call(as_system, hosted["code"], q="%").json()["total"] == 0  # LIKE wildcards are escaped
    assert call(as_system, hosted["code"]).json()["total"] == 30


def test_keyset_paging_walks_every_row_once_in_order(as_system, hosted) -> None:  # noqa: ANN001
    for sort in ("", "家庭人口 desc, 出生日期", "所属区县, 家庭人口"):
        seen, cursor = [], None
        while True:
            params = {
                "limit": 7,
                "sort": sort,
                "fields": "所属区县,家庭人口,出生日期",
                "include_total": "false",
            }
            if cursor:
                params["cursor"] = cursor
            body = as_system.get(URL.format(hosted["code"]), params=params).json()
            seen += body["records"]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 30 and len({r["_id"] for r in seen}) == 30, sort
        whole = as_system.get(
            URL.format(hosted["code"]), params={"limit": 30, "sort": sort, "include_total": "false"}
        ).json()["records"]
        assert [r["_id"] for r in seen] == [r["_id"] for r in whole], sort
    desc = call(as_system, hosted["code"], sort="家庭人口 desc", limit=30).json()["records"]
    values = [r["家庭人口"] for r in desc]
    assert values[:6] == [5] * 5 + [4] and values[-5:] == [None] * 5  # NULL is the smallest value


def test_post_body_and_lists_format(as_system, hosted) -> None:  # noqa: ANN001
    r = as_system.post(
        URL.format(hosted["code"]),
        json={
            "filters": {"所属区县": ["玄武区"]},
            "fields": ["所属区县"],
            "records_format": "lists",
            "limit": 2,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["records"] == [[1, "玄武区"], [4, "玄武区"]]


def test_no_grant_revoked_grant_and_outsiders_are_refused(as_system, as_user, hosted, db) -> None:  # noqa: ANN001
    other = make_resource(db, name="另一份人口资源")
    r = call(as_system, _code(db, other))
    assert r.status_code in (403, 409)
    with unit_of_work(db, ME) as uow:
        sharing.revoke(uow, hosted["grant_id"], "项目已结束，不再需要该数据")
    r = call(as_system, hosted["code"])
    assert r.status_code == 403 and "授权" in r.json()["messages"]["zh"]
    with db.read() as s:
        tags = [t for (t,) in s.execute(select(AuditRecord.tag).where(AuditRecord.tag.like("exchange:%")))]
    assert "exchange:records:refused" in tags
    assert as_user("outsider").get(URL.format(hosted["code"])).status_code == 403
    anonymous = as_system.get(URL.format(hosted["code"]), headers={"Authorization": ""})
    assert anonymous.status_code == 401


def test_rate_limit_per_grant(as_system, db) -> None:  # noqa: ANN001
    from zhicheng.exchange import services

    rid = make_resource(db, name="限流测试资源")
    with unit_of_work(db, ME) as uow:
        ds = services.host(uow, rid)
        services.load_rows(uow, ds.id, [{"姓名": "张三"}], mode="full", source="upload", fmt="csv")
    grant(db, rid, rate_per_minute=2)
    code = _code(db, rid)
    assert [call(as_system, code).status_code for _ in range(2)] == [200, 200]
    r = call(as_system, code)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def _code(db, rid: int) -> str:  # noqa: ANN001
    from zhicheng.catalog.models import Resource

    with db.read() as s:
        return s.get(Resource, rid).code


def test_ckan_datastore_search_is_the_same_governed_call(as_system, client, hosted, db) -> None:  # noqa: ANN001
    url = "/api/3/action/datastore_search"
    r = as_system.post(
        url, json={"resource_id": hosted["code"], "filters": {"所属区县": "秦淮区"}, "limit": 3}
    )
    body = r.json()
    assert r.status_code == 200 and body["success"], body
    assert len(body["result"]["records"]) == 3 and body["result"]["total"] == 10
    assert (
        body["result"]["records"][0]["联系电话"].count("*") == 4
        and "内部备注" not in body["result"]["records"][0]
    )
    assert "cursor=" in body["result"]["_links"]["next"]
    with db.read() as s:
        n = s.scalar(select(func.count()).where(AuditRecord.tag == "exchange:records:read"))
    assert n == 1
    # without a key the resource is not open data: CKAN's Authorization Error
    r = client.get(url, params={"resource_id": hosted["code"]})
    assert r.status_code == 403 and r.json()["error"]["__type"] == "Authorization Error"
    bad = as_system.post(url, json={"resource_id": hosted["code"], "filters": {"无此项": 1}})
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"


def test_masks_stored_at_load_equal_masks_made_at_read(as_system, hosted, db) -> None:  # noqa: ANN001
    """Hosted rows keep the standard and strict profiles' masks; a grant whose rule has no stored column
    (an override) is masked at read time. Every path gives what the rule gives on the raw value."""
    from tests.exchange.conftest import people
    from zhicheng.sharing import masking
    from zhicheng.sharing.models import SharingGrant

    raw = people()
    items = {"姓名": "name", "公民身份号码": "id_number", "联系电话": "phone", "现住址": "address"}
    for profile, overrides in (("standard", {}), ("strict", {}), ("standard", {"联系电话": "all_stars"})):
        with unit_of_work(db, ME) as uow:
            g = uow.session.get(SharingGrant, hosted["grant_id"])
            g.masking_profile, g.mask_overrides = profile, overrides
            uow.record("sharing:grant:adjust", f"grant:{g.id}", {"profile": profile})
        got = call(as_system, hosted["code"], limit=30).json()["records"]
        p = masking.BUILTIN[profile]
        for row, person in zip(got, raw, strict=True):
            for item, sens in items.items():
                rule = overrides.get(item) or p.rule_for(sens)
                assert row[item] == masking.RULES[rule](person[item]), (profile, item)


def test_fast_lane_and_route_answer_alike(as_system, as_user, hosted, app) -> None:  # noqa: ANN001
    """A bearer GET is answered by the lane (exchange/lane.py), a POST by the route: alike, errors too."""
    url = URL.format(hosted["code"])
    lane = as_system.get(url, params={"filters": json.dumps({"所属区县": "秦淮区"}), "limit": 4}).json()
    route = as_system.post(url, json={"filters": {"所属区县": "秦淮区"}, "limit": 4}).json()
    assert lane == route
    bad = as_system.get(url, params={"limit": "0", "lang": "en"})
    assert bad.status_code == 422 and bad.json()["detail"] == "limit must be between 1 and 1000"
    assert bad.headers["content-type"].startswith("application/problem+json")
    wrong = as_system.get(url, headers={"Authorization": "Bearer zc_nope_nope"})
    assert wrong.status_code == 401  # a token that does not verify goes on to the guard


def test_open_data_is_read_anonymously_through_ckan_with_the_strict_profile(client, db) -> None:  # noqa: ANN001
    from tests.exchange.conftest import people
    from zhicheng.exchange import services

    rid = make_resource(db, name="开放的人口样本", share_type="无条件共享", open_type="无条件开放")
    with unit_of_work(db, ME) as uow:
        ds = services.host(uow, rid)
        services.load_rows(uow, ds.id, people(3), mode="full", source="upload", fmt="csv")
    r = client.get("/api/3/action/datastore_search", params={"resource_id": _code(db, rid), "limit": 2})
    assert r.status_code == 200, r.text
    first = r.json()["result"]["records"][0]
    assert (
        first["姓名"] == "*" * len("张小明")
        and first["公民身份号码"].startswith("3")
        and "*" in first["公民身份号码"]
    )
    assert first["所属区县"] == "玄武区"
    with db.read() as s:
        actors = s.scalars(select(AuditRecord.actor).where(AuditRecord.tag == "exchange:records:read")).all()
    assert actors == ["public:anonymous"]

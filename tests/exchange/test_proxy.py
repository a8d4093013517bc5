"""Proxied resources through the real records route: the consumer system's call is forwarded to a provider
API started here, and the answer governed (granted items only, masked, typed, audited); a provider that is
down, slow or answers badly is a clear 502/504, never a 500 and never a leak."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.exchange.conftest import GRANTED, ME, grant, make_resource, people
from tests.exchange.test_pulls import Provider, closed_port
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Database, unit_of_work
from zhicheng.exchange import proxy, services

URL = "/api/v1/exchange/resources/{}/records"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.close()


def rows_with_extras(n: int = 10) -> list[dict]:
    """What a careless provider sends: every column it has, the unshared one and a secret one too."""
    return [{"_id": 100 + i, **p, "秘密": "不该出现"} for i, p in enumerate(people(n))]


def ckan(records: list[dict], total: int | None = None) -> dict:
    return {
        "success": True,
        "result": {"records": records, "total": total if total is not None else len(records)},
    }


def proxied(db: Database, url: str, token: str | None = "prov-token", granted: bool = True) -> str:
    rid = make_resource(db, name="代理的全市人口信息")
    with unit_of_work(db, ME) as uow:
        services.proxy(uow, rid, url, token)
        code = uow.session.get(Resource, rid).code
    if granted:
        grant(db, rid)
    return code


def call(client, code: str, **params: Any):  # noqa: ANN001, ANN201
    q = {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v) for k, v in params.items()
    }
    return client.get(URL.format(code), params=q)


def test_a_proxied_call_is_forwarded_and_governed(as_system, db, provider) -> None:  # noqa: ANN001
    provider.answer = lambda req: (200, ckan(rows_with_extras(12)[:5], total=10))
    code = proxied(db, f"{provider.url}/datastore_search")
    r = call(
        as_system, code, filters={"所属区县": "玄武区", "家庭人口": ["2", 3]}, sort="家庭人口 desc", limit=5
    )
    assert r.status_code == 200, r.text
    sent = provider.seen[0]
    assert sent["method"] == "POST" and sent["headers"]["Authorization"] == "Bearer prov-token"
    assert sent["body"] == {
        "filters": {"所属区县": "玄武区", "家庭人口": [2, 3]},  # values in the item's type
        "q": None,
        "fields": GRANTED,
        "sort": "家庭人口 desc",
        "limit": 5,
        "offset": 0,
        "include_total": True,
    }
    body = r.json()
    assert [f["id"] for f in body["fields"]] == ["_id", *GRANTED]
    assert body["total"] == 10 and body["next_cursor"] is None and len(body["records"]) == 5
    first = body["records"][0]
    assert set(first) == {"_id", *GRANTED}  # neither 内部备注 nor 秘密, though the provider sent them
    assert "不该出现" not in r.text and "内部" not in r.text
    assert first["_id"] == 100 and first["姓名"] == "张**" and first["联系电话"] == "138****0000"
    assert first["出生日期"] == "1980-01-01" and first["家庭人口"] is None  # people(…)[0] has no count
    with db.read() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.tag == "exchange:records:read")).one()
    assert json.loads(rec.change)["rows"] == 5 and rec.subject == f"resource:{code}"


def test_fields_offset_and_other_answer_shapes(as_system, db, provider) -> None:  # noqa: ANN001
    data = people(30)
    provider.answer = lambda req: (
        200,
        {"records": [{k: p[k] for k in ("所属区县", "姓名")} for p in data[: req["body"]["limit"] + 3]]},
    )
    code = proxied(db, f"{provider.url}/rows", token=None)
    r = call(as_system, code, fields="所属区县,姓名", offset=20, limit=4, include_total="false")
    assert r.status_code == 200, r.text
    assert "Authorization" not in provider.seen[0]["headers"]
    body = r.json()
    assert len(body["records"]) == 4  # a provider answering more than the limit is cut to it
    assert [rec["_id"] for rec in body["records"]] == [21, 22, 23, 24]  # no _id from the provider: its place
    assert body["records"][0] == {"_id": 21, "所属区县": "玄武区", "姓名": "张**"} and "total" not in body
    provider.answer = lambda req: (
        200,
        {
            "success": True,
            "result": {"fields": [{"id": "所属区县"}, {"id": "家庭人口"}], "records": [["秦淮区", "4"]]},
        },
    )
    r = call(as_system, code, fields="所属区县,家庭人口")
    assert r.status_code == 200 and r.json()["records"] == [{"_id": 1, "所属区县": "秦淮区", "家庭人口": 4}]


def test_queries_the_provider_cannot_govern_are_refused(as_system, db, provider) -> None:  # noqa: ANN001
    provider.answer = lambda req: (200, ckan([]))
    code = proxied(db, f"{provider.url}/rows")
    r = call(as_system, code, q="中山路")  # free text would search 内部备注 at the provider
    assert r.status_code == 422 and r.json()["field"] == "q"
    r = call(as_system, code, cursor="WzFd")
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    assert call(as_system, code, fields="内部备注").status_code == 403
    assert provider.seen == []  # none of these reached the provider
    r = call(as_system, code, q={"现住址": "中山路"})
    assert r.status_code == 200 and provider.seen[0]["body"]["q"] == {"现住址": "中山路"}


def test_a_failing_provider_is_a_clear_502_or_504(as_system, db, provider, monkeypatch) -> None:  # noqa: ANN001
    code = proxied(db, f"{provider.url}/rows")
    bad_birth = [{**people(1)[0], "出生日期": "不详"}]
    cases = [
        (lambda req: (200, b"<html>gateway</html>"), 502, "JSON"),
        (lambda req: (500, {"error": "boom"}), 502, "HTTP 500"),
        (lambda req: (401, {"error": "token"}), 502, "HTTP 401"),
        (lambda req: (200, {"success": False, "error": {}}), 502, "失败"),
        (lambda req: (200, {"rows": []}), 502, "records"),
        (lambda req: (200, ckan(bad_birth)), 502, "出生日期"),
        (lambda req: (200, ckan(["not an object"])), 502, "对象"),
    ]
    for answer, status, words in cases:
        provider.answer = answer
        r = call(as_system, code)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert words in r.json()["messages"]["zh"] + r.json()["messages"]["en"], r.json()

    def slow(req: dict) -> tuple[int, Any]:
        import time

        time.sleep(1.5)
        return 200, ckan([])

    provider.answer = slow
    monkeypatch.setattr(proxy, "TIMEOUT", httpx.Timeout(0.3))
    r = call(as_system, code)
    assert r.status_code == 504 and r.json()["code"] == "provider-timeout"
    down = proxied(db, f"http://127.0.0.1:{closed_port()}/rows")
    r = call(as_system, down)
    assert r.status_code == 502 and "无法连接" in r.json()["messages"]["zh"]


def test_no_grant_no_forwarding(as_system, as_user, db, provider) -> None:  # noqa: ANN001
    provider.answer = lambda req: (200, ckan(rows_with_extras(3)))
    code = proxied(db, f"{provider.url}/rows", granted=False)
    assert call(as_system, code).status_code == 403
    assert as_user("outsider").get(URL.format(code)).status_code == 403
    assert provider.seen == []

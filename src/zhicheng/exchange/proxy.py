"""Proxied resources: each governed call is forwarded to the provider's registered API.

The platform POSTs the consumer's query, already checked against the grant, to `Dataset.proxy_url` as a JSON
body in the style of CKAN's datastore_search:

    {"filters": {"item": value | [values]}, "q": "text" | {"item": "text"}, "fields": [items],
     "sort": "item desc, item", "limit": n, "offset": n, "include_total": true}

with `Authorization: Bearer <proxy_token>` when one is registered, and accepts {"records": [...], "total": n}
or CKAN's {"success": true, "result": {"records": [...], "total": n}}. Only the asked items are taken from
each record and each is coerced to its item's type, so a provider that answers more than it was asked
cannot leak it; calls.search then masks what is left. A provider that is down, slow or answers badly is a
502 / 504 problem, never a 500, and never a half answer.

Free text (`q` as one string) searches every column at the provider, granted or not; so it is forwarded only
when the call asks for every text item of the resource, else the caller is told to search per item.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import orjson

from zhicheng.core.errors import DomainError, Invalid
from zhicheng.exchange import datastore
from zhicheng.exchange.models import Dataset
from zhicheng.exchange.query import Built, Search

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_ANSWER_BYTES = 20 * 1024 * 1024
_client: httpx.Client | None = None
_lock = threading.Lock()


class ProviderError(DomainError):
    """The provider's API is down or answered something the platform cannot govern."""

    status = 502
    code = "provider-error"
    title_zh = "数据提供方接口应答异常"
    title_en = "The provider's API answered badly"


class ProviderTimeout(ProviderError):
    status = 504
    code = "provider-timeout"
    title_zh = "数据提供方接口超时"
    title_en = "The provider's API timed out"


def client() -> httpx.Client:
    """One pooled client per process: keep-alive connections to providers across calls."""
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
        return _client


def body(dataset: Dataset, search: Search, built: Built) -> dict[str, Any]:
    """The provider's request: the consumer's query in datastore_search's words."""
    types = {c["item"]: c["type"] for c in dataset.columns}
    if search.cursor:
        raise Invalid(
            "该资源由提供方接口代理，请用 offset 分页，不支持 cursor",
            "this resource is proxied to the provider's API: page with offset, not cursor",
            field="cursor",
        )
    if isinstance(search.q, str):
        texts = {c["item"] for c in dataset.columns if c["type"] == "string"}
        if not texts <= set(built.fields):
            raise Invalid(
                "该资源由提供方接口代理：全文检索 q 只能在请求全部文本信息项时使用，"
                '请按信息项检索 {"信息项": "文本"}',
                "this resource is proxied: a free-text q needs every text item in fields; "
                'search per item with {"item": "text"}',
                field="q",
            )
    filters: dict[str, Any] = {}
    for item, values in search.filters:
        coerced = [datastore.jsonable(datastore.coerce(v, types[item])) for v in values]
        filters[item] = coerced[0] if len(coerced) == 1 else coerced
    return {
        "filters": filters,
        "q": search.q if isinstance(search.q, str) or search.q is None else dict(search.q),
        "fields": list(built.fields),
        "sort": ", ".join(f"{item} desc" if desc else item for item, desc in search.sort),
        "limit": search.limit,
        "offset": search.offset,
        "include_total": search.include_total,
    }


def _answer(dataset: Dataset, payload: dict[str, Any]) -> Any:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if dataset.proxy_token:
        headers["Authorization"] = f"Bearer {dataset.proxy_token}"
    try:
        with client().stream(
            "POST", dataset.proxy_url or "", content=orjson.dumps(payload), headers=headers, timeout=TIMEOUT
        ) as r:
            if r.status_code >= 400:
                raise ProviderError(
                    f"数据提供方接口返回错误（HTTP {r.status_code}）",
                    f"the provider's API answered HTTP {r.status_code}",
                    provider_status=r.status_code,
                )
            data = bytearray()
            for chunk in r.iter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:
                    raise ProviderError("数据提供方接口应答过大", "the provider's answer is too large")
    except httpx.TimeoutException:
        raise ProviderTimeout(
            f"数据提供方接口在 {TIMEOUT.read:.0f} 秒内没有应答", "the provider's API did not answer in time"
        ) from None
    except httpx.HTTPError as exc:
        raise ProviderError(
            f"无法连接数据提供方接口（{type(exc).__name__}）",
            f"cannot reach the provider's API ({type(exc).__name__})",
        ) from None
    try:
        return orjson.loads(bytes(data))
    except orjson.JSONDecodeError:
        raise ProviderError("数据提供方接口应答不是 JSON", "the provider's answer is not JSON") from None


def fetch(dataset: Dataset, search: Search, built: Built) -> tuple[list[tuple[Any, ...]], int | None]:
    """One page from the provider: rows (_id, *values of built.fields) and the total when asked and given."""
    answer = _answer(dataset, body(dataset, search, built))
    if isinstance(answer, dict) and answer.get("success") is False:
        raise ProviderError("数据提供方接口报告失败", "the provider's API reported a failure")
    result = answer.get("result") if isinstance(answer, dict) and "result" in answer else answer
    records = result.get("records") if isinstance(result, dict) else None
    if not isinstance(records, list):
        raise ProviderError(
            "数据提供方接口应答中没有 records 列表", "the provider's answer has no records list"
        )
    types = {c["item"]: c["type"] for c in dataset.columns}
    names = _names(result)
    rows = []
    for i, record in enumerate(records[: search.limit]):
        if isinstance(record, list) and names:
            record = dict(zip(names, record, strict=False))
        if not isinstance(record, dict):
            raise ProviderError(
                f"数据提供方接口应答的第 {i + 1} 条记录不是对象",
                f"record {i + 1} of the provider's answer is not an object",
            )
        rows.append(
            (_row_id(record.get("_id"), search.offset + i + 1), *_values(record, built.fields, types, i))
        )
    total = result.get("total")
    if not search.include_total or isinstance(total, bool) or not isinstance(total, int) or total < 0:
        total = None
    return rows, total


def _names(result: dict[str, Any]) -> list[str]:
    """Column names when the provider answered records as lists (CKAN's records_format=lists)."""
    fields = result.get("fields")
    if isinstance(fields, list):
        return [f.get("id") if isinstance(f, dict) else str(f) for f in fields]
    return []


def _row_id(value: Any, fallback: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return fallback


def _values(record: dict[str, Any], fields: list[str], types: dict[str, str], i: int) -> list[Any]:
    out = []
    for f in fields:
        try:
            out.append(datastore.coerce(record.get(f), types[f]))
        except datastore.BadValue as exc:
            raise ProviderError(
                f"数据提供方接口应答的第 {i + 1} 条记录中，信息项“{f}”：{exc.args[0]}",
                f"record {i + 1} of the provider's answer, item '{f}': {exc.args[1]}",
            ) from None
    return out

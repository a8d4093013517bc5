"""The exchange's query language, modelled on CKAN's datastore_search so that its users feel at home.

    filters        {"item": value} or {"item": [v1, v2]} (equality / any of), values in the item's type
    q              text found in any granted text item, or {"item": "text"} per item
    fields         the items to return (list, or comma separated); default: every granted item
    sort           "item1 desc, item2" (default: row order, `_id`)
    limit          rows per page (default 100, at most ZHICHENG_EXCHANGE_MAX_ROWS)
    offset         CKAN's paging, up to MAX_OFFSET; past that use `cursor`
    cursor         keyset paging: the `next_cursor` of the previous page (stable and fast at any depth)
    include_total  count the matching rows (default true, as CKAN; false is faster)
    records_format objects (default) | lists

`parse` checks the shape of a request; `Compiled` checks it against what the caller was granted and
builds the SQL. Values always travel as bound parameters and items map to known columns, so nothing a
caller sends becomes SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Select, and_, false, func, or_, select, true

from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.core.paging import decode, encode
from zhicheng.exchange.datastore import BadValue, coerce, jsonable

KNOWN = {
    "resource_id",
    "id",
    "filters",
    "q",
    "fields",
    "sort",
    "limit",
    "offset",
    "cursor",
    "include_total",
    "records_format",
    "plain",
    "language",
    "lang",  # the console's and the API's language switch, not a filter
}
DEFAULT_LIMIT = 100
MAX_OFFSET = 10_000
MAX_IN = 100  # values in one filter list


@dataclass(frozen=True)
class Search:
    filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    q: str | tuple[tuple[str, str], ...] | None = None
    fields: tuple[str, ...] | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (item, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    include_total: bool = True
    lists: bool = False

    def digest_source(self) -> str:
        """The canonical text of the query, whose SM3 digest goes on the audit record."""
        return json.dumps(
            {
                "filters": self.filters,
                "q": self.q,
                "fields": self.fields,
                "sort": self.sort,
                "limit": self.limit,
                "offset": self.offset,
                "cursor": self.cursor,
            },
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )


def _bad(zh: str, en: str, field: str) -> Invalid:
    return Invalid(zh, en, field=field)


def _json_param(value: Any, field: str) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _bad(f"参数 {field} 不是有效的 JSON", f"{field} is not valid JSON", field) from exc
    return value


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        value = "x"
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise _bad(f"参数 {field} 应为整数", f"{field} must be an integer", field) from None
    if not low <= n <= high:
        raise _bad(f"参数 {field} 应在 {low}–{high} 之间", f"{field} must be between {low} and {high}", field)
    return n


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise _bad(f"参数 {field} 应为 true 或 false", f"{field} must be true or false", field)


def _names(value: Any, field: str) -> tuple[str, ...]:
    value = _json_param(value, field)
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"参数 {field} 应为信息项名称列表", f"{field} must be a list of item names", field)
    return tuple(value)


def parse(raw: Mapping[str, Any], max_limit: int) -> Search:
    """A request's parameters (query string or JSON body) as a Search; Invalid on anything malformed."""
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise _bad(f"未知参数：{'、'.join(unknown)}", f"unknown parameters: {', '.join(unknown)}", unknown[0])
    filters: list[tuple[str, tuple[Any, ...]]] = []
    raw_filters = _json_param(raw.get("filters") or {}, "filters")
    if not isinstance(raw_filters, dict):
        raise _bad(
            'filters 应为对象：{"信息项": 值}', 'filters must be an object: {"item": value}', "filters"
        )
    for item, value in raw_filters.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values or len(values) > MAX_IN:
            raise _bad(
                f"信息项“{item}”的筛选值应为 1–{MAX_IN} 个",
                f"filter on '{item}' needs 1–{MAX_IN} values",
                "filters",
            )
        if any(isinstance(v, dict | list) for v in values):
            raise _bad(
                f"信息项“{item}”的筛选值应为单个值或值列表",
                f"filter on '{item}' must be a value or a list",
                "filters",
            )
        filters.append((item, values))
    q = _json_param(raw.get("q"), "q")
    if isinstance(q, dict):
        if not all(isinstance(v, str) for v in q.values()):
            raise _bad("q 的每个值都应为文本", "each value of q must be text", "q")
        q = tuple(sorted(q.items())) or None
    elif q is not None and not isinstance(q, str):
        raise _bad('q 应为文本或 {"信息项": 文本}', 'q must be text or {"item": text}', "q")
    if isinstance(q, str):
        q = q.strip() or None
    sort: list[tuple[str, bool]] = []
    raw_sort = raw.get("sort")
    if raw_sort:
        parts = raw_sort if isinstance(raw_sort, list) else str(raw_sort).split(",")
        for part in parts:
            words = str(part).strip().rsplit(" ", 1)
            desc = len(words) == 2 and words[1].lower() == "desc"
            name = (
                words[0].strip() if len(words) == 2 and words[1].lower() in ("asc", "desc") else part.strip()
            )
            if not name:
                raise _bad(
                    "sort 格式应为 “信息项 desc, 信息项”", "sort must look like 'item desc, item'", "sort"
                )
            sort.append((name, desc))
    offset = _int(raw.get("offset", 0), "offset", 0, MAX_OFFSET)
    cursor = raw.get("cursor") or None
    if cursor is not None and offset:
        raise _bad("cursor 与 offset 不能同时使用", "use either cursor or offset, not both", "cursor")
    fmt = raw.get("records_format", "objects")
    if fmt not in ("objects", "lists"):
        raise _bad(
            "records_format 应为 objects 或 lists",
            "records_format must be objects or lists",
            "records_format",
        )
    return Search(
        filters=tuple(filters),
        q=q,
        fields=_names(raw["fields"], "fields") if raw.get("fields") else None,
        sort=tuple(sort),
        limit=_int(raw.get("limit", DEFAULT_LIMIT), "limit", 1, max_limit),
        offset=offset,
        cursor=str(cursor) if cursor else None,
        include_total=_bool(raw.get("include_total", True), "include_total"),
        lists=fmt == "lists",
    )


@dataclass(frozen=True)
class Shape:
    """What a caller may touch in one dataset: granted item → (column, type); `known` holds every item of
    the resource, to tell an unknown item (422) from one that was not granted (403)."""

    columns: Mapping[str, Column]
    types: Mapping[str, str]
    known: frozenset[str]
    id_column: Column
    output: Mapping[str, Column] = field(default_factory=dict)  # item → the column returned, when not its own


def _item(shape: Shape, name: str, field: str) -> Column:
    col = shape.columns.get(name)
    if col is not None:
        return col
    if name in shape.known:
        raise Forbidden(f"未获授权的信息项：{name}", f"item not granted: {name}", field=field)
    raise Invalid(f"资源没有信息项“{name}”", f"the resource has no item '{name}'", field=field)


def _output(shape: Shape, name: str) -> Column:
    col = _item(shape, name, "fields")
    masked = shape.output.get(name)
    return col if masked is None else masked


def _value(shape: Shape, item: str, value: Any, field: str) -> Any:
    try:
        return coerce(value, shape.types[item])
    except BadValue as exc:
        zh, en = str(exc.args[0]), str(exc.args[1])
        raise Invalid(f"信息项“{item}”：{zh}", f"item '{item}': {en}", field=field) from None


@dataclass(frozen=True)
class Built:
    page: Select
    count: Select | None
    fields: list[str]  # the items returned, in order; page rows are (_id, *fields, *extra sort columns)
    keys: list[tuple[Column, bool]]
    key_positions: list[int]  # where each sort key sits in a page row

    def next_cursor(self, row: Any) -> str:
        return encode([jsonable(row[i]) for i in self.key_positions])


def build(shape: Shape, search: Search) -> Built:
    """The page query (and the count query, when asked) for a search within what was granted."""
    fields = list(search.fields) if search.fields else list(shape.columns)
    cols = [_output(shape, f) for f in fields]
    where = []
    for item, values in search.filters:
        col = _item(shape, item, "filters")
        coerced = [_value(shape, item, v, "filters") for v in values]
        present = [v for v in coerced if v is not None]
        cond = col.in_(present) if len(present) > 1 else (col == present[0] if present else false())
        where.append(or_(cond, col.is_(None)) if len(present) < len(coerced) else cond)
    if isinstance(search.q, str):
        text_cols = [c for name, c in shape.columns.items() if shape.types[name] == "string"]
        where.append(
            or_(*(c.contains(search.q, autoescape=True) for c in text_cols)) if text_cols else false()
        )
    elif search.q:
        for item, text in search.q:
            col = _item(shape, item, "q")
            if shape.types[item] != "string":
                raise Invalid(
                    f"信息项“{item}”不是文本，不能用 q 检索",
                    f"item '{item}' is not text; q needs text",
                    field="q",
                )
            where.append(col.contains(text, autoescape=True))
    keys = [(_item(shape, name, "sort"), desc) for name, desc in search.sort] + [(shape.id_column, False)]
    selected = [shape.id_column, *cols]
    positions = []
    for col, _ in keys:
        at = next((i for i, c in enumerate(selected) if c is col), None)
        if at is None:
            selected.append(col)
            at = len(selected) - 1
        positions.append(at)
    cond = and_(true(), *where)
    count = (
        select(func.count()).select_from(shape.id_column.table).where(cond) if search.include_total else None
    )
    page = select(*selected).where(cond)
    if search.cursor:
        page = page.where(_after(keys, _decode_cursor(search.cursor, keys, shape)))
    # NULL counts as the smallest value on both databases; `_id` is never NULL and is ordered plainly, so
    # that PostgreSQL walks its primary key index instead of sorting
    order = [
        c.asc() if c is shape.id_column else (c.desc().nulls_last() if desc else c.asc().nulls_first())
        for c, desc in keys
    ]
    page = page.order_by(*order).limit(search.limit)
    if search.offset:
        page = page.offset(search.offset)
    return Built(page, count, fields, keys, positions)


def _decode_cursor(cursor: str, keys: list[tuple[Column, bool]], shape: Shape) -> list[Any]:
    try:
        values = decode(cursor)
    except Invalid:
        values = None
    if not isinstance(values, list) or len(values) != len(keys):
        raise Invalid("分页游标与本次排序不符", "the cursor does not belong to this sort", field="cursor")
    by_column = {c.name: n for n, c in shape.columns.items()}
    out = []
    for (col, _), value in zip(keys, values, strict=True):
        item = by_column.get(col.name)
        try:
            if item is not None:
                out.append(coerce(value, shape.types[item]))
            elif isinstance(value, int) and not isinstance(value, bool):
                out.append(value)
            else:
                raise ValueError
        except (BadValue, TypeError, ValueError):
            raise Invalid("分页游标无效", "invalid pagination cursor", field="cursor") from None
    return out


def _after(keys: list[tuple[Column, bool]], values: list[Any]) -> Any:
    """Rows after `values` in the order of `keys`, NULL counting as the smallest value (asc NULLS FIRST,
    desc NULLS LAST): the lexicographic keyset predicate."""
    ors = []
    for i, ((col, desc), v) in enumerate(zip(keys, values, strict=True)):
        equal = [
            (c.is_(None) if pv is None else c == pv) for (c, _), pv in zip(keys[:i], values[:i], strict=True)
        ]
        if desc:
            beyond = false() if v is None else or_(col < v, col.is_(None))
        else:
            beyond = col.is_not(None) if v is None else col > v
        ors.append(and_(*equal, beyond))
    return or_(*ors)

"""部件/事件 categories (CJ/T 214 style codes, time limits, closing standard) and routing rules (category ×
area → department), with the in-process table intake reads them from.

Categories are named `<kind>:<code>` (event:0101). Writes need cityops.manage over the city (the API checks
it over the root of the caller's grants: categories are one list for the whole city). The lookup table is
rebuilt when the "categories" generation (core.cache) changes, so intake costs one indexed read for both."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from zhicheng.cityops.models import Category, RouteRule
from zhicheng.cityops.schemas import CategoryImport, CategoryIn, RuleIn
from zhicheng.core import cache
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org

cache.watch("categories", Category.__tablename__, RouteRule.__tablename__)


@dataclass(frozen=True, slots=True)
class CategoryRef:
    id: int
    key: str
    kind: str
    code: str
    name: str
    dispatch_days: int
    handle_days: int
    active: bool


@dataclass(frozen=True)
class Table:
    by_key: dict[str, CategoryRef]
    by_id: dict[int, CategoryRef]
    # (category_id or None, area) → department; looked up from the most specific key down
    rules: dict[tuple[int | None, str], int]

    def category(self, key: str) -> CategoryRef:
        found = self.by_key.get((key or "").strip().lower())
        if found is None or not found.active:
            raise Invalid(f"未知的案件类别：{key}", f"unknown category: {key}", category=key)
        return found

    def route(self, category_id: int, grid_code: str) -> int | None:
        """The department of the most specific rule: a named category before any, then the longest area."""
        areas = (grid_code, grid_code[:12], grid_code[:9], grid_code[:6], "")
        for cid in (category_id, None):
            for area in areas:
                dept = self.rules.get((cid, area))
                if dept is not None:
                    return dept
        return None


def key_of(kind: str, code: str) -> str:
    return f"{kind}:{code}"


def parse_key(key: str) -> tuple[str, str]:
    kind, _, code = (key or "").strip().lower().partition(":")
    if kind not in ("part", "event") or len(code) != 4 or not code.isdigit():
        raise Invalid(
            f"类别应写作 part:0101 或 event:0101：{key}",
            f"a category is written part:0101 or event:0101: {key}",
        )
    return kind, code


_lock = threading.Lock()
_tables: dict[str, tuple[int, Table]] = {}


def build(conn: Connection) -> Table:
    refs = [
        CategoryRef(
            r.id, key_of(r.kind, r.code), r.kind, r.code, r.name, r.dispatch_days, r.handle_days, r.active
        )
        for r in conn.execute(
            select(
                Category.id,
                Category.kind,
                Category.code,
                Category.name,
                Category.dispatch_days,
                Category.handle_days,
                Category.active,
            )
        )
    ]
    rules = {
        (r.category_id, r.area): r.department_id
        for r in conn.execute(select(RouteRule.category_id, RouteRule.area, RouteRule.department_id))
    }
    return Table({c.key: c for c in refs}, {c.id: c for c in refs}, rules)


def table(conn: Connection, url: str, gens: dict[str, int] | None = None) -> Table:
    gen = (gens if gens is not None else cache.generations(conn)).get("categories", 0)
    found = _tables.get(url)
    if found is None or found[0] != gen:
        with _lock:
            found = _tables.get(url)
            if found is None or found[0] != gen:
                found = _tables[url] = (gen, build(conn))
    return found[1]


# --- writes ----------------------------------------------------------------------------------------------
def _values(data: CategoryIn) -> dict[str, Any]:
    return {
        "major_name": data.major_name.strip(),
        "name": data.name.strip(),
        "dispatch_days": data.dispatch_days,
        "handle_days": data.handle_days,
        "closing_standard": data.closing_standard.strip(),
        "active": data.active,
    }


def create(uow: UnitOfWork, data: CategoryIn) -> Category:
    s = uow.session
    if s.scalar(select(Category.id).where(Category.kind == data.kind, Category.code == data.code)):
        raise Conflict(
            f"类别 {key_of(data.kind, data.code)} 已存在", f"category {key_of(data.kind, data.code)} exists"
        )
    now = utcnow()
    row = Category(kind=data.kind, code=data.code, created_at=now, updated_at=now, **_values(data))
    s.add(row)
    s.flush()
    uow.record("cityops:category:create", f"category:{row.kind}:{row.code}", _values(data))
    return row


def get(uow_or_session: Any, category_id: int) -> Category:
    s = getattr(uow_or_session, "session", uow_or_session)
    row = s.get(Category, category_id)
    if row is None:
        raise NotFound(f"类别 {category_id} 不存在", f"category {category_id} not found")
    return row


def update(uow: UnitOfWork, category_id: int, data: CategoryIn) -> Category:
    row = get(uow, category_id)
    if (data.kind, data.code) != (row.kind, row.code):
        raise Invalid("类别的种类与编码不能修改", "a category's kind and code cannot change")
    before = {k: getattr(row, k) for k in _values(data)}
    after = _values(data)
    for k, v in after.items():
        setattr(row, k, v)
    row.updated_at = utcnow()
    changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    uow.record("cityops:category:update", f"category:{row.kind}:{row.code}", changed)
    return row


def _category_id(uow: UnitOfWork, key: str | None) -> int | None:
    if key is None:
        return None
    kind, code = parse_key(key)
    found = uow.session.scalar(select(Category.id).where(Category.kind == kind, Category.code == code))
    if found is None:
        raise Invalid(f"未知的案件类别：{key}", f"unknown category: {key}")
    return found


def set_rule(uow: UnitOfWork, data: RuleIn) -> RouteRule:
    """Add the rule for (category, area), or change its department when it exists."""
    s = uow.session
    category_id = _category_id(uow, data.category)
    if s.scalar(select(Org.id).where(Org.id == data.department_id, Org.active.is_(True))) is None:
        raise Invalid(
            f"处置部门 {data.department_id} 不存在或已停用",
            f"department {data.department_id} is missing or inactive",
        )
    cond = RouteRule.category_id.is_(None) if category_id is None else RouteRule.category_id == category_id
    row = s.scalar(select(RouteRule).where(cond, RouteRule.area == data.area))
    before = row.department_id if row else None
    if row is None:
        row = RouteRule(category_id=category_id, area=data.area, created_at=utcnow())
        s.add(row)
    row.department_id = data.department_id
    s.flush()
    uow.record(
        "cityops:rule:set",
        f"rule:{row.id}",
        {"category": data.category, "area": data.area, "department_id": [before, data.department_id]},
    )
    return row


def delete_rule(uow: UnitOfWork, rule_id: int) -> None:
    row = uow.session.get(RouteRule, rule_id)
    if row is None:
        raise NotFound(f"派遣规则 {rule_id} 不存在", f"routing rule {rule_id} not found")
    uow.session.delete(row)
    uow.record(
        "cityops:rule:delete", f"rule:{rule_id}", {"area": row.area, "department_id": row.department_id}
    )


def import_all(uow: UnitOfWork, doc: CategoryImport) -> dict[str, int]:
    """Create or update every category (by kind and code), then set every rule: all or nothing."""
    s = uow.session
    created = updated = 0
    for data in doc.categories:
        found = s.scalar(select(Category.id).where(Category.kind == data.kind, Category.code == data.code))
        if found is None:
            create(uow, data)
            created += 1
        else:
            update(uow, found, data)
            updated += 1
    s.flush()
    for rule in doc.rules:
        set_rule(uow, rule)
    return {"categories_created": created, "categories_updated": updated, "rules": len(doc.rules)}


def shown(row: Category) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": key_of(row.kind, row.code),
        "kind": row.kind,
        "code": row.code,
        "major_code": row.code[:2],
        "major_name": row.major_name,
        "name": row.name,
        "dispatch_days": row.dispatch_days,
        "handle_days": row.handle_days,
        "closing_standard": row.closing_standard,
        "active": row.active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def rule_shown(row: RouteRule, keys: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "category_id": row.category_id,
        "category": keys.get(row.category_id) if row.category_id else None,
        "area": row.area,
        "department_id": row.department_id,
    }

"""Catalogue writes: classes, resources and their items, each change versioned and audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from zhicheng.catalog import search
from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem, ResourceVersion
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org

# fields whose change makes a new version (everything a consumer relies on)
TRACKED = (
    "name",
    "class_code",
    "provider_org_id",
    "summary",
    "format",
    "share_type",
    "share_condition",
    "share_basis",
    "share_mode",
    "open_type",
    "update_cycle",
    "grade",
    "published_on",
    "related_codes",
    "keywords",
    "status",
)


def class_parent(code: str) -> tuple[int, str | None]:
    """The level of a class code and its parent: 类 1 digit, 项 +2, 目 +3, 细目 any further digits."""
    if not code.isdigit() or len(code) in (2, 4, 5) or not 1 <= len(code) <= 16:
        raise Invalid(
            f"分类代码 {code} 不符合 类(1位)项(2位)目(3位)细目 的结构",
            f"class code {code} does not follow 类(1)项(2)目(3)细目(n) digits",
        )
    if len(code) == 1:
        return 1, None
    if len(code) == 3:
        return 2, code[:1]
    if len(code) == 6:
        return 3, code[:3]
    return 4, code[:6]


def create_class(uow: UnitOfWork, data: ClassIn) -> CatalogClass:
    level, parent = class_parent(data.code)
    s = uow.session
    if s.get(CatalogClass, data.code):
        raise Conflict(f"分类 {data.code} 已存在", f"class {data.code} exists already")
    if parent and s.get(CatalogClass, parent) is None:
        raise NotFound(f"上级分类 {parent} 不存在", f"parent class {parent} not found")
    found = CatalogClass(code=data.code, name=data.name, level=level, parent_code=parent)
    s.add(found)
    uow.record("catalog:class:create", f"class:{data.code}", data.model_dump())
    return found


def create_resource(uow: UnitOfWork, data: ResourceIn, note: str = "") -> Resource:
    s = uow.session
    _check_refs(uow, data)
    now = utcnow()
    res = Resource(
        code=_next_code(uow, data.class_code),
        created_at=now,
        updated_at=now,
        status="published",
        version=1,
        **data.model_dump(exclude={"items"}),
    )
    s.add(res)
    s.flush()
    _write_items(uow, res, data)
    snap = snapshot(res, data)
    s.add(
        ResourceVersion(
            resource_id=res.id,
            version=1,
            snapshot=snap,
            changed_fields=list(TRACKED) + ["items"],
            note=note or "创建",
            actor=uow.actor.label,
            at=now,
        )
    )
    uow.record("catalog:resource:create", f"resource:{res.id}", {"code": res.code, "name": res.name})
    search.index_resource(s, res.id)  # same transaction: the index never disagrees after a commit
    return res


def update_resource(uow: UnitOfWork, resource_id: int, data: ResourceIn, note: str = "") -> Resource:
    """Apply new metadata; a new version is kept only when something changed."""
    res = _resource(uow, resource_id)
    if res.status == "retired":
        raise Conflict("已撤销的资源不能修改", "a retired resource cannot be changed")
    _check_refs(uow, data)
    before = snapshot(res, _items(uow, res))
    after_fields = data.model_dump(exclude={"items"})
    changed = [f for f in TRACKED if f in after_fields and before.get(f) != _plain(after_fields[f])]
    items_changed = before["items"] != [_item_plain(i, n) for n, i in enumerate(data.items, 1)]
    if not changed and not items_changed:
        return res
    if "class_code" in changed:
        raise Invalid(
            "分类变更会改变资源代码，请撤销后重新编目",
            "changing the class changes the code; retire and re-catalogue",
        )
    for field in changed:
        setattr(res, field, after_fields[field])
    if items_changed:
        uow.session.execute(delete(ResourceItem).where(ResourceItem.resource_id == res.id))
        _write_items(uow, res, data)
        changed.append("items")
    _new_version(uow, res, data, changed, note)
    search.index_resource(uow.session, res.id)
    return res


def retire_resource(uow: UnitOfWork, resource_id: int, reason: str) -> Resource:
    res = _resource(uow, resource_id)
    if not reason.strip():
        raise Invalid("撤销资源须说明理由", "retiring a resource needs a reason")
    if res.status == "retired":
        raise Conflict("资源已撤销", "the resource is retired already")
    res.status = "retired"
    _new_version(uow, res, _items(uow, res), ["status"], reason)
    search.index_resource(uow.session, res.id)
    return res


def snapshot(res: Resource, items: Any) -> dict[str, Any]:
    """The resource's catalogued state as plain JSON (items from a ResourceIn or from the table)."""
    plain = {f: _plain(getattr(res, f)) for f in TRACKED}
    listed = items.items if isinstance(items, ResourceIn) else items
    plain["items"] = [_item_plain(i, n) for n, i in enumerate(listed, 1)]
    plain["code"] = res.code
    return plain


def _new_version(uow: UnitOfWork, res: Resource, items: Any, changed: list[str], note: str) -> Resource:
    res.version += 1
    res.updated_at = utcnow()
    uow.session.flush()
    uow.session.add(
        ResourceVersion(
            resource_id=res.id,
            version=res.version,
            snapshot=snapshot(res, items),
            changed_fields=changed,
            note=note[:200],
            actor=uow.actor.label,
            at=res.updated_at,
        )
    )
    uow.record(
        "catalog:resource:update",
        f"resource:{res.id}",
        {"version": res.version, "changed": changed, "note": note},
    )
    return res


def _check_refs(uow: UnitOfWork, data: ResourceIn) -> None:
    s = uow.session
    if s.get(CatalogClass, data.class_code) is None:
        raise NotFound(f"分类 {data.class_code} 不存在", f"class {data.class_code} not found")
    if s.get(Org, data.provider_org_id) is None:
        raise NotFound(
            f"提供方机构 {data.provider_org_id} 不存在", f"provider {data.provider_org_id} not found"
        )
    if data.related_codes:
        known = set(s.scalars(select(Resource.code).where(Resource.code.in_(data.related_codes))))
        missing = sorted(set(data.related_codes) - known)
        if missing:
            raise Invalid(f"关联资源代码不存在：{missing}", f"related resource codes not found: {missing}")


def _next_code(uow: UnitOfWork, class_code: str) -> str:
    last = uow.session.scalar(
        select(func.max(Resource.code)).where(Resource.code.startswith(f"{class_code}/"))
    )
    seq = int(last.split("/")[1]) + 1 if last else 1
    return f"{class_code}/{seq:06d}"


def _write_items(uow: UnitOfWork, res: Resource, data: ResourceIn) -> None:
    for n, item in enumerate(data.items, 1):
        uow.session.add(ResourceItem(resource_id=res.id, position=n, **item.model_dump()))


def _items(uow: UnitOfWork, res: Resource) -> list[ResourceItem]:
    return list(
        uow.session.scalars(
            select(ResourceItem).where(ResourceItem.resource_id == res.id).order_by(ResourceItem.position)
        )
    )


def _item_plain(item: Any, position: int) -> dict[str, Any]:
    fields = ("name", "data_type", "description", "sensitivity", "share_type")
    return {"position": position, **{f: getattr(item, f) for f in fields}}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _resource(uow: UnitOfWork, resource_id: int) -> Resource:
    res = uow.session.get(Resource, resource_id)
    if res is None:
        raise NotFound(f"数据资源 {resource_id} 不存在", f"resource {resource_id} not found")
    return res

"""Service item writes: create, update (a new version when something changed), retire. Each version is kept
whole; each write audited. An item's flow must exist and fit the item's promised limit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from zhicheng.approvals import flowdef, flows
from zhicheng.approvals.models import ItemVersion, ServiceItem
from zhicheng.approvals.schemas import REASON_MIN, ItemBody, ItemIn
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org

# the fields a version snapshot keeps, in order (everything an applicant or a case relies on)
FIELDS = (
    "code",
    "name",
    "kind",
    "org_id",
    "deciding_org_id",
    "legal_basis",
    "conditions",
    "statutory_days",
    "promised_days",
    "fee",
    "result_name",
    "certificate_type",
    "materials",
    "form",
    "flow_code",
    "status",
)


def snapshot(item: ServiceItem) -> dict[str, Any]:
    return {f: getattr(item, f) for f in FIELDS}


def create_item(uow: UnitOfWork, data: ItemIn) -> ServiceItem:
    s = uow.session
    if s.scalar(select(ServiceItem.id).where(ServiceItem.code == data.code)) is not None:
        raise Conflict(f"事项编码 {data.code} 已存在", f"item code {data.code} exists already")
    _check(uow, data, data.code)
    now = utcnow()
    item = ServiceItem(code=data.code, status="active", version=1, created_at=now, updated_at=now)
    _apply(item, _values(data))
    s.add(item)
    s.flush()
    _version(uow, item, list(FIELDS), data.note or "新建")
    uow.record("approvals:item:create", f"item:{item.code}", {"version": 1, "flow": item.flow_code})
    return item


def update_item(uow: UnitOfWork, code: str, data: ItemBody) -> tuple[ServiceItem, list[str]]:
    """New values for an item; returns it and the fields that changed (none: no new version)."""
    item = _item(uow, code, lock=True)
    if item.status != "active":
        raise Conflict(f"事项 {code} 已停用，不能修改", f"item {code} is retired and cannot change")
    _check(uow, data, code)
    values = _values(data)
    changed = [f for f in FIELDS if f in values and values[f] != getattr(item, f)]
    if not changed:
        return item, []
    _apply(item, {f: values[f] for f in changed})
    item.version += 1
    item.updated_at = utcnow()
    _version(uow, item, changed, data.note)
    uow.record("approvals:item:update", f"item:{code}", {"version": item.version, "changed": changed})
    return item, changed


def retire_item(uow: UnitOfWork, code: str, reason: str) -> ServiceItem:
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"请说明停用理由（至少 {REASON_MIN} 个字）", f"state why (at least {REASON_MIN} characters)"
        )
    item = _item(uow, code, lock=True)
    if item.status != "active":
        raise Conflict(f"事项 {code} 已停用", f"item {code} is retired already")
    item.status, item.version, item.updated_at = "retired", item.version + 1, utcnow()
    _version(uow, item, ["status"], reason.strip()[:200])
    uow.record("approvals:item:retire", f"item:{code}", {"version": item.version, "reason": reason.strip()})
    return item


def _values(data: ItemBody) -> dict[str, Any]:
    return {
        "name": data.name.strip(),
        "kind": data.kind,
        "org_id": data.org_id,
        "deciding_org_id": data.deciding_org_id if data.deciding_org_id != data.org_id else None,
        "legal_basis": data.legal_basis.strip(),
        "conditions": data.conditions.strip(),
        "statutory_days": data.statutory_days,
        "promised_days": data.promised_days,
        "fee": data.fee.strip() or "不收费",
        "result_name": data.result_name.strip(),
        "certificate_type": (data.certificate_type or "").strip() or None,
        "materials": [m.model_dump() for m in data.materials],
        "form": [f.model_dump() for f in data.form],
        "flow_code": data.flow_code,
    }


def _apply(item: ServiceItem, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(item, key, value)


def _check(uow: UnitOfWork, data: ItemBody, code: str) -> None:
    s = uow.session
    for org_id in {data.org_id, data.deciding_org_id} - {None}:
        org = s.get(Org, org_id)
        if org is None or not org.active:
            raise NotFound(f"机构 {org_id} 不存在或已停用", f"organization {org_id} not found or inactive")
    flow = flows.latest(s, data.flow_code)
    flowdef.check_budget(flows.parsed(flow), data.promised_days, code)


def _version(uow: UnitOfWork, item: ServiceItem, changed: list[str], note: str) -> None:
    uow.session.add(
        ItemVersion(
            item_id=item.id,
            version=item.version,
            snapshot=snapshot(item),
            changed_fields=changed,
            note=(note or "")[:200],
            actor=uow.actor.label,
            at=utcnow(),
        )
    )


def _item(uow: UnitOfWork, code: str, lock: bool = False) -> ServiceItem:
    q = select(ServiceItem).where(ServiceItem.code == code)
    found = uow.session.scalar(q.with_for_update() if lock else q)
    if found is None:
        raise NotFound(f"事项 {code} 不存在", f"service item {code} not found")
    return found

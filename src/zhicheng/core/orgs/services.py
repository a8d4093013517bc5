"""Writes to divisions, organizations and parties. Each writes its audit record in the same transaction."""

from __future__ import annotations

from sqlalchemy import select

from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs import codes
from zhicheng.core.orgs.models import Division, Org, Party
from zhicheng.core.orgs.realname import RealNameVerifier
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn, PartyIn


def create_division(uow: UnitOfWork, data: DivisionIn) -> Division:
    level = codes.division_level(data.code)
    codes.check_parent(data.code, data.parent_code)
    s = uow.session
    if s.get(Division, data.code):
        raise Conflict(f"行政区划 {data.code} 已存在", f"division {data.code} exists already")
    if data.parent_code and not s.get(Division, data.parent_code):
        raise NotFound(f"上级区划 {data.parent_code} 不存在", f"parent division {data.parent_code} not found")
    div = Division(code=data.code, name=data.name, level=level, parent_code=data.parent_code)
    s.add(div)
    uow.record("orgs:division:create", f"division:{data.code}", data.model_dump())
    return div


def create_org(uow: UnitOfWork, data: OrgIn) -> Org:
    s = uow.session
    if not s.get(Division, data.division_code):
        raise NotFound(f"区划 {data.division_code} 不存在", f"division {data.division_code} not found")
    credit = codes.credit_code(data.credit_code) if data.credit_code else None
    if credit and s.scalar(select(Org.id).where(Org.credit_code == credit)):
        raise Conflict(f"信用代码 {credit} 已被使用", f"credit code {credit} is in use")
    parent = _org(uow, data.parent_id) if data.parent_id else None
    if data.line_parent_id:
        _org(uow, data.line_parent_id)
    if data.kind != "government" and parent is None:
        raise Invalid("部门须隶属于一级政府或上级机构", "a department must have a parent organization")
    org = Org(
        name=data.name,
        short_name=data.short_name,
        kind=data.kind,
        credit_code=credit,
        division_code=data.division_code,
        parent_id=data.parent_id,
        line_parent_id=data.line_parent_id,
        path="/",
    )
    s.add(org)
    s.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    uow.record(
        "orgs:org:create", f"org:{org.id}", {**data.model_dump(), "credit_code": credit, "path": org.path}
    )
    return org


def set_org_active(uow: UnitOfWork, org_id: int, active: bool) -> Org:
    org = _org(uow, org_id)
    org.active = active
    uow.record("orgs:org:" + ("activate" if active else "deactivate"), f"org:{org.id}", {"active": active})
    return org


def move_org(uow: UnitOfWork, org_id: int, new_parent_id: int) -> Org:
    """Re-home an organization (and its subtree) under another parent."""
    org, parent = _org(uow, org_id), _org(uow, new_parent_id)
    if parent.path.startswith(org.path):
        raise Invalid("不能移到自身下级", "an organization cannot move under itself")
    old, new = org.path, f"{parent.path}{org.id}/"
    for sub in uow.session.scalars(select(Org).where(Org.path.startswith(old))):
        sub.path = new + sub.path[len(old) :]
    org.parent_id = parent.id
    uow.record("orgs:org:move", f"org:{org.id}", {"from": old, "to": new})
    return org


def register_party(uow: UnitOfWork, data: PartyIn, verifier: RealNameVerifier) -> Party:
    number = (
        codes.resident_id(data.id_number) if data.kind == "citizen" else codes.credit_code(data.id_number)
    )
    s = uow.session
    party = s.scalar(select(Party).where(Party.kind == data.kind, Party.id_number == number))
    if party is None:
        party = Party(kind=data.kind, id_number=number, name=data.name, phone=data.phone)
        s.add(party)
        s.flush()
    elif party.name != data.name:
        raise Conflict("证件号码已登记为其他名称", "this number is registered under another name")
    check = verifier.verify(data.kind, number, data.name)
    if check.ok:
        party.verified_at, party.verified_by = utcnow(), check.provider
    # the number itself is personal data: the audit trail keeps its last four digits only
    uow.record(
        "orgs:party:register",
        f"party:{party.id}",
        {"kind": data.kind, "id_tail": number[-4:], "verified": check.ok, "provider": check.provider},
    )
    if not check.ok:
        raise Invalid(f"实名核验未通过：{check.reason}", f"real-name verification failed: {check.reason}")
    return party


def _org(uow: UnitOfWork, org_id: int) -> Org:
    org = uow.session.get(Org, org_id)
    if org is None:
        raise NotFound(f"机构 {org_id} 不存在", f"organization {org_id} not found")
    return org


__all__ = ["create_division", "create_org", "set_org_active", "move_org", "register_party"]

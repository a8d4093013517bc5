"""Flow versions: publish (a new immutable version, checked), and find the version in force. A case keeps the
version it started with; a new version applies to cases submitted after it."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhicheng.approvals import flowdef
from zhicheng.approvals.models import FlowVersion, ServiceItem
from zhicheng.approvals.schemas import FlowIn
from zhicheng.core.auth.permissions import ROLES
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.orgs.models import Org


def known_roles() -> dict[str, set[str]]:
    return {code: set(perms) for code, (_zh, _en, perms) in ROLES.items()}


def check(s: Session, definition: Any) -> flowdef.Flow:
    """Parse a definition and check the organizations it names exist and are active."""
    flow = flowdef.parse(definition, known_roles())
    ids = flow.org_ids()
    if ids:
        active = set(s.scalars(select(Org.id).where(Org.id.in_(ids), Org.active.is_(True))))
        missing = sorted(ids - active)
        if missing:
            raise flowdef.FlowInvalid(
                [
                    {
                        "stage": s_.id,
                        "zh": f"环节 {s_.id} 的机构 {o} 不存在或已停用",
                        "en": f"stage {s_.id}: organization {o} not found or inactive",
                    }
                    for s_ in flow.stages
                    for o in (*s_.departments, *([s_.org_id] if s_.org_id else []))
                    if o in missing
                ]
            )
    return flow


def publish(uow: UnitOfWork, data: FlowIn) -> tuple[FlowVersion, bool]:
    """A new version of flow `code` (version 1 if new); returns it and whether it is new. Publishing the very
    definition in force again changes nothing. Items already on this flow must still fit their promised
    limit."""
    s = uow.session
    if s.get(Org, data.owner_org_id) is None:
        raise NotFound(f"机构 {data.owner_org_id} 不存在", f"organization {data.owner_org_id} not found")
    flow = check(s, data.definition)
    current = _latest(s, data.code)
    if current is not None and current.definition == data.definition and current.name == data.name:
        return current, False
    for code, name, promised in s.execute(
        select(ServiceItem.code, ServiceItem.name, ServiceItem.promised_days).where(
            ServiceItem.flow_code == data.code, ServiceItem.status == "active"
        )
    ):
        flowdef.check_budget(flow, promised, f"{code} {name}")
    version = (s.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.code == data.code)) or 0) + 1
    row = FlowVersion(
        code=data.code,
        version=version,
        name=data.name.strip(),
        owner_org_id=data.owner_org_id,
        definition=data.definition,
        note=data.note,
        created_by=uow.actor.label,
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    uow.record(
        "approvals:flow:publish",
        f"flow:{data.code}",
        {"version": version, "stages": [st.id for st in flow.path()], "decision_days": flow.decision_days()},
    )
    return row, True


def _latest(s: Session, code: str) -> FlowVersion | None:
    return s.scalar(
        select(FlowVersion).where(FlowVersion.code == code).order_by(FlowVersion.version.desc()).limit(1)
    )


def latest(s: Session, code: str) -> FlowVersion:
    found = _latest(s, code)
    if found is None:
        raise missing(code)
    return found


def missing(code: str) -> Invalid:
    return Invalid(f"办理流程 {code} 不存在", f"flow {code} does not exist")


def version(s: Session, code: str, number: int) -> FlowVersion:
    found = s.scalar(select(FlowVersion).where(FlowVersion.code == code, FlowVersion.version == number))
    if found is None:
        raise NotFound(f"办理流程 {code} 没有第 {number} 版", f"flow {code} has no version {number}")
    return found


def parsed(row: FlowVersion) -> flowdef.Flow:
    """The parsed flow of a stored version. Versions are immutable, so parses are cached by their text (ids
    alone would not do: several databases, as in tests, reuse them)."""
    return _parsed(json.dumps(row.definition, sort_keys=True, ensure_ascii=False))


@lru_cache(maxsize=1024)
def _parsed(text: str) -> flowdef.Flow:
    return flowdef.parse(json.loads(text))


def flow_of(s: Session, case: Any) -> FlowVersion:
    """The flow version a case started with."""
    found = s.get(FlowVersion, case.flow_id)
    if found is None:
        raise NotFound(f"办理流程版本 {case.flow_id} 不存在", f"flow version {case.flow_id} not found")
    return found

"""Per-object checks shared by the API and the console: the consumer, the provider or the data authority
of a correction, a task or an issue."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhicheng.core.auth.principal import Principal
from zhicheng.core.errors import Forbidden
from zhicheng.quality import queries
from zhicheng.quality.permissions import AUTHORITY, CONSUMER, PROVIDER


def paths(me: Principal, *permissions: str) -> list[str]:
    """The subtree roots where any of `permissions` holds, without roots inside others."""
    roots = sorted({p for perm in permissions for p in me.paths(perm)}, key=len)
    return [p for i, p in enumerate(roots) if not any(p.startswith(q) for q in roots[:i])]


def any_of(me: Principal, permissions: tuple[str, ...], org_path: str) -> bool:
    return bool(org_path) and any(me.can(p, org_path) for p in permissions)


def is_consumer(me: Principal, s: Session, obj: Any) -> bool:
    return any_of(me, CONSUMER, queries.org_path(s, obj.consumer_org_id))


def is_provider(me: Principal, s: Session, obj: Any) -> bool:
    return any_of(me, PROVIDER, queries.org_path(s, obj.provider_org_id))


def is_authority(me: Principal, s: Session, obj: Any) -> bool:
    """sharing.review over the provider and, for a correction, over the consumer too."""
    orgs = [obj.provider_org_id] + ([obj.consumer_org_id] if hasattr(obj, "consumer_org_id") else [])
    return all(any_of(me, (AUTHORITY,), queries.org_path(s, o)) for o in orgs)


def is_party(me: Principal, s: Session, obj: Any) -> bool:
    consumer = hasattr(obj, "consumer_org_id") and is_consumer(me, s, obj)
    return consumer or is_provider(me, s, obj) or is_authority(me, s, obj)


def require_consumer(me: Principal, s: Session, org_id: int) -> None:
    if not any_of(me, CONSUMER, queries.org_path(s, org_id)):
        raise Forbidden("无权代表该部门报告数据纠错", "no permission to report for this department")


def require_provider(me: Principal, s: Session, obj: Any) -> None:
    if not is_provider(me, s, obj):
        raise Forbidden("只有提供方可以答复数据纠错", "only the provider department may answer")


def require_authority_over(me: Principal, s: Session, provider_org_id: int) -> None:
    if not any_of(me, (AUTHORITY,), queries.org_path(s, provider_org_id)):
        raise Forbidden("只有数据主管部门可以办理目录维护任务", "only the data authority may do this")


def require_party(me: Principal, s: Session, obj: Any) -> None:
    if not is_party(me, s, obj):
        raise Forbidden()

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhicheng.core.auth.models import ApiToken, Role, RoleGrant, User
from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.models import Org


def users(
    s: Session, within: list[str], q: str | None = None, limit: int = 200, after: int | None = None
) -> list[User]:
    """Users whose org lies under one of the subtree roots `within`."""
    if not within:
        return []
    stmt = select(User).outerjoin(Org, Org.id == User.org_id).order_by(User.id)
    stmt = stmt.where(or_(*[Org.path.startswith(p) for p in within]))
    if q:
        stmt = stmt.where(or_(User.username.contains(q), User.display_name.contains(q)))
    if after:
        stmt = stmt.where(User.id > after)
    return list(s.scalars(stmt.limit(limit)))


def user(s: Session, user_id: int) -> User:
    found = s.get(User, user_id)
    if found is None:
        raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} not found")
    return found


def user_org_path(s: Session, user_id: int) -> str | None:
    return s.scalar(select(Org.path).join(User, User.org_id == Org.id).where(User.id == user_id))


def grants(s: Session, user_id: int) -> list[RoleGrant]:
    return list(s.scalars(select(RoleGrant).where(RoleGrant.user_id == user_id).order_by(RoleGrant.id)))


def roles(s: Session) -> list[Role]:
    return list(s.scalars(select(Role).order_by(Role.code)))


def tokens(s: Session, within: list[str]) -> list[ApiToken]:
    if not within:
        return []
    stmt = (
        select(ApiToken)
        .join(Org, Org.id == ApiToken.org_id)
        .where(or_(*[Org.path.startswith(p) for p in within]))
    )
    return list(s.scalars(stmt.order_by(ApiToken.id.desc())))


def token_org_path(s: Session, token_id: int) -> str:
    path = s.scalar(select(Org.path).join(ApiToken, ApiToken.org_id == Org.id).where(ApiToken.id == token_id))
    if path is None:
        raise NotFound(f"令牌 {token_id} 不存在", f"token {token_id} not found")
    return path

"""Accounts, grants, tokens and sessions. Secrets are only ever stored as digests."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from zhicheng.core import cache
from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.audit.services import append
from zhicheng.core.auth.models import ApiToken, LoginAttempt, Role, RoleGrant, User, WebSession
from zhicheng.core.auth.permissions import ROLES, Scope
from zhicheng.core.auth.principal import Principal
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.db import Actor, Database, UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound, Throttled, Unauthenticated
from zhicheng.core.orgs.models import Org

# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): each check holds that much memory
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# at most this many password checks at once, so that a burst of logins cannot exhaust the server's memory
_HASHING = threading.BoundedSemaphore(4)
# verified against when the user name is unknown, so both paths take the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password")
IP_FAILURES_PER_WINDOW = 50


def hash_password(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


def ensure_builtin_roles(uow: UnitOfWork) -> int:
    """Bring the built-in roles in the database in line with the code; returns how many changed."""
    changed = 0
    for code, (zh, en, perms) in ROLES.items():
        role = uow.session.get(Role, code)
        if role is None:
            uow.session.add(Role(code=code, name_zh=zh, name_en=en, permissions=list(perms), builtin=True))
        elif (role.name_zh, role.name_en, role.permissions) != (zh, en, list(perms)):
            role.name_zh, role.name_en, role.permissions = zh, en, list(perms)
        else:
            continue
        changed += 1
        uow.record("auth:role:sync", f"role:{code}", {"permissions": list(perms)})
    return changed


def create_user(uow: UnitOfWork, data: UserIn) -> User:
    s = uow.session
    if s.scalar(select(User.id).where(User.username == data.username)):
        raise Conflict(f"用户名 {data.username} 已存在", f"user name {data.username} is taken")
    if data.org_id is not None and s.get(Org, data.org_id) is None:
        raise NotFound(f"机构 {data.org_id} 不存在", f"organization {data.org_id} not found")
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        org_id=data.org_id,
        party_id=data.party_id,
        locale=data.locale,
        created_at=utcnow(),
    )
    s.add(user)
    s.flush()
    uow.record("auth:user:create", f"user:{user.id}", data.model_dump(exclude={"password"}))
    return user


def set_password(uow: UnitOfWork, user_id: int, password: str) -> None:
    if len(password) < 8:
        raise Invalid("密码至少 8 位", "a password needs at least 8 characters")
    user = _user(uow.session, user_id)
    user.password_hash = hash_password(password)
    uow.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    uow.record("auth:user:password", f"user:{user.id}", {})


def set_active(uow: UnitOfWork, user_id: int, active: bool) -> User:
    user = _user(uow.session, user_id)
    user.active = active
    if not active:
        uow.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    uow.record("auth:user:" + ("activate" if active else "deactivate"), f"user:{user.id}", {})
    return user


def grant_role(uow: UnitOfWork, user_id: int, data: GrantIn) -> RoleGrant:
    s = uow.session
    _user(s, user_id)
    if s.get(Role, data.role) is None:
        raise NotFound(f"角色 {data.role} 不存在", f"role {data.role} not found")
    if s.get(Org, data.org_id) is None:
        raise NotFound(f"机构 {data.org_id} 不存在", f"organization {data.org_id} not found")
    exists = s.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.role_code == data.role, RoleGrant.org_id == data.org_id
        )
    )
    if exists:
        return exists
    grant = RoleGrant(user_id=user_id, role_code=data.role, org_id=data.org_id)
    s.add(grant)
    s.flush()
    uow.record("auth:grant:create", f"user:{user_id}", {"role": data.role, "org_id": data.org_id})
    return grant


def revoke_grant(uow: UnitOfWork, grant_id: int) -> None:
    grant = uow.session.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在", f"grant {grant_id} not found")
    uow.session.delete(grant)
    uow.record(
        "auth:grant:revoke", f"user:{grant.user_id}", {"role": grant.role_code, "org_id": grant.org_id}
    )


def create_token(uow: UnitOfWork, data: TokenIn) -> tuple[ApiToken, str]:
    s = uow.session
    if s.get(Org, data.org_id) is None:
        raise NotFound(f"机构 {data.org_id} 不存在", f"organization {data.org_id} not found")
    missing = [r for r in data.roles if s.get(Role, r) is None]
    if missing:
        raise NotFound(f"角色不存在：{missing}", f"unknown roles: {missing}")
    key, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        key=key,
        secret_hash=keyed_digest(uow.secret, secret),
        name=data.name,
        org_id=data.org_id,
        roles=data.roles,
        created_by=uow.actor.label,
        created_at=now,
        expires_at=now + dt.timedelta(days=data.days),
    )
    s.add(token)
    s.flush()
    uow.record("auth:token:create", f"token:{token.id}", data.model_dump())
    return token, f"zc_{key}_{secret}"


def revoke_token(uow: UnitOfWork, token_id: int) -> ApiToken:
    token = uow.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"令牌 {token_id} 不存在", f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        uow.record("auth:token:revoke", f"token:{token.id}", {})
    return token


# --- authentication ---------------------------------------------------------------------------------


def login(
    db: Database, username: str, password: str, ip: str, max_failures: int, window_minutes: int, hours: int
) -> tuple[str, User]:
    """Check a password and open a session; returns the cookie value. Throttles repeated failures.

    The password is checked between two transactions, never inside one: argon2 takes tens of milliseconds,
    and on SQLite a transaction that had read could not write once another writer (the worker) committed
    meanwhile. The write begins holding the write lock (writer_sessions) and counts the failures again, so a
    burst of concurrent guesses is throttled all the same."""
    now = utcnow()
    since = now - dt.timedelta(minutes=window_minutes)
    with db.read() as s:
        _throttle(s, username, ip, since, max_failures, window_minutes)
        user = s.scalar(select(User).where(User.username == username))
    ok = (
        check_password(user.password_hash if user else _DUMMY_HASH, password)
        and user is not None
        and user.active
    )
    cookie = secrets.token_urlsafe(32)
    with db.writer_sessions() as s, s.begin():
        _throttle(s, username, ip, since, max_failures, window_minutes)
        s.add(LoginAttempt(username=username[:64], ip=ip[:64], at=now, ok=ok))
        if ok and user is not None:
            s.add(
                WebSession(
                    id=keyed_digest(db.secret, cookie),
                    user_id=user.id,
                    csrf=secrets.token_urlsafe(24),
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=hours),
                    ip=ip[:64],
                )
            )
            s.execute(update(User).where(User.id == user.id).values(last_login_at=now))
            user.last_login_at = now
            actor = Actor(kind="user", name=user.username, user_id=user.id, org_id=user.org_id, ip=ip)
            append(s, actor, "auth:session:login", f"user:{user.id}", {"ip": ip})
    if not ok or user is None:  # the failed attempt is committed above, so throttling counts it
        raise Unauthenticated("用户名或密码错误", "wrong user name or password")
    return cookie, user


def _throttle(
    s: Session, username: str, ip: str, since: dt.datetime, max_failures: int, window_minutes: int
) -> None:
    fails = s.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
    )
    ip_fails = s.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
    )
    if (fails or 0) >= max_failures or (ip_fails or 0) >= IP_FAILURES_PER_WINDOW:
        raise Throttled(
            f"登录失败次数过多，请 {window_minutes} 分钟后再试",
            f"too many failed logins; try again in {window_minutes} minutes",
        )


def logout(db: Database, cookie: str) -> None:
    with db.sessions() as s, s.begin():
        s.execute(delete(WebSession).where(WebSession.id == keyed_digest(db.secret, cookie)))


def check_password(hashed: str, password: str) -> bool:
    """Whether `password` matches an argon2 hash (False, never an error, for a malformed hash)."""
    try:
        with _HASHING:
            return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _scopes(s: Session | Connection, grants: list[tuple[str, int]]) -> tuple[Scope, ...]:
    if not grants:
        return ()
    roles = dict(
        s.execute(select(Role.code, Role.permissions).where(Role.code.in_({g[0] for g in grants}))).all()
    )
    paths = dict(
        s.execute(
            select(Org.id, Org.path).where(Org.id.in_({g[1] for g in grants}), Org.active.is_(True))
        ).all()
    )
    return tuple(
        Scope(p, paths[org_id]) for code, org_id in grants if org_id in paths for p in roles.get(code, [])
    )


def principal_for_session(db: Database, cookie: str, ip: str | None) -> Principal | None:
    with db.read() as s:
        row = s.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id == keyed_digest(db.secret, cookie))
        ).first()
        if row is None:
            return None
        ws, user = row
        if ws.expires_at <= utcnow() or not user.active:
            return None
        grants = [
            (g.role_code, g.org_id) for g in s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))
        ]
        actor = Actor(kind="user", name=user.username, user_id=user.id, org_id=user.org_id, ip=ip)
        return Principal(
            actor=actor,
            scopes=_scopes(s, grants),
            display_name=user.display_name,
            csrf=ws.csrf,
            roles=tuple(sorted({g[0] for g in grants})),
        )


_TOKEN = select(
    ApiToken.id, ApiToken.secret_hash, ApiToken.name, ApiToken.org_id, ApiToken.roles, ApiToken.expires_at,
    ApiToken.revoked_at,
)
# Every API call authenticates its token. A token's caller (its org's path, its roles' permissions) is
# cached per process under the "auth" generation (core.cache): any write to tokens, roles, grants, users
# or orgs changes it, so a revoked token or a changed role is seen by the very next call.
cache.watch("auth", "api_token", "role", "role_grant", "app_user", "org")
_tokens: dict[tuple[str, str], tuple[int, str, dt.datetime, Principal]] = {}
MAX_CACHED_TOKENS = 10_000


def principal_for_token(db: Database, raw: str, ip: str | None) -> Principal | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "zc":
        return None
    digest = keyed_digest(db.secret, parts[2])
    with db.connect() as s:
        generation = cache.generations(s).get("auth", 0)
        hit = _tokens.get((db.url, parts[1]))
        if hit is not None and hit[0] == generation and hit[2] > utcnow():
            if not secrets.compare_digest(hit[1], digest):
                return None
            return replace(hit[3], actor=replace(hit[3].actor, ip=ip))
        token = s.execute(_TOKEN.where(ApiToken.key == parts[1])).first()
        if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
            return None
        if not secrets.compare_digest(token.secret_hash, digest):
            return None
        actor = Actor(kind="system", name=token.name, org_id=token.org_id, token_id=token.id, ip=ip)
        found = Principal(
            actor=actor,
            scopes=_scopes(s, [(r, token.org_id) for r in token.roles]),
            display_name=token.name,
            roles=tuple(token.roles),
        )
    if len(_tokens) >= MAX_CACHED_TOKENS:
        _tokens.clear()
    _tokens[(db.url, parts[1])] = (generation, token.secret_hash, token.expires_at, found)
    return found


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} not found")
    return user

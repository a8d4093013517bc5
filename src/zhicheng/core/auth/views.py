"""Console pages for users, their role grants and the API tokens of systems.

The checks mirror core/auth/api.py: a manager acts only inside the org subtrees they manage and can only
hand out (or take back) a role whose every permission they hold over that org themselves. Resetting the
password of a user, or switching one off, additionally needs every power that user holds: otherwise a
manager could take over a more powerful account and act as it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth import queries, services
from zhicheng.core.auth.principal import Principal
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.db import unit_of_work, utcnow
from zhicheng.core.errors import Conflict, DomainError, Invalid, NotFound
from zhicheng.core.orgs import queries as org_queries
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import LABELS, PAGE_SIZE, blank, done, failure, page, say, to_int
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("组织与权限", "用户", "/users", P.USERS_READ, order=12)
nav.add("组织与权限", "系统令牌", "/tokens", P.TOKENS_MANAGE, order=13)


def _chosen(value: str, field: str) -> int:
    found = to_int(value, field)
    if found is None:
        zh, en = LABELS[field][:2]
        raise Invalid(f"请选择{zh}", f"choose the {en}")
    return found


def _org_names(s: Any, ids: set[int | None]) -> dict[int, str]:
    return {i: org_queries.org(s, i).name for i in ids if i}


def _role_names(request: Request, s: Any) -> dict[str, str]:
    en = request_lang(request) == "en"
    return {r.code: r.name_en if en else r.name_zh for r in queries.roles(s)}


def _over_user(me: Principal, s: Any, user_id: int, permission: str) -> str | None:
    """Check `permission` over the user's org; a user without an org is the administrator's alone."""
    queries.user(s, user_id)  # 404 first
    path = queries.user_org_path(s, user_id)
    require(me, permission if path else P.ALL, path)
    return path


def _holds_role(me: Principal, s: Any, role_code: str, org_path: str) -> None:
    role = next((r for r in queries.roles(s) if r.code == role_code), None)
    if role is None:
        raise NotFound(f"角色 {role_code} 不存在", f"role {role_code} not found")
    for perm in role.permissions:
        require(me, perm, org_path)


def _outranks(me: Principal, s: Any, user_id: int) -> None:
    for g in queries.grants(s, user_id):
        _holds_role(me, s, g.role_code, org_queries.org(s, g.org_id).path)


# --- users --------------------------------------------------------------------------------------------


@router.get("/users")
@access(P.USERS_READ)
def user_list(
    request: Request, s: Reader, me: Me, q: str = "", org: str = "", active: str = "", after: str = ""
) -> Any:
    error, fetched, status = None, [], 200
    try:
        within = me.paths(P.USERS_READ)
        if blank(org):
            path = org_queries.org(s, _chosen(org, "org_id")).path
            require(me, P.USERS_READ, path)
            within = [path]
        fetched = queries.users(s, within, blank(q), PAGE_SIZE + 1, to_int(after, "after"))
    except DomainError as exc:
        error, status = failure(request, exc)
    more = len(fetched) > PAGE_SIZE
    fetched = fetched[:PAGE_SIZE]
    rows = [u for u in fetched if active not in ("1", "0") or u.active == (active == "1")]
    return page(
        request,
        "auth/users.html",
        {
            "rows": rows,
            "error": error,
            "filters": {"q": q, "org": org, "active": active},
            "orgs": org_queries.orgs(s, me.paths(P.USERS_READ), limit=1000),
            "names": _org_names(s, {u.org_id for u in rows}),
            "next_after": fetched[-1].id if more else None,
            "can_manage": me.can(P.USERS_MANAGE),
        },
        status,
    )


def _new_user_form(
    request: Request, s: Any, me: Principal, form: dict[str, Any], error: str | None = None, status: int = 200
) -> Any:
    return page(
        request,
        "auth/user_new.html",
        {
            "form": form,
            "error": error,
            "orgs": org_queries.orgs(s, me.paths(P.USERS_MANAGE), limit=1000),
        },
        status,
    )


@router.get("/users/new")
@access(P.USERS_MANAGE)
def user_new(request: Request, s: Reader, me: Me, org: str = "") -> Any:
    return _new_user_form(request, s, me, {"org_id": org, "locale": "zh"})


@router.post("/users/new")
@access(P.USERS_MANAGE)
def user_create(
    request: Request,
    db: DB,
    me: Me,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password2: Annotated[str, Form()] = "",
    org_id: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "zh",
) -> Any:
    form = {"username": username, "display_name": display_name, "org_id": org_id, "locale": locale}
    try:
        data = UserIn(
            username=username.strip(),
            display_name=display_name.strip(),
            password=password,
            org_id=_chosen(org_id, "org_id"),
            locale=locale,
        )
        if password != password2:
            raise Invalid("两次输入的密码不一致", "the two passwords differ")
        with unit_of_work(db, me.actor) as uow:
            require(me, P.USERS_MANAGE, org_queries.org(uow.session, data.org_id).path)
            user_id = services.create_user(uow, data).id
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _new_user_form(request, s, me, form, message, status)
    name = data.username
    return done(f"/users/{user_id}", say(request, f"已创建用户：{name}", f"User created: {name}"))


def _user_page(
    request: Request,
    s: Any,
    me: Principal,
    user_id: int,
    error: str | None = None,
    status: int = 200,
    grant_form: dict[str, Any] | None = None,
) -> Any:
    user = queries.user(s, user_id)
    path = _over_user(me, s, user_id, P.USERS_READ)
    grants = queries.grants(s, user_id)
    paths = {g.org_id: org_queries.org(s, g.org_id).path for g in grants}
    may_manage = me.can(P.USERS_MANAGE, path) if path else me.can(P.ALL)
    return page(
        request,
        "auth/user.html",
        {
            "user": user,
            "grants": grants,
            "error": error,
            "grant_form": grant_form or {},
            "names": _org_names(s, {user.org_id, *paths}),
            "role_names": _role_names(request, s),
            "revocable": {g.id for g in grants if me.can(P.USERS_MANAGE, paths[g.org_id])},
            "can_manage": may_manage,
            "is_me": me.actor.user_id == user.id,
            "orgs": org_queries.orgs(s, me.paths(P.USERS_MANAGE), limit=1000) if may_manage else [],
        },
        status,
    )


@router.get("/users/{user_id}")
@access(P.USERS_READ)
def user_detail(request: Request, user_id: int, s: Reader, me: Me) -> Any:
    return _user_page(request, s, me, user_id)


def _user_failed(
    request: Request,
    db: Any,
    me: Principal,
    user_id: int,
    exc: Exception,
    grant_form: dict[str, Any] | None = None,
) -> Any:
    message, status = failure(request, exc)
    with db.read() as s:
        return _user_page(request, s, me, user_id, message, status, grant_form)


@router.post("/users/{user_id}/grants")
@access(P.USERS_MANAGE)
def grant_create(
    request: Request,
    user_id: int,
    db: DB,
    me: Me,
    role: Annotated[str, Form()] = "",
    org_id: Annotated[str, Form()] = "",
) -> Any:
    try:
        if not role:
            raise Invalid("请选择角色", "choose a role")
        data = GrantIn(role=role, org_id=_chosen(org_id, "org_id"))
        with unit_of_work(db, me.actor) as uow:
            target = org_queries.org(uow.session, data.org_id)
            require(me, P.USERS_MANAGE, target.path)
            _over_user(me, uow.session, user_id, P.USERS_MANAGE)
            _holds_role(me, uow.session, data.role, target.path)
            services.grant_role(uow, user_id, data)
            label = f"{_role_names(request, uow.session)[data.role]} @ {target.name}"
    except (DomainError, ValidationError) as exc:
        return _user_failed(request, db, me, user_id, exc, {"role": role, "org_id": org_id})
    return done(f"/users/{user_id}", say(request, f"已授予角色：{label}", f"Role granted: {label}"))


@router.post("/users/{user_id}/grants/{grant_id}/revoke")
@access(P.USERS_MANAGE)
def grant_revoke(request: Request, user_id: int, grant_id: int, db: DB, me: Me) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            s = uow.session
            _over_user(me, s, user_id, P.USERS_MANAGE)
            grant = next((g for g in queries.grants(s, user_id) if g.id == grant_id), None)
            if grant is None:
                raise NotFound(f"授权 {grant_id} 不存在", f"grant {grant_id} not found")
            path = org_queries.org(s, grant.org_id).path
            require(me, P.USERS_MANAGE, path)
            _holds_role(me, s, grant.role_code, path)
            services.revoke_grant(uow, grant_id)
    except DomainError as exc:
        return _user_failed(request, db, me, user_id, exc)
    return done(f"/users/{user_id}", say(request, "已撤销授权", "Grant revoked"))


@router.post("/users/{user_id}/active")
@access(P.USERS_MANAGE)
def user_set_active(
    request: Request, user_id: int, db: DB, me: Me, active: Annotated[str, Form()] = ""
) -> Any:
    try:
        if active not in ("0", "1"):
            raise Invalid("请选择启用或停用", "choose activate or deactivate")
        if active == "0" and me.actor.user_id == user_id:
            raise Conflict("不能停用自己的账号", "you cannot deactivate your own account")
        with unit_of_work(db, me.actor) as uow:
            _over_user(me, uow.session, user_id, P.USERS_MANAGE)
            _outranks(me, uow.session, user_id)
            services.set_active(uow, user_id, active == "1")
    except DomainError as exc:
        return _user_failed(request, db, me, user_id, exc)
    if active == "1":
        return done(f"/users/{user_id}", say(request, "已启用账号", "Account activated"))
    return done(
        f"/users/{user_id}",
        say(request, "已停用账号，其会话已全部退出", "Account deactivated; its sessions were closed"),
    )


@router.post("/users/{user_id}/password")
@access(P.USERS_MANAGE)
def user_reset_password(
    request: Request,
    user_id: int,
    db: DB,
    me: Me,
    password: Annotated[str, Form()] = "",
    password2: Annotated[str, Form()] = "",
) -> Any:
    try:
        if password != password2:
            raise Invalid("两次输入的密码不一致", "the two passwords differ")
        with unit_of_work(db, me.actor) as uow:
            _over_user(me, uow.session, user_id, P.USERS_MANAGE)
            _outranks(me, uow.session, user_id)
            services.set_password(uow, user_id, password)
    except DomainError as exc:
        return _user_failed(request, db, me, user_id, exc)
    return done(
        f"/users/{user_id}",
        say(request, "已重置密码，该用户需重新登录", "Password reset; the user must sign in again"),
    )


# --- API tokens ---------------------------------------------------------------------------------------
TOKEN_STATES = {"active": "有效", "expired": "已过期", "revoked": "已吊销"}


def _state(token: Any, now: Any) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def _tokens_page(
    request: Request,
    s: Any,
    me: Principal,
    q: str = "",
    state: str = "",
    org: str = "",
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    now = utcnow()
    rows = [(t, _state(t, now)) for t in queries.tokens(s, me.paths(P.TOKENS_MANAGE))]
    rows = [
        (t, st)
        for t, st in rows
        if (not q or q in t.name or q in t.key)
        and (not state or st == state)
        and (not org or str(t.org_id) == org)
    ]
    return page(
        request,
        "auth/tokens.html",
        {
            "rows": rows,
            "states": TOKEN_STATES,
            "filters": {"q": q, "state": state, "org": org},
            "form": form or {"days": "365", "roles": []},
            "error": error,
            "orgs": org_queries.orgs(s, me.paths(P.TOKENS_MANAGE), limit=1000),
            "role_names": _role_names(request, s),
            "names": _org_names(s, {t.org_id for t, _ in rows}),
        },
        status,
    )


@router.get("/tokens")
@access(P.TOKENS_MANAGE)
def token_list(request: Request, s: Reader, me: Me, q: str = "", state: str = "", org: str = "") -> Any:
    return _tokens_page(request, s, me, q.strip(), state, org.strip())


@router.post("/tokens")
@access(P.TOKENS_MANAGE)
def token_create(
    request: Request,
    db: DB,
    me: Me,
    name: Annotated[str, Form()] = "",
    org_id: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    days: Annotated[str, Form()] = "365",
) -> Any:
    form = {"name": name, "org_id": org_id, "roles": roles or [], "days": days}
    try:
        data = TokenIn(
            name=name.strip(),
            org_id=_chosen(org_id, "org_id"),
            roles=roles or [],
            days=to_int(days, "days") or 365,
        )
        with unit_of_work(db, me.actor) as uow:
            path = org_queries.org(uow.session, data.org_id).path
            require(me, P.TOKENS_MANAGE, path)
            for code in data.roles:
                _holds_role(me, uow.session, code, path)
            token, secret = services.create_token(uow, data)
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _tokens_page(request, s, me, form=form, error=message, status=status)
    # the one place the secret exists in clear: answered directly (not redirected) and never cached
    with db.read() as s:
        resp = page(
            request,
            "auth/token_created.html",
            {
                "token": token,
                "secret": secret,
                "org_name": org_queries.org(s, token.org_id).name,
                "role_names": _role_names(request, s),
            },
            status=201,
        )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.post("/tokens/{token_id}/revoke")
@access(P.TOKENS_MANAGE)
def token_revoke(request: Request, token_id: int, db: DB, me: Me) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            require(me, P.TOKENS_MANAGE, queries.token_org_path(uow.session, token_id))
            token = services.revoke_token(uow, token_id)
            label = f"{token.name} ({token.key})"
    except DomainError as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _tokens_page(request, s, me, error=message, status=status)
    return done("/tokens", say(request, f"已吊销令牌：{label}", f"Token revoked: {label}"))

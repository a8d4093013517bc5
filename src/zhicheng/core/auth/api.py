from __future__ import annotations

from fastapi import APIRouter, Query, Response

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth import queries, services
from zhicheng.core.auth.schemas import (
    GrantIn,
    GrantOut,
    RoleOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from zhicheng.core.db import unit_of_work
from zhicheng.core.orgs import queries as org_queries
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/me")
@access(P.SELF)
def whoami(me: Me) -> dict:
    return {
        "actor": me.actor.label,
        "name": me.display_name,
        "org_id": me.actor.org_id,
        "roles": list(me.roles),
        "permissions": sorted({s.permission for s in me.scopes}),
    }


@router.get("/roles", response_model=list[RoleOut])
@access(P.USERS_READ)
def list_roles(s: Reader) -> list:
    return queries.roles(s)


@router.get("/users", response_model=list[UserOut])
@access(P.USERS_READ)
def list_users(
    s: Reader, me: Me, q: str | None = None, limit: int = Query(200, ge=1, le=1000), after: int | None = None
) -> list:
    return queries.users(s, me.paths(P.USERS_READ), q, limit, after)


@router.get("/users/{user_id}", response_model=UserOut)
@access(P.USERS_READ)
def get_user(user_id: int, s: Reader, me: Me) -> object:
    found = queries.user(s, user_id)
    path = queries.user_org_path(s, user_id)
    # a user outside every organization is the administrator's alone
    if path:
        require(me, P.USERS_READ, path)
    else:
        require(me, "*", None)
    return found


@router.post("/users", response_model=UserOut, status_code=201)
@access(P.USERS_MANAGE)
def create_user(body: UserIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        require(me, P.USERS_MANAGE, org_queries.org(uow.session, body.org_id).path if body.org_id else None)
        if body.org_id is None:
            require(me, "*", None)
        return services.create_user(uow, body)


@router.post("/users/{user_id}/grants", response_model=GrantOut, status_code=201)
@access(P.USERS_MANAGE)
def grant_role(user_id: int, body: GrantIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        # a manager hands out roles only over orgs they manage, and only roles whose permissions they hold
        target = org_queries.org(uow.session, body.org_id)
        require(me, P.USERS_MANAGE, target.path)
        require(me, P.USERS_MANAGE, queries.user_org_path(uow.session, queries.user(uow.session, user_id).id))
        for perm in next((r.permissions for r in queries.roles(uow.session) if r.code == body.role), []):
            require(me, perm, target.path)
        return services.grant_role(uow, user_id, body)


@router.delete("/grants/{grant_id}", status_code=204)
@access(P.USERS_MANAGE)
def revoke_grant(grant_id: int, db: DB, me: Me) -> Response:
    with unit_of_work(db, me.actor) as uow:
        from zhicheng.core.auth.models import RoleGrant

        grant = uow.session.get(RoleGrant, grant_id)
        if grant is not None:
            require(me, P.USERS_MANAGE, org_queries.org(uow.session, grant.org_id).path)
        services.revoke_grant(uow, grant_id)
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenOut])
@access(P.TOKENS_MANAGE)
def list_tokens(s: Reader, me: Me) -> list:
    return queries.tokens(s, me.paths(P.TOKENS_MANAGE))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
@access(P.TOKENS_MANAGE)
def create_token(body: TokenIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        path = org_queries.org(uow.session, body.org_id).path
        require(me, P.TOKENS_MANAGE, path)
        for role in queries.roles(uow.session):
            if role.code in body.roles:
                for perm in role.permissions:
                    require(me, perm, path)
        token, raw = services.create_token(uow, body)
    return TokenCreated.model_validate({**TokenOut.model_validate(token).model_dump(), "token": raw})


@router.delete("/tokens/{token_id}", status_code=204)
@access(P.TOKENS_MANAGE)
def revoke_token(token_id: int, db: DB, me: Me) -> Response:
    with unit_of_work(db, me.actor) as uow:
        require(me, P.TOKENS_MANAGE, queries.token_org_path(uow.session, token_id))
        services.revoke_token(uow, token_id)
    return Response(status_code=204)

"""Deny by default. Every route declares who may call it with `@access(permission)` or `@public`;
the app-wide `guard` dependency refuses any route that declares nothing, authenticates the caller
(API token or console session), checks the permission and, for cookie sessions, the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from zhicheng.core.auth import services as auth
from zhicheng.core.auth.principal import ANONYMOUS, Principal
from zhicheng.core.errors import Forbidden, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "__public__"
SESSION_COOKIE = "zc_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def access(permission: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        fn.__zc_access__ = permission  # type: ignore[attr-defined]
        return fn

    return mark


public = access(PUBLIC)


def declared(endpoint: Any) -> str | None:
    return getattr(endpoint, "__zc_access__", None)


class LoginRequired(Unauthenticated):
    """Raised on console routes: the error handler turns it into a redirect to the login page."""


def is_api(path: str) -> bool:
    return path.startswith(("/api/", "/open311/", "/healthz"))


async def authenticate(request: Request) -> Principal:
    db = request.app.state.db
    ip = request.client.host if request.client else None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = auth.principal_for_token(db, header[7:].strip(), ip)
        if found is None:
            raise Unauthenticated("令牌无效、已过期或已吊销", "token is invalid, expired or revoked")
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await run_in_threadpool(auth.principal_for_session, db, cookie, ip)
        if found is not None:
            return found
    return ANONYMOUS


async def guard(request: Request) -> None:
    route = request.scope.get("route")
    permission = declared(getattr(route, "endpoint", None))
    if permission is None:
        raise Forbidden(
            "此路由未声明访问权限，默认拒绝", "this route declares no access rule and is refused by default"
        )
    principal = await authenticate(request)
    request.state.principal = principal
    if permission == PUBLIC:
        return
    if not principal.authenticated:
        if is_api(request.url.path):
            raise Unauthenticated()
        raise LoginRequired()
    if not principal.can(permission):
        raise Forbidden()
    if principal.csrf and request.method in UNSAFE:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = (await request.form()).get("csrf_token")  # Starlette caches the parsed form
        if sent != principal.csrf:
            raise Forbidden(
                "跨站请求校验失败，请刷新页面后重试", "CSRF check failed; reload the page and try again"
            )


def principal(request: Request) -> Principal:
    """The caller, as the guard found them."""
    return getattr(request.state, "principal", ANONYMOUS)


def api_routes(app: Any) -> list[Any]:
    """Every APIRoute of the app. FastAPI ≥0.160 nests included routers instead of copying their routes;
    we include routers without extra prefixes, so each route's own path is its full path."""
    from fastapi.routing import APIRoute

    found, stack = [], list(app.routes)
    while stack:
        route = stack.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            stack[0:0] = route.original_router.routes
    return found

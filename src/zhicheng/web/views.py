"""The shell's own pages: login, logout, language switch and the home page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth import services as auth
from zhicheng.core.errors import DomainError
from zhicheng.web.deps import Conf, Me
from zhicheng.web.i18n import LANGS, request_lang
from zhicheng.web.security import SESSION_COOKIE, access, public
from zhicheng.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "zc_login_csrf"


def _safe_next(target: str | None) -> str:
    # only local paths: never redirect a fresh login to another site
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
@public
def login_page(request: Request, next: str | None = None) -> object:
    token = secrets.token_urlsafe(16)
    resp = render(request, "login.html", {"next": _safe_next(next), "login_csrf": token, "error": None})
    resp.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict")
    return resp


@router.post("/login")
@public
async def login(
    request: Request,
    conf: Conf,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    login_csrf: Annotated[str, Form()] = "",
) -> object:
    lang = request_lang(request)
    expected = request.cookies.get(LOGIN_CSRF)
    error = None
    if not expected or not secrets.compare_digest(expected, login_csrf):
        error = "页面已过期，请重新登录" if lang == "zh" else "The page expired; please sign in again"
    else:
        ip = request.client.host if request.client else "unknown"
        try:
            cookie, user = await run_in_threadpool(
                auth.login,
                request.app.state.db,
                username.strip(),
                password,
                ip,
                conf.login_max_failures,
                conf.login_window_minutes,
                conf.session_hours,
            )
        except DomainError as exc:
            error = exc.message(lang)
        else:
            resp = RedirectResponse(_safe_next(next), status_code=303)
            resp.set_cookie(
                SESSION_COOKIE,
                cookie,
                httponly=True,
                samesite="lax",
                secure=conf.cookie_secure,
                max_age=conf.session_hours * 3600,
            )
            resp.set_cookie("zc_lang", user.locale, samesite="lax")
            resp.delete_cookie(LOGIN_CSRF)
            return resp
    token = secrets.token_urlsafe(16)
    resp = render(
        request,
        "login.html",
        {"next": _safe_next(next), "login_csrf": token, "error": error, "username": username},
        status=400,
    )
    resp.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict")
    return resp


@router.post("/logout")
@access(P.SELF)
def logout(request: Request) -> RedirectResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.logout(request.app.state.db, cookie)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/lang/{lang}")
@public
def switch_lang(lang: str, request: Request) -> RedirectResponse:
    back = request.headers.get("referer") or "/"
    resp = RedirectResponse(back if back.startswith(str(request.base_url)) else "/", status_code=303)
    if lang in LANGS:
        resp.set_cookie("zc_lang", lang, samesite="lax")
    return resp


@router.get("/")
@access(P.SELF)
def home(request: Request, me: Me) -> object:
    return render(request, "home.html", {})

"""Every error ends as problem+json (RFC 9457) on the API and a readable page in the console.
Messages come in Chinese and English; a traceback never reaches the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from zhicheng.core.errors import DomainError
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import LoginRequired, is_api

log = logging.getLogger("zhicheng.web")
PROBLEM = "application/problem+json"
HTTP_TITLES = {
    400: ("请求无效", "Bad request"),
    401: ("需要登录或有效令牌", "Authentication required"),
    403: ("无权执行此操作", "Permission denied"),
    404: ("未找到", "Not found"),
    405: ("不支持此请求方法", "Method not allowed"),
    413: ("请求内容过大", "Request entity too large"),
    422: ("输入无效", "Invalid input"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"),
}
# path prefix → renderer(request, status, zh, en) for callers that speak another standard's error format
# instead of problem+json (Open311 GeoReport v2 under /open311/: cityops/open311_api.py registers it)
FORMATS: dict[str, Callable[[Request, int, str, str], Any]] = {}


def problem(
    request: Request, status: int, code: str, zh: str, en: str, extra: dict[str, Any] | None = None
) -> Any:
    for prefix, render_format in FORMATS.items():
        if request.url.path.startswith(prefix):
            return render_format(request, status, zh, en)
    lang = request_lang(request)
    title_zh, title_en = HTTP_TITLES.get(status, (zh, en))
    if is_api(request.url.path):
        body = {
            "type": f"https://zhicheng.example/problems/{code}",
            "title": title_en if lang == "en" else title_zh,
            "status": status,
            "detail": en if lang == "en" else zh,
            "instance": request.url.path,
            "code": code,
            "messages": {"zh": zh, "en": en},
            **(extra or {}),
        }
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status == 429 and extra and "retry_after" in extra:
            headers = {"Retry-After": str(extra["retry_after"])}
        return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)
    from zhicheng.web.templating import render

    return render(
        request, "error.html", {"status": status, "message": en if lang == "en" else zh}, status=status
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Any:
        if isinstance(exc, LoginRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return problem(request, exc.status, exc.code, exc.detail_zh, exc.detail_en, exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Any:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        where = "; ".join(".".join(e["loc"]) + ": " + e["msg"] for e in errors[:5])
        return problem(
            request, 422, "invalid", f"输入无效：{where}", f"invalid input: {where}", {"errors": errors}
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Any:
        zh, en = HTTP_TITLES.get(exc.status_code, (str(exc.detail), str(exc.detail)))
        return problem(request, exc.status_code, f"http-{exc.status_code}", zh, en)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Any:
        # two writers raced for the same unique key: the loser's transaction was rolled back whole
        log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        zh, en = (
            "数据已被同时修改，请刷新后重试",
            "the data was changed at the same time; reload and try again",
        )
        return problem(request, 409, "conflict", zh, en)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            request, 500, "internal", "服务器内部错误，已记录", "internal error; it has been logged"
        )

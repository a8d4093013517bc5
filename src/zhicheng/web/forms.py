"""Form plumbing the console pages share: one-shot success messages, readable form errors, field parsing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from zhicheng.core.errors import DomainError, Invalid
from zhicheng.web.i18n import request_lang
from zhicheng.web.templating import render

FLASH_COOKIE = "zc_flash"
PAGE_SIZE = 100
# Field labels for readable form errors: name → (Chinese, English[, pattern hint zh, pattern hint en]).
LABELS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "name"),
    "short_name": ("简称", "short name"),
    "kind": ("类型", "kind"),
    "division_code": ("行政区划", "division"),
    "parent_id": ("上级机构", "parent organization"),
    "line_parent_id": ("条线上级", "line parent"),
    "credit_code": ("统一社会信用代码", "credit code"),
    "code": ("区划代码", "division code", "应为 6、9 或 12 位数字", "must be 6, 9 or 12 digits"),
    "parent_code": ("上级区划", "parent division"),
    "username": (
        "用户名",
        "user name",
        "只能包含小写字母、数字和 _ . -",
        "may only contain lower-case letters, digits and _ . -",
    ),
    "display_name": ("姓名", "display name"),
    "password": ("密码", "password"),
    "org_id": ("所属机构", "organization"),
    "locale": ("界面语言", "language"),
    "role": ("角色", "role"),
    "roles": ("角色", "roles"),
    "days": ("有效天数", "days valid"),
}
_PYDANTIC_ZH = {
    "missing": "必填",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值无效",
    "too_short": "至少选择 {min_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
}


def say(request: Request, zh: str, en: str) -> str:
    return en if request_lang(request) == "en" else zh


def page(request: Request, name: str, ctx: dict[str, Any] | None = None, status: int = 200) -> Any:
    """render() plus the one-shot success message a redirect left in a cookie."""
    raw = request.cookies.get(FLASH_COOKIE)
    resp = render(request, name, {"flash": unquote(raw) if raw else None, **(ctx or {})}, status)
    if raw:
        resp.delete_cookie(FLASH_COOKIE)
    return resp


def done(url: str, message: str) -> RedirectResponse:
    """The answer to a successful POST: 303 to the result, with a success message for the next page."""
    resp = RedirectResponse(url, status_code=303)
    resp.set_cookie(FLASH_COOKIE, quote(message), httponly=True, samesite="lax")
    return resp


def explain(exc: ValidationError, lang: str) -> str:
    parts = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e.get("loc") else ""
        label = LABELS.get(field, (field, field))
        ctx = e.get("ctx") or {}
        if e["type"] == "string_pattern_mismatch" and len(label) > 2:
            text = label[3] if lang == "en" else label[2]
        elif lang == "en":
            text = e["msg"]
        else:
            text = _PYDANTIC_ZH.get(e["type"], "无效").format(**ctx)
        parts.append(f"{label[1]}: {text}" if lang == "en" else f"{label[0]}：{text}")
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def failure(request: Request, exc: Exception, race: tuple[str, str] | None = None) -> tuple[str, int]:
    """A readable message and a 4xx status for a form that could not be saved. `race` (zh, en) goes before
    the message of a 409: a step that no longer applies, most often because someone else was quicker."""
    lang = request_lang(request)
    if isinstance(exc, ValidationError):
        return explain(exc, lang), 422
    assert isinstance(exc, DomainError)
    message = exc.message(lang)
    if exc.status == 409 and race is not None:
        return f"{say(request, *race)}（{message}）", 409
    # a form naming something that does not exist is bad input, not a missing page
    return message, 422 if exc.status == 404 else exc.status


def to_int(value: str | None, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        zh, en = LABELS.get(field, (field, field))[:2]
        raise Invalid(f"{zh}应为数字", f"{en} must be a number")
    return int(value)


def blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None

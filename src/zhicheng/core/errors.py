"""Domain errors: each carries a status, a stable code and a message in Chinese and English.

Services raise these; the web layer turns them into problem+json (API), a page message (console)
or one line on stderr (CLI).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad-request"
    title_zh = "请求无效"
    title_en = "Bad request"

    def __init__(self, zh: str | None = None, en: str | None = None, **extra: Any) -> None:
        self.detail_zh = zh or self.title_zh
        self.detail_en = en or self.title_en
        self.extra = extra
        super().__init__(self.detail_en)

    def message(self, lang: str = "zh") -> str:
        return self.detail_en if lang == "en" else self.detail_zh


class Invalid(DomainError):
    status = 422
    code = "invalid"
    title_zh = "输入无效"
    title_en = "Invalid input"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title_zh = "未找到"
    title_en = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title_zh = "状态冲突"
    title_en = "Conflict"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title_zh = "需要登录或有效令牌"
    title_en = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title_zh = "无权执行此操作"
    title_en = "Permission denied"


class Throttled(DomainError):
    status = 429
    code = "throttled"
    title_zh = "尝试过于频繁，请稍后再试"
    title_en = "Too many attempts; try again later"

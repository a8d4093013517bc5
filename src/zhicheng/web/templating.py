"""One Jinja2 environment over the shell's templates and every module's `templates/` folder."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from zhicheng.web import nav
from zhicheng.web.i18n import PACKAGE, request_lang, translate
from zhicheng.web.security import principal

SHANGHAI = ZoneInfo("Asia/Shanghai")


@cache
def templates() -> Jinja2Templates:
    dirs = [PACKAGE / "web" / "templates"] + sorted(
        p for p in PACKAGE.rglob("templates") if p.is_dir() and p != PACKAGE / "web" / "templates"
    )
    env_templates = Jinja2Templates(directory=str(dirs[0]))
    env_templates.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in dirs])
    env_templates.env.filters["local"] = _local
    return env_templates


def _local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else ""


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Any:
    lang = request_lang(request)
    who = principal(request)
    entries = nav.visible(who) if who.authenticated else []
    path = request.url.path
    # the entry whose path is the longest prefix of this page is the one to highlight
    active = max(
        (i.path for _, items in entries for i in items if path.startswith(i.path)), key=len, default=None
    )
    ctx = {
        "lang": lang,
        "_": lambda text: translate(text, lang),
        "me": who,
        "nav": entries,
        "nav_active": active,
        "csrf": who.csrf or "",
        "path": path,
        **(context or {}),
    }
    return templates().TemplateResponse(request, name, ctx, status_code=status)

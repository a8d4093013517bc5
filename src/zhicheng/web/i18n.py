"""Simplified Chinese is the source language; English comes from `locales/en.json` catalogs
(the shell's and any module's), keyed by the Chinese text."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from fastapi import Request

LANGS = ("zh", "en")
PACKAGE = Path(__file__).resolve().parent.parent


@cache
def catalog() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("locales/en.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(text: str, lang: str) -> str:
    return catalog().get(text, text) if lang == "en" else text


def request_lang(request: Request) -> str:
    """?lang= first; then, for API calls, Accept-Language; for console pages the user's chosen language
    (cookie) wins over the browser's header."""
    accept = request.headers.get("accept-language", "").lower()
    header = ("en" if accept.startswith("en") else "zh") if accept else None
    chosen = request.query_params.get("lang")
    if chosen not in LANGS:
        cookie = request.cookies.get("zc_lang")
        api = request.url.path.startswith(("/api/", "/open311/"))
        chosen = (header or cookie) if api else (cookie or header)
    return chosen if chosen in LANGS else "zh"

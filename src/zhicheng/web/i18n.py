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
    chosen = request.query_params.get("lang") or request.cookies.get("zc_lang")
    if chosen in LANGS:
        return chosen
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "zh"

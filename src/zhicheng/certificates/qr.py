"""The verification URL of a certificate and its QR code (SVG, drawn by segno, pure Python)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno


def base_url(request: Any) -> str:
    """ZHICHENG_CERTIFICATE_VERIFY_BASE_URL (the public address printed certificates point to), or the
    address this request came in at."""
    settings = getattr(request.app.state, "settings", None)
    configured = str(getattr(settings, "certificate_verify_base_url", "") or "")
    return (configured or str(request.base_url)).rstrip("/")


def verify_url(base: str, number: str) -> str:
    return f"{base.rstrip('/')}/verify/{quote(number, safe='')}"


def svg(url: str, scale: int = 4) -> str:
    """An inline <svg> of a regular QR code (never a Micro QR, which phone cameras do not read) with
    error correction M or better, carrying exactly `url`."""
    code = segno.make_qr(url, error="m")
    return code.svg_inline(scale=scale, border=2, title=url)

"""The module's tunables: ZHICHENG_APPROVALS_WARN_DAYS and ZHICHENG_APPROVALS_MAX_UPLOAD_MB."""

from __future__ import annotations

from zhicheng.settings import Settings


def warn_days(settings: Settings) -> int:
    """Yellow: this many working days or fewer left before a limit."""
    return settings.approvals_warn_days


def max_upload_bytes(settings: Settings) -> int:
    """The largest upload accepted at all; each material sets its own, smaller, limit."""
    return settings.approvals_max_upload_mb * 1024 * 1024

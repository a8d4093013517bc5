"""Console pages of the audit trail: browse and filter it newest first, and verify the chain."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request

from zhicheng.core.audit import queries, services
from zhicheng.core.audit.schemas import AuditFilter
from zhicheng.core.auth import permissions as P
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.paging import decode_id, encode
from zhicheng.web import nav
from zhicheng.web.deps import DB, Reader
from zhicheng.web.forms import blank, failure, page
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("安全审计", "审计记录", "/audit", P.AUDIT_READ, order=30)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
PROBLEMS = {"changed": "被篡改", "removed": "缺失", "inserted": "被插入", "anchor": "与锚点不符"}


def _day(value: str | None, zh: str, en: str) -> dt.date | None:
    if not blank(value):
        return None
    try:
        return dt.date.fromisoformat(value.strip())  # type: ignore[union-attr]
    except ValueError as exc:
        raise Invalid(f"{zh}应为 年-月-日，例如 2026-03-01", f"{en} must be a date like 2026-03-01") from exc


def _filter(params: dict[str, str]) -> AuditFilter:
    """Dates are Asia/Shanghai calendar days; the end day is included."""
    since = _day(params["since"], "开始日期", "from date")
    until = _day(params["until"], "结束日期", "to date")
    if since and until and since > until:
        raise Invalid("开始日期晚于结束日期", "the from date is after the to date")

    def start(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), SHANGHAI)

    return AuditFilter(
        tag=blank(params["tag"]),
        actor=blank(params["actor"]),
        subject=blank(params["subject"]),
        since=start(since) if since else None,
        until=start(until + dt.timedelta(days=1)) if until else None,
    )


def _pretty(change: str) -> tuple[str, str]:
    """A one-line summary and the indented body of a change (stored as canonical JSON)."""
    try:
        body = json.dumps(json.loads(change), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:  # a tampered body may not even be JSON; show it as it is
        body = change
    return (change if len(change) <= 60 else change[:57] + "…"), body


def _audit_page(
    request: Request,
    s: Any,
    params: dict[str, str],
    cursor: str | None = None,
    verdict: Any = None,
    status: int = 200,
) -> Any:
    error, rows, older = None, [], None
    try:
        found = queries.records(s, _filter(params), PAGE_SIZE + 1, decode_id(cursor))
        rows = [(r, *_pretty(r.change)) for r in found[:PAGE_SIZE]]
        if len(found) > PAGE_SIZE:
            older = encode(found[PAGE_SIZE - 1].id)
    except DomainError as exc:
        error, status = failure(request, exc)
    return page(
        request,
        "audit/list.html",
        {
            "rows": rows,
            "filters": params,
            "older": older,
            "error": error,
            "verdict": verdict,
            "problems": PROBLEMS,
            "paged": bool(cursor),
        },
        status,
    )


@router.get("/audit")
@access(P.AUDIT_READ)
def audit_list(
    request: Request,
    s: Reader,
    tag: str = "",
    actor: str = "",
    subject: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> Any:
    params = {"tag": tag, "actor": actor, "subject": subject, "since": since, "until": until}
    return _audit_page(request, s, params, blank(cursor))


@router.post("/audit/verify")
@access(P.AUDIT_READ)
def audit_verify(
    request: Request,
    db: DB,
    tag: Annotated[str, Form()] = "",
    actor: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Any:
    # records committed but not yet chained would otherwise be left out of the check
    services.seal_all(db)
    verdict = services.verify(db)
    # the page comes back whole (with the filters it was showing), now sealed; htmx swaps it in place
    params = {"tag": tag, "actor": actor, "subject": subject, "since": since, "until": until}
    with db.read() as s:
        return _audit_page(request, s, params, verdict=verdict)

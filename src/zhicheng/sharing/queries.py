"""Sharing reads: requests with their deadlines, the role views, grants, and `active_grant` for the
exchange API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.errors import NotFound
from zhicheng.core.orgs.models import Org
from zhicheng.core.orgs.queries import org_path  # noqa: F401 - the module's callers use queries.org_path
from zhicheng.sharing.models import SharingGrant, SharingRequest

VIEWS = ("mine", "review", "decide")
GRANT_VIEWS = ("mine", "provided")
LIMIT = 500


def request(s: Session, request_id: int) -> SharingRequest:
    found = s.get(SharingRequest, request_id)
    if found is None:
        raise NotFound(f"共享申请 {request_id} 不存在", f"sharing request {request_id} not found")
    return found


def grant(s: Session, grant_id: int) -> SharingGrant:
    found = s.get(SharingGrant, grant_id)
    if found is None:
        raise NotFound(f"授权 {grant_id} 不存在", f"grant {grant_id} not found")
    return found


def active_grant(
    s: Session, consumer_org_id: int, resource_id: int, today: dt.date | None = None
) -> SharingGrant | None:
    """The grant in force for this consumer and resource on `today` (its items are `grant.items`), or None
    when there is none, it has expired, has not begun, or was revoked."""
    on = today or shanghai_today()
    return s.scalar(
        select(SharingGrant)
        .where(
            SharingGrant.consumer_org_id == consumer_org_id,
            SharingGrant.resource_id == resource_id,
            SharingGrant.status == "active",
            SharingGrant.valid_from <= on,
            SharingGrant.valid_until >= on,
        )
        .order_by(SharingGrant.valid_until.desc())
        .limit(1)
    )


def grant_terms(s: Any, consumer_org_id: int, resource_id: int, today: dt.date) -> Any:
    """What the exchange needs of the grant in force (same rule as active_grant), as a row: id, items,
    purpose, masking_profile, mask_overrides, rate_per_minute; None when there is none."""
    g = SharingGrant
    return s.execute(
        select(g.id, g.items, g.purpose, g.masking_profile, g.mask_overrides, g.rate_per_minute)
        .where(
            g.consumer_org_id == consumer_org_id,
            g.resource_id == resource_id,
            g.status == "active",
            g.valid_from <= today,
            g.valid_until >= today,
        )
        .order_by(g.valid_until.desc())
        .limit(1)
    ).first()


def _under(column: Any, paths: list[str]) -> Any:
    return or_(*(column.startswith(p) for p in paths)) if paths else false()


def requests_in_view(
    s: Session, view: str, paths: list[str], status: str | None = None, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """mine: the consumer departments under `paths`; review: requests whose consumer and provider are
    both under `paths` that wait on the data authority (submitted, disputed, or escalated); decide:
    requests for the provider departments under `paths` that wait on them. Sorted by working days left,
    the most urgent first."""
    consumer, provider = aliased(Org), aliased(Org)
    q = (
        select(SharingRequest)
        .join(consumer, consumer.id == SharingRequest.consumer_org_id)
        .join(provider, provider.id == SharingRequest.provider_org_id)
    )
    if view == "mine":
        q = q.where(_under(consumer.path, paths))
    elif view == "review":
        q = q.where(
            _under(consumer.path, paths),
            _under(provider.path, paths),
            or_(
                SharingRequest.status.in_(("submitted", "disputed")),
                and_(SharingRequest.status == "awaiting_provider", SharingRequest.escalated_at.is_not(None)),
            ),
        )
    else:
        q = q.where(_under(provider.path, paths), SharingRequest.status == "awaiting_provider")
    if status:
        q = q.where(SharingRequest.status == status)
    rows = [shown(s, r, today) for r in s.scalars(q.order_by(SharingRequest.id.desc()).limit(LIMIT))]
    # nothing waited on (finished) sorts last; among the waiting, the fewest days left first
    return sorted(
        rows, key=lambda r: (r["remaining_workdays"] is None, r["remaining_workdays"] or 0, -r["id"])
    )


def shown(s: Session, req: SharingRequest, today: dt.date | None = None) -> dict[str, Any]:
    """The request as the API shows it: with the current step's due date, days left and status colour."""
    from zhicheng.sharing.schemas import RequestOut

    out = RequestOut.model_validate(req).model_dump()
    clock = s.get(Clock, req.clock_id) if req.clock_id else None
    if clock is not None and clock.state != "stopped":
        out["due_on"] = clock.due_on
        out["remaining_workdays"] = calendar.remaining_workdays(s, clock, today)
        out["clock_status"] = calendar.status(s, clock, today)
    out["grant_id"] = s.scalar(select(SharingGrant.id).where(SharingGrant.request_id == req.id))
    return out


def grants_in_view(s: Session, view: str, paths: list[str]) -> list[SharingGrant]:
    column = SharingGrant.consumer_org_id if view == "mine" else SharingGrant.provider_org_id
    q = (
        select(SharingGrant)
        .join(Org, Org.id == column)
        .where(_under(Org.path, paths))
        .order_by(SharingGrant.id.desc())
        .limit(LIMIT)
    )
    return list(s.scalars(q))

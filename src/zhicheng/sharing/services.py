"""Sharing writes: apply, review, decide, dispute, settle, escalate, revoke. Each step audited; each waiting
step on a working-day clock started in the same transaction; each transition a conditional update on the
status the caller saw, so concurrent deciders cannot both win."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from zhicheng.catalog import vocab
from zhicheng.catalog.models import Resource, ResourceItem
from zhicheng.core.calendar import services as calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.orgs.models import Org
from zhicheng.sharing.models import SharingGrant, SharingRequest
from zhicheng.sharing.schemas import REASON_MIN, RequestIn

# Deadlines in working days: the Shanxi 2024 procedure (DOMAIN.md, "Data sharing rules").
AUTHORITY_DAYS = 2  # the data authority's compliance check
PROVIDER_DAYS_HOSTED = 5  # a 有条件 request whose data is already on the platform
PROVIDER_DAYS_UNHOSTED = 10  # ... or that the provider must first publish on the platform
MAX_PERIOD_YEARS = 3  # the longest period one grant may cover; the consumer applies again after it
CLOCK_OWNER = "sharing:request"
OPEN = ("submitted", "awaiting_provider", "disputed")  # a consumer has at most one of these per resource

STATUS_ZH = {
    "submitted": "待审核",
    "awaiting_provider": "待提供方答复",
    "granted": "已授权",
    "rejected": "审核未通过",
    "refused": "提供方不予共享",
    "disputed": "争议处理中",
}


def data_on_platform(resource: Resource) -> bool:
    """Whether the resource's data is already hosted or proxied by the platform (5 working days for the
    provider) rather than still to be published there (10). Every resource counts as on the platform until
    the hosting step lands and this function asks it."""
    return True


def submit(
    uow: UnitOfWork, data: RequestIn, consumer_org_id: int, today: dt.date | None = None
) -> SharingRequest:
    s = uow.session
    today = today or shanghai_today()
    res = s.get(Resource, data.resource_id)
    if res is None or res.status != "published":
        raise NotFound(
            f"数据资源 {data.resource_id} 不存在或已撤销", f"resource {data.resource_id} not found"
        )
    if res.share_type == "none":
        raise Invalid(
            f"“{res.name}”为不予共享资源，依据：{res.share_basis}",
            f"{res.name} is not shared; basis: {res.share_basis}",
        )
    if s.get(Org, consumer_org_id) is None:
        raise NotFound(f"机构 {consumer_org_id} 不存在", f"organization {consumer_org_id} not found")
    if consumer_org_id == res.provider_org_id:
        raise Invalid("本部门的资源无需申请共享", "a department does not apply for its own resource")
    share_type = _item_share_type(uow, res, data.items)
    _check_period(data.valid_from, data.valid_until, today)
    held = s.scalar(
        select(SharingRequest.id).where(
            SharingRequest.consumer_org_id == consumer_org_id,
            SharingRequest.resource_id == res.id,
            SharingRequest.status.in_(OPEN),
        )
    )
    if held is not None:
        raise Conflict(
            f"本部门对该资源已有办理中的申请（{held}）", f"the department has an open request ({held}) for it"
        )
    now = utcnow()
    req = SharingRequest(
        resource_id=res.id,
        consumer_org_id=consumer_org_id,
        provider_org_id=res.provider_org_id,
        purpose=data.purpose.strip(),
        scenario=data.scenario.strip(),
        system_name=data.system_name.strip(),
        items=list(data.items),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        share_type=share_type,
        status="submitted",
        submitted_on=today,
        applicant=uow.actor.label,
        version=1,
        created_at=now,
        updated_at=now,
    )
    s.add(req)
    s.flush()
    req.clock_id = calendar.start_clock(uow, CLOCK_OWNER, str(req.id), today, AUTHORITY_DAYS).id
    uow.record(
        "sharing:request:submit",
        f"request:{req.id}",
        {
            "resource": res.code,
            "consumer_org_id": consumer_org_id,
            "items": req.items,
            "share_type": share_type,
        },
    )
    return req


def review(
    uow: UnitOfWork, request_id: int, approve: bool, reason: str, today: dt.date | None = None
) -> SharingRequest:
    """The data authority's compliance check: rejected, or on to the provider (有条件) or granted (无条件)."""
    today = today or shanghai_today()
    req = _request(uow, request_id, "submitted")
    if not approve:
        _reason(reason)
        _stop_step(uow, req, today)
        _move(uow, req, "submitted", "rejected", review_reason=reason.strip(), clock_id=None)
        uow.record("sharing:request:reject", f"request:{req.id}", {"reason": reason.strip()})
        return req
    _stop_step(uow, req, today)
    if req.share_type == "unconditional":
        _move(uow, req, "submitted", "granted", review_reason=reason.strip() or None, clock_id=None)
        uow.record("sharing:request:approve", f"request:{req.id}", {"next": "granted"})
        _grant(uow, req)
        return req
    res = uow.session.get(Resource, req.resource_id)
    days = PROVIDER_DAYS_HOSTED if data_on_platform(res) else PROVIDER_DAYS_UNHOSTED
    clock = calendar.start_clock(uow, CLOCK_OWNER, str(req.id), today, days)
    _move(uow, req, "submitted", "awaiting_provider", review_reason=reason.strip() or None, clock_id=clock.id)
    uow.record("sharing:request:approve", f"request:{req.id}", {"next": "awaiting_provider", "days": days})
    return req


def decide(
    uow: UnitOfWork, request_id: int, grant: bool, reason: str, today: dt.date | None = None
) -> SharingRequest:
    """The provider's answer to a 有条件 request; a refusal states its reasons."""
    today = today or shanghai_today()
    req = _request(uow, request_id, "awaiting_provider")
    if not grant:
        _reason(reason)
    _stop_step(uow, req, today)
    status = "granted" if grant else "refused"
    _move(uow, req, "awaiting_provider", status, decision_reason=reason.strip() or None, clock_id=None)
    uow.record(
        f"sharing:request:{'grant' if grant else 'refuse'}", f"request:{req.id}", {"reason": reason.strip()}
    )
    if grant:
        _grant(uow, req)
    return req


def dispute(uow: UnitOfWork, request_id: int, reason: str) -> SharingRequest:
    """The consumer contests a refusal; the data authority settles it (no statutory deadline, no clock)."""
    _reason(reason)
    req = _request(uow, request_id, "refused")
    _move(uow, req, "refused", "disputed", dispute_reason=reason.strip())
    uow.record("sharing:request:dispute", f"request:{req.id}", {"reason": reason.strip()})
    return req


def settle(uow: UnitOfWork, request_id: int, upheld: bool, reason: str) -> SharingRequest:
    """The data authority settles a dispute: upheld → granted; dismissed → refused stands."""
    _reason(reason)
    req = _request(uow, request_id, "disputed")
    _move(uow, req, "disputed", "granted" if upheld else "refused", settle_reason=reason.strip())
    uow.record("sharing:request:settle", f"request:{req.id}", {"upheld": upheld, "reason": reason.strip()})
    if upheld:
        _grant(uow, req)
    return req


def escalate_overdue(uow: UnitOfWork, today: dt.date | None = None) -> int:
    """Mark the requests whose current step is past its due date as escalated to the data authority.
    Idempotent: an escalated step is not escalated again (the next step starts unescalated)."""
    today = today or shanghai_today()
    s = uow.session
    overdue = s.scalars(
        select(SharingRequest)
        .join(Clock, Clock.id == SharingRequest.clock_id)
        .where(
            SharingRequest.status.in_(("submitted", "awaiting_provider")),
            SharingRequest.escalated_at.is_(None),
            Clock.state == "running",
            Clock.due_on < today,
        )
        .order_by(SharingRequest.id)
    ).all()
    count = 0
    for req in overdue:
        done = s.execute(
            update(SharingRequest)
            .where(SharingRequest.id == req.id, SharingRequest.escalated_at.is_(None))
            .values(escalated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
        if done.rowcount:
            count += 1
            uow.record(
                "sharing:request:escalate",
                f"request:{req.id}",
                {"status": req.status, "on": today.isoformat()},
            )
    return count


def revoke(uow: UnitOfWork, grant_id: int, reason: str) -> SharingGrant:
    _reason(reason)
    s = uow.session
    grant = s.get(SharingGrant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在", f"grant {grant_id} not found")
    done = s.execute(
        update(SharingGrant)
        .where(SharingGrant.id == grant_id, SharingGrant.status == "active")
        .values(
            status="revoked", revoked_at=utcnow(), revoked_by=uow.actor.label, revoke_reason=reason.strip()
        )
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        raise Conflict(f"授权 {grant_id} 已撤销", f"grant {grant_id} is revoked already")
    uow.record("sharing:grant:revoke", f"grant:{grant_id}", {"reason": reason.strip()})
    return grant


# --- helpers ------------------------------------------------------------------------------------------------


def _item_share_type(uow: UnitOfWork, res: Resource, wanted: list[str]) -> str:
    """Check the requested items; returns the strictest sharing type among them and the resource."""
    if len(set(wanted)) != len(wanted):
        raise Invalid("申请的信息项有重复", "the requested items repeat")
    items = {
        i.name: i for i in uow.session.scalars(select(ResourceItem).where(ResourceItem.resource_id == res.id))
    }
    unknown = [n for n in wanted if n not in items]
    if unknown:
        raise Invalid(f"资源没有这些信息项：{'、'.join(unknown)}", f"the resource has no items {unknown}")
    closed = [n for n in wanted if items[n].share_type == "none"]
    if closed:
        basis = res.share_basis or "目录标注为不予共享"
        raise Invalid(
            f"信息项不予共享：{'、'.join(closed)}（{basis}）", f"items not shared: {closed} ({basis})"
        )
    types = [res.share_type, *(items[n].share_type for n in wanted)]
    return max(types, key=vocab.SHARE_ORDER.__getitem__)


def _check_period(start: dt.date, end: dt.date, today: dt.date) -> None:
    if start < today:
        raise Invalid("使用期限不能早于申请日", "the period cannot begin before the day of the request")
    if end < start:
        raise Invalid("使用期限的结束日早于开始日", "the period ends before it begins")
    try:
        longest = start.replace(year=start.year + MAX_PERIOD_YEARS)
    except ValueError:  # 29 February
        longest = start.replace(year=start.year + MAX_PERIOD_YEARS, day=28)
    if end > longest:
        raise Invalid(
            f"使用期限最长 {MAX_PERIOD_YEARS} 年（至 {longest.isoformat()}）",
            f"the period is at most {MAX_PERIOD_YEARS} years (until {longest})",
        )


def _reason(reason: str) -> None:
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"请说明理由（至少 {REASON_MIN} 个字）", f"state the reasons (at least {REASON_MIN} characters)"
        )


def _request(uow: UnitOfWork, request_id: int, expected: str) -> SharingRequest:
    req = uow.session.get(SharingRequest, request_id)
    if req is None:
        raise NotFound(f"共享申请 {request_id} 不存在", f"sharing request {request_id} not found")
    if req.status != expected:
        raise _conflict(req.id, req.status)
    return req


def _conflict(request_id: int, status: str) -> Conflict:
    return Conflict(
        f"共享申请 {request_id} 当前为“{STATUS_ZH.get(status, status)}”，不能进行此操作",
        f"sharing request {request_id} is {status}; this step does not apply",
    )


def _move(uow: UnitOfWork, req: SharingRequest, expected: str, status: str, **values: Any) -> None:
    """The transition, conditional on the status and version the caller read: the loser of a race
    updates nothing and gets a conflict."""
    s = uow.session
    s.flush()
    done = s.execute(
        update(SharingRequest)
        .where(
            SharingRequest.id == req.id,
            SharingRequest.status == expected,
            SharingRequest.version == req.version,
        )
        .values(status=status, version=req.version + 1, updated_at=utcnow(), escalated_at=None, **values)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        s.expire(req)
        raise _conflict(req.id, req.status)


def _stop_step(uow: UnitOfWork, req: SharingRequest, today: dt.date) -> None:
    if req.clock_id is not None:
        clock = uow.session.get(Clock, req.clock_id)
        if clock is not None and clock.state != "stopped":
            calendar.stop_clock(uow, clock.id, max(today, clock.started_on))


def _grant(uow: UnitOfWork, req: SharingRequest) -> SharingGrant:
    grant = SharingGrant(
        request_id=req.id,
        consumer_org_id=req.consumer_org_id,
        provider_org_id=req.provider_org_id,
        resource_id=req.resource_id,
        items=list(req.items),
        purpose=req.purpose,
        valid_from=req.valid_from,
        valid_until=req.valid_until,
        status="active",
        granted_at=utcnow(),
    )
    uow.session.add(grant)
    uow.session.flush()
    uow.record(
        "sharing:grant:create",
        f"grant:{grant.id}",
        {"request": req.id, "items": grant.items, "valid_until": grant.valid_until.isoformat()},
    )
    return grant

"""Enqueueing messages in the caller's transaction, and delivering them later.

`enqueue` adds a row in the caller's unit of work and commits nothing: a message exists exactly when its
cause committed. The periodic task `notify.deliver` (jobs.py) calls `deliver_due`, which claims due messages
in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL), sends each with no transaction open (an HTTP
call must not hold SQLite's write lock), then records the outcome fenced on the claim's token: delivered,
retried after a doubling backoff, or dead-lettered after ZHICHENG_NOTIFY_MAX_ATTEMPTS attempts or a
permanent error. A worker that dies mid-send leaves the claim to expire; the message is then sent again, so
delivery is at least once (webhook receivers deduplicate on the X-Zhicheng-Notification header).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from zhicheng.core.auth.models import User
from zhicheng.core.db import Database, UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid, NotFound
from zhicheng.core.notify import queries, templates
from zhicheng.core.notify.models import Notification
from zhicheng.core.notify.senders import CHANNELS, Outgoing, Result, Sender, for_channels
from zhicheng.core.orgs.models import Party

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^1\d{10}$")
LEASE = dt.timedelta(minutes=5)  # a claimed message not finished by then is claimed again
BACKOFF_CAP = 3600  # seconds
CLAIM_BATCH = 20
TICK_BUDGET = 20.0  # seconds one run of notify.deliver may spend before yielding the worker
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_SECONDS = 30


# --- what modules call, inside their own transaction -------------------------------------------------
def enqueue(
    uow: UnitOfWork,
    *,
    channel: str,
    template: str,
    data: dict[str, Any] | None = None,
    recipient_party_id: int | None = None,
    recipient_user_id: int | None = None,
    user_id: int | None = None,
    address: str | None = None,
    dedupe_key: str | None = None,
    source: str | None = None,
    due_at: dt.datetime | None = None,
) -> int:
    """Add a message for a party (citizen or enterprise) and/or a user; returns its id.

    `user_id` is another name for `recipient_user_id`. `address`: the e-mail address (required for
    email), the webhook URL (required for webhook), the phone (SMS; defaults to the party's phone).
    A `dedupe_key` already used returns that message instead of adding another.
    """
    s = uow.session
    data = dict(data or {})
    recipient_user_id = recipient_user_id or user_id
    if recipient_party_id is None and recipient_user_id is None:
        raise Invalid("通知须指定接收人（当事人或用户）", "a notification needs a recipient (party or user)")
    if channel not in CHANNELS:
        raise Invalid(
            f"通知渠道应为 {'、'.join(CHANNELS)} 之一", f"channel must be one of {', '.join(CHANNELS)}"
        )
    if dedupe_key is not None and not 1 <= len(dedupe_key) <= 160:
        raise Invalid("去重键长度应在 1 到 160 之间", "dedupe_key must be 1 to 160 characters")
    if due_at is not None and due_at.tzinfo is None:
        raise Invalid("发送时间必须带时区", "due_at must be timezone-aware")
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise Invalid("通知数据必须可以序列化为 JSON", "notification data must be JSON-serializable") from exc
    title, body = templates.render(template, data)
    phone = _phone(s, recipient_party_id, recipient_user_id)
    address = _address(channel, (address or "").strip() or None, phone)
    values = row(
        channel=channel,
        template=template,
        data=data,
        title=title,
        body=body,
        recipient_party_id=recipient_party_id,
        recipient_user_id=recipient_user_id,
        address=address,
        dedupe_key=dedupe_key,
        source=source,
        due_at=due_at,
    )
    conn = s.connection()  # Core: one statement built once, none of the ORM's bookkeeping
    found = conn.execute(_insert(conn.dialect.name, dedupe_key is not None), values).scalar()
    if found is None:  # the key is taken: that message stands for this one
        found = s.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key))
    return int(found)


def row(
    *,
    channel: str,
    template: str,
    data: dict[str, Any],
    title: str,
    body: str,
    recipient_party_id: int | None = None,
    recipient_user_id: int | None = None,
    address: str | None = None,
    dedupe_key: str | None = None,
    source: str | None = None,
    due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The pending message's row, as enqueue inserts it (and approvals' group commit, many at once, all at
    the time of their commit: `now`)."""
    now = now or utcnow()
    return {
        "recipient_party_id": recipient_party_id,
        "recipient_user_id": recipient_user_id,
        "channel": channel,
        "address": address,
        "template": template,
        "data": data,
        "title": title,
        "body": body,
        "dedupe_key": dedupe_key,
        "source": (source or None) and source[:160],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due_at or now,
        "created_at": now,
    }


@cache
def _insert(dialect: str, dedupe: bool) -> Any:
    """The message's INSERT … RETURNING id, built once per dialect (every step of a case sends one); with a
    dedupe key, ON CONFLICT DO NOTHING on it."""
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(Notification.__table__)
    if dedupe:
        stmt = stmt.on_conflict_do_nothing(index_elements=[Notification.dedupe_key])
    return stmt.returning(Notification.id)


# built once: constructing a statement costs more than running it on SQLite
_USER_PARTY = select(User.party_id).where(User.id == bindparam("id"))
_PARTY_PHONE = select(Party.phone).where(Party.id == bindparam("id"))


def _phone(s: Session, party_id: int | None, user_id: int | None) -> str | None:
    """The phone of the recipient party (the user's own when none is named); NotFound for an unknown user or
    party. Column reads, not objects: every step of a case sends a message, and loading the party cost more
    than the message."""
    if user_id is not None:
        user = s.execute(_USER_PARTY, {"id": user_id}).first()
        if user is None:
            raise NotFound(f"用户 {user_id} 不存在", f"user {user_id} not found")
        party_id = party_id or user.party_id
    if party_id is None:
        return None
    party = s.execute(_PARTY_PHONE, {"id": party_id}).first()
    if party is None:
        raise NotFound(f"当事人 {party_id} 不存在", f"party {party_id} not found")
    return party.phone


def _address(channel: str, address: str | None, party_phone: str | None) -> str | None:
    if channel == "site":
        return None
    if channel == "webhook":
        if not address or not address.startswith(("http://", "https://")) or len(address) > 500:
            raise Invalid("回调通知须给出 http(s) 地址", "a webhook notification needs an http(s) URL")
        return address
    if channel == "email":
        if not address or not EMAIL.match(address) or len(address) > 254:
            raise Invalid("邮件通知须给出有效的邮箱地址", "an e-mail notification needs a valid address")
        return address
    # sms: a phone given, or the party's. A recipient without a phone must not fail the cause; the message
    # is kept and dead-lettered at delivery, where an operator sees it.
    phone = address or party_phone
    if phone is not None and not PHONE.match(phone):
        raise Invalid("短信通知的手机号码无效", "invalid phone number for an SMS notification")
    return phone


# --- the recipient's and the operator's side ---------------------------------------------------------
def mark_read(uow: UnitOfWork, user_id: int, message_id: int) -> Notification:
    """Mark one of the user's site messages read (again: no change). Someone else's is not found."""
    s = uow.session
    msg = s.scalar(
        select(Notification).where(Notification.id == message_id, queries.inbox_filter(s, user_id))
    )
    if msg is None:
        raise NotFound(f"消息 {message_id} 不存在", f"message {message_id} not found")
    if msg.read_at is None:
        msg.read_at = utcnow()
    s.flush()
    return msg


def mark_all_read(uow: UnitOfWork, user_id: int) -> int:
    s = uow.session
    done = s.execute(
        update(Notification)
        .where(queries.inbox_filter(s, user_id), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return done.rowcount or 0


def retry(uow: UnitOfWork, message_id: int) -> Notification:
    """Give a dead-lettered message a fresh set of attempts, due now (an operator's act, audited)."""
    msg = uow.session.get(Notification, message_id)
    if msg is None:
        raise NotFound(f"消息 {message_id} 不存在", f"message {message_id} not found")
    if msg.status != "dead":
        raise Conflict(
            f"只能重发已转入死信的消息（当前状态：{msg.status}）",
            f"only dead-lettered messages can be retried (status: {msg.status})",
        )
    msg.status, msg.attempts, msg.next_attempt_at, msg.dead_at = "pending", 0, utcnow(), None
    msg.lock_token = msg.locked_until = None
    uow.record(
        "notify:message:retry", f"notification:{msg.id}", {"channel": msg.channel, "error": msg.last_error}
    )
    uow.session.flush()
    return msg


# --- the worker's side ---------------------------------------------------------------------------------
def _due(now: dt.datetime) -> Any:
    return or_(
        and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        and_(Notification.status == "sending", Notification.locked_until < now),
    )


def claim(db: Database, now: dt.datetime, limit: int = CLAIM_BATCH) -> list[Outgoing]:
    """Take up to `limit` due messages (oldest due first) under a fresh token, and commit the claim."""
    with db.read() as s:  # an idle outbox is polled without taking any lock
        if s.scalar(select(Notification.id).where(_due(now)).limit(1)) is None:
            return []
    token = uuid.uuid4().hex
    # on SQLite the claim holds the write lock from its start (writer_sessions): two claimers cannot pick the
    # same rows
    with db.writer_sessions() as s, s.begin():
        pg = db.dialect == "postgresql"
        q = select(Notification).where(_due(now)).order_by(Notification.next_attempt_at, Notification.id)
        q = q.limit(limit)
        if pg:
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        if not rows:
            return []
        s.execute(
            update(Notification)
            .where(Notification.id.in_([r.id for r in rows]))
            .values(
                status="sending",
                attempts=Notification.attempts + 1,
                lock_token=token,
                locked_until=now + LEASE,
            )
            .execution_options(synchronize_session=False)
        )
        return [
            Outgoing(
                id=r.id,
                channel=r.channel,
                address=r.address,
                template=r.template,
                data=dict(r.data or {}),
                title=r.title,
                body=r.body,
                recipient_party_id=r.recipient_party_id,
                recipient_user_id=r.recipient_user_id,
                attempt=r.attempts + 1,
                token=token,
            )
            for r in rows
        ]


def backoff(attempt: int, first: float = DEFAULT_RETRY_SECONDS) -> dt.timedelta:
    """How long to wait after failed attempt `attempt` (1-based): first, 2×first, 4×first, … ≤ 1 hour."""
    return dt.timedelta(seconds=min(first * 2 ** (attempt - 1), BACKOFF_CAP))


def finish(
    db: Database, msg: Outgoing, result: Result, now: dt.datetime, max_attempts: int, first_retry: float
) -> str | None:
    """Record a send's outcome; returns delivered, pending (will retry) or dead; None if the claim was
    lost (its lease expired and another worker took the message over)."""
    values: dict[str, Any] = {"lock_token": None, "locked_until": None}
    if result.ok:
        status = "delivered"
        values.update(delivered_at=now, last_error=None, external_id=result.external_id)
    elif result.permanent or msg.attempt >= max_attempts:
        status = "dead"
        values.update(dead_at=now, last_error=(result.error or "failed")[:4000])
    else:
        status = "pending"
        values.update(next_attempt_at=now + backoff(msg.attempt, first_retry), last_error=result.error)
    values["status"] = status
    fence = (
        Notification.id == msg.id,
        Notification.lock_token == msg.token,
        Notification.status == "sending",
    )
    with db.sessions() as s, s.begin():
        hit = s.execute(update(Notification).where(*fence).values(**values)).rowcount
    return status if hit else None


def deliver_due(
    db: Database,
    settings: Any = None,
    *,
    now: dt.datetime | None = None,
    senders: dict[str, Sender] | None = None,
    budget: float = TICK_BUDGET,
) -> dict[str, int]:
    """Send every due message (until none is due or the time budget is spent); counts by outcome."""
    senders = senders if senders is not None else for_channels(settings)
    max_attempts = int(getattr(settings, "notify_max_attempts", DEFAULT_MAX_ATTEMPTS))
    first_retry = float(getattr(settings, "notify_retry_seconds", DEFAULT_RETRY_SECONDS))
    counts = {"delivered": 0, "pending": 0, "dead": 0, "lost": 0}
    started = time.monotonic()
    while time.monotonic() - started < budget:
        at = now or utcnow()
        batch = claim(db, at)
        if not batch:
            break
        for msg in batch:
            sender = senders.get(msg.channel)
            try:
                result = sender.send(msg) if sender else Result(False, f"no sender for {msg.channel}", True)
            except Exception as exc:  # noqa: BLE001 - a sender's bug is this message's failure, not the loop's
                result = Result(False, f"{type(exc).__name__}: {exc}"[:500])
            outcome = finish(db, msg, result, now or utcnow(), max_attempts, first_retry)
            counts[outcome or "lost"] += 1
    return counts

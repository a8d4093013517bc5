"""Reads of the outbox: a user's inbox of site messages, and the operators' view of the outbox."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from zhicheng.core.auth.models import User
from zhicheng.core.notify.models import Notification

STATUSES = ("pending", "sending", "delivered", "dead")


def inbox_filter(s: Session, user_id: int) -> object:
    party_id = s.scalar(select(User.party_id).where(User.id == user_id))
    mine = Notification.recipient_user_id == user_id
    if party_id is not None:  # a citizen's or enterprise's messages reach every login of that party
        mine = or_(mine, Notification.recipient_party_id == party_id)
    return and_(Notification.channel == "site", Notification.status == "delivered", mine)


def inbox(
    s: Session, user_id: int, unread: bool = False, limit: int = 50, before: int | None = None
) -> list[Notification]:
    """The user's delivered site messages, newest first."""
    q = select(Notification).where(inbox_filter(s, user_id)).order_by(Notification.id.desc())
    if unread:
        q = q.where(Notification.read_at.is_(None))
    if before is not None:
        q = q.where(Notification.id < before)
    return list(s.scalars(q.limit(limit)))


def unread_count(s: Session, user_id: int) -> int:
    q = select(func.count()).select_from(Notification).where(inbox_filter(s, user_id))
    return s.scalar(q.where(Notification.read_at.is_(None))) or 0


def outbox(
    s: Session,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Notification]:
    q = select(Notification).order_by(Notification.id.desc())
    if status:
        q = q.where(Notification.status == status)
    if channel:
        q = q.where(Notification.channel == channel)
    if before is not None:
        q = q.where(Notification.id < before)
    return list(s.scalars(q.limit(limit)))


def counts(s: Session) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    rows = s.execute(select(Notification.status, func.count()).group_by(Notification.status))
    out.update({st: n for st, n in rows})
    return out

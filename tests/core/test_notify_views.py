"""The console's inbox page: the signed-in person's delivered site messages, newest first, unread marked,
marking one or all read; another person's message stays theirs; the outsider is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from zhicheng.core.auth.models import User
from zhicheng.core.db import Actor, unit_of_work, utcnow
from zhicheng.core.notify import services, templates
from zhicheng.core.notify.models import Notification
from zhicheng.core.notify.senders import SiteSender

ME = Actor(kind="cli", name="tester")
NOTE = templates.register("test.console.note", "{title}", "{body}")


def user_id(db, username: str) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def send(db, to: int, title: str, body: str = "正文") -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        services.enqueue(
            uow, channel="site", template=NOTE, data={"title": title, "body": body}, recipient_user_id=to
        )


def deliver(db) -> None:  # noqa: ANN001
    services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders={"site": SiteSender()})


def rows(html: str) -> list[tuple[str, str]]:
    """(unread flag, row html) of each message row, in page order."""
    body = html.split('data-testid="messages"')[1].split("</table>")[0]
    return [(r.split('data-unread="')[1].split('"')[0], r) for r in body.split('class="zc-msg')[1:]]


def test_the_inbox_shows_messages_newest_first_and_marks_them_read(db, as_user) -> None:  # noqa: ANN001
    clerk = user_id(db, "clerk")
    send(db, clerk, "第一条通知", "您的申请已受理")
    send(db, clerk, "第二条通知")
    send(db, user_id(db, "auditor"), "别人的通知")
    c = as_user("clerk")
    assert "第一条通知" not in c.get("/notifications").text  # not delivered yet: not in the inbox
    deliver(db)
    r = c.get("/notifications")
    assert r.status_code == 200
    got = rows(r.text)
    assert [("第二条通知" in h, flag) for flag, h in got] == [(True, "true"), (False, "true")]
    assert "您的申请已受理" in got[1][1] and "别人的通知" not in r.text
    assert 'data-testid="unread-count">2' in r.text
    assert 'href="/notifications"' in r.text  # the nav entry
    with db.read() as s:
        first, second = s.scalars(
            select(Notification.id).where(Notification.recipient_user_id == clerk).order_by(Notification.id)
        ).all()
        theirs = s.scalar(select(Notification.id).where(Notification.recipient_user_id != clerk))
    done = c.form(f"/notifications/{first}/read", {})
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    page = c.get("/notifications").text
    assert [flag for flag, _ in rows(page)] == ["true", "false"] and "已标为已读" in page
    unread = rows(c.get("/notifications", params={"unread": "true"}).text)
    assert len(unread) == 1 and "第二条通知" in unread[0][1]
    # another person's message is not found, and stays unread
    assert c.form(f"/notifications/{theirs}/read", {}).status_code == 404
    with db.read() as s:
        assert s.get(Notification, theirs).read_at is None
    assert c.form("/notifications/read-all", {}).status_code == 303
    page = c.get("/notifications").text
    assert [flag for flag, _ in rows(page)] == ["false", "false"] and 'data-testid="unread-count"' not in page
    with db.read() as s:
        assert s.get(Notification, second).read_at is not None


def test_the_inbox_refuses_the_outsider_and_forged_posts(db, as_user) -> None:  # noqa: ANN001
    outsider = as_user("outsider")
    assert outsider.get("/notifications").status_code == 403
    assert outsider.form("/notifications/read-all", {}).status_code == 403
    c = as_user("clerk")
    no_csrf = c.http.post("/notifications/read-all", follow_redirects=False)
    assert no_csrf.status_code == 403

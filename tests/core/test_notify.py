"""The notification outbox: messages exist exactly when their cause commits, are delivered by the worker
through pluggable senders with retries and dead letters, and reach their recipient's inbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from sqlalchemy import func, select

from tests import personas
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work, utcnow
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.jobs.registry import REGISTRY
from zhicheng.core.jobs.worker import Worker
from zhicheng.core.notify import services, templates
from zhicheng.core.notify.models import Notification
from zhicheng.core.notify.senders import LogSender, Outgoing, Result, SiteSender, WebhookSender
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.realname import DemoVerifier
from zhicheng.core.orgs.schemas import PartyIn

ME = Actor(kind="cli", name="tester")
URL = "/api/v1/notifications"
HOOK = "https://hooks.example/zhicheng?key=receiver-secret"
templates.register("test.case.accepted", "申请已受理", "您申请的{item}已受理，受理编号 {case_ref}。")


@pytest.fixture
def people(db: Database) -> dict:
    """A citizen (a party with a phone) who logs in, and a second person with a login of their own."""
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        party = orgs.register_party(
            uow,
            PartyIn(kind="citizen", id_number="320102199003071239", name="张三", phone="13812345678"),
            DemoVerifier(),
        )
        citizen = auth.create_user(
            uow,
            UserIn(username="zhangsan", display_name="张三", password=personas.PASSWORD, party_id=party.id),
        )
        # a console login needs a role; the citizen portal's own role comes with the approvals module
        auth.grant_role(uow, citizen.id, GrantIn(role="clerk", org_id=w.other_district))
        other = auth.create_user(
            uow, UserIn(username="lisi", display_name="李四", password=personas.PASSWORD, org_id=w.market)
        )
        auth.grant_role(uow, other.id, GrantIn(role="clerk", org_id=w.market))
    return {"party": party.id, "citizen": citizen.id, "other": other.id}


def enqueue(db: Database, **kw) -> int:  # noqa: ANN003
    kw.setdefault("template", "test.case.accepted")
    kw.setdefault("data", {"item": "食品经营许可", "case_ref": "SL-2026-000123"})
    with unit_of_work(db, ME) as uow:
        return services.enqueue(uow, **kw)


def row(db: Database, message_id: int) -> Notification:
    with db.read() as s:
        return s.get(Notification, message_id)


def count(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Notification))


class Recording:
    """A sender that answers from a script and remembers what it was given."""

    def __init__(self, *answers: Result) -> None:
        self.answers, self.sent = list(answers), []

    def send(self, msg: Outgoing) -> Result:
        self.sent.append(msg)
        return self.answers.pop(0) if self.answers else Result(True)


def senders(**over) -> dict:  # noqa: ANN003
    return {"site": SiteSender(), "sms": Recording(), "email": Recording(), "webhook": Recording(), **over}


# --- enqueueing in the cause's transaction ----------------------------------------------------------------
def test_a_message_exists_exactly_when_its_cause_commits(db, people) -> None:  # noqa: ANN001
    before = count(db)
    with pytest.raises(RuntimeError), unit_of_work(db, ME) as uow:
        services.enqueue(
            uow, channel="site", template="test.case.accepted", recipient_party_id=people["party"],
            data={"item": "食品经营许可", "case_ref": "SL-1"},
        )  # fmt: skip
        raise RuntimeError("the cause fails after enqueueing")
    assert count(db) == before
    msg_id = enqueue(db, channel="site", recipient_party_id=people["party"])
    msg = row(db, msg_id)
    assert (msg.status, msg.attempts, msg.channel) == ("pending", 0, "site")
    assert msg.title == "申请已受理"
    assert msg.body == "您申请的食品经营许可已受理，受理编号 SL-2026-000123。"
    assert msg.data == {"item": "食品经营许可", "case_ref": "SL-2026-000123"}


def test_a_dedupe_key_makes_one_message(db, people) -> None:  # noqa: ANN001
    first = enqueue(db, channel="site", recipient_party_id=people["party"], dedupe_key="case:1:accepted")
    again = enqueue(db, channel="site", recipient_party_id=people["party"], dedupe_key="case:1:accepted")
    assert first == again
    with db.read() as s:
        n = s.scalar(select(func.count()).where(Notification.dedupe_key == "case:1:accepted"))
    assert n == 1


def test_sms_goes_to_the_partys_phone_and_a_user_reaches_their_party(db, people) -> None:  # noqa: ANN001
    assert row(db, enqueue(db, channel="sms", recipient_party_id=people["party"])).address == "13812345678"
    by_user = row(db, enqueue(db, channel="sms", user_id=people["citizen"]))
    assert (by_user.recipient_user_id, by_user.address) == (people["citizen"], "13812345678")
    # nobody's phone: kept, and dead-lettered at delivery where an operator sees it
    nophone = enqueue(db, channel="sms", recipient_user_id=people["other"])
    assert row(db, nophone).address is None
    services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders=senders(sms=LogSender("sms")))
    dead = row(db, nophone)
    assert dead.status == "dead" and "no address" in dead.last_error


@pytest.mark.parametrize(
    "kw,fragment",
    [
        ({"channel": "site"}, "recipient"),
        ({"channel": "fax", "recipient_party_id": -1}, "channel"),
        ({"channel": "site", "recipient_party_id": -1, "template": "nope.never"}, "unknown notification"),
        ({"channel": "site", "recipient_party_id": -1, "data": {"item": "x"}}, "case_ref"),
        ({"channel": "webhook", "recipient_party_id": -1, "address": "ftp://x"}, "http(s) URL"),
        ({"channel": "email", "recipient_party_id": -1, "address": "not-an-address"}, "e-mail"),
        ({"channel": "sms", "recipient_party_id": -1, "address": "12345"}, "phone"),
        ({"channel": "site", "recipient_party_id": -1, "data": {"item": "x", "case_ref": {1}}}, "JSON"),
    ],
)
def test_bad_messages_are_refused_in_the_cause(db, people, kw, fragment) -> None:  # noqa: ANN001
    if kw.get("recipient_party_id") == -1:
        kw["recipient_party_id"] = people["party"]
    with pytest.raises(Invalid) as err:
        enqueue(db, **kw)
    assert fragment in err.value.detail_en


def test_an_unknown_recipient_is_not_found(db) -> None:  # noqa: ANN001
    with pytest.raises(NotFound):
        enqueue(db, channel="site", recipient_party_id=999_999)


def test_a_template_cannot_be_registered_twice_with_other_words() -> None:
    templates.register("test.case.accepted", "申请已受理", "您申请的{item}已受理，受理编号 {case_ref}。")
    with pytest.raises(ValueError):
        templates.register("test.case.accepted", "别的标题", "{item}")


# --- delivering -------------------------------------------------------------------------------------------
def test_site_messages_are_delivered_and_shown_in_the_inbox(db, people, as_user) -> None:  # noqa: ANN001
    msg_id = enqueue(db, channel="site", recipient_party_id=people["party"], source="approvals:case:1")
    c = as_user("zhangsan")
    assert c.get(URL).json()["items"] == []  # not delivered yet
    counts = services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders=senders())
    assert counts["delivered"] >= 1
    assert row(db, msg_id).status == "delivered"
    inbox = c.get(URL).json()
    assert [m["id"] for m in inbox["items"]] == [msg_id]
    assert inbox["unread"] == 1 and inbox["items"][0]["body"].startswith("您申请的食品经营许可")
    assert c.send("POST", f"{URL}/{msg_id}/read").json()["read_at"] is not None
    assert c.get(URL).json()["unread"] == 0
    assert c.get(URL, params={"unread": "true"}).json()["items"] == []
    # someone else's message is not found, not forbidden: its existence is not told
    other = as_user("lisi")
    assert other.get(URL).json()["items"] == []
    assert other.send("POST", f"{URL}/{msg_id}/read").status_code == 404


def test_read_all_and_paging(db, people, as_user) -> None:  # noqa: ANN001
    ids = [enqueue(db, channel="site", recipient_user_id=people["citizen"]) for _ in range(3)]
    services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders=senders())
    c = as_user("zhangsan")
    first = c.get(URL, params={"limit": 2}).json()
    assert [m["id"] for m in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    rest = c.get(URL, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["id"] for m in rest["items"]] == ids[:1]
    assert c.send("POST", f"{URL}/read-all").json() == {"marked": 3}
    assert c.get(URL).json()["unread"] == 0


def test_the_inbox_is_for_people_not_systems(as_system, as_user) -> None:  # noqa: ANN001
    assert as_system.get(URL).status_code == 403
    assert as_user("outsider").get(URL).status_code == 403


def test_webhooks_retry_with_backoff_then_deliver(db, people) -> None:  # noqa: ANN001
    seen: list[httpx.Request] = []
    answers = [500, 429, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0), text="busy")

    hook = WebhookSender(secret="hook-secret", client=httpx.Client(transport=httpx.MockTransport(handler)))
    msg_id = enqueue(db, channel="webhook", recipient_party_id=people["party"], address=HOOK)
    t0 = utcnow() + dt.timedelta(seconds=1)
    assert services.deliver_due(db, now=t0, senders=senders(webhook=hook))["pending"] == 1
    failed = row(db, msg_id)
    assert (failed.status, failed.attempts) == ("pending", 1) and failed.last_error.startswith("HTTP 500")
    assert failed.next_attempt_at == t0 + dt.timedelta(seconds=30)
    # not due yet: nothing is sent
    services.deliver_due(db, now=t0 + dt.timedelta(seconds=29), senders=senders(webhook=hook))
    assert len(seen) == 1
    services.deliver_due(db, now=t0 + dt.timedelta(seconds=31), senders=senders(webhook=hook))
    assert row(db, msg_id).next_attempt_at == t0 + dt.timedelta(seconds=31 + 60)  # doubled
    services.deliver_due(db, now=t0 + dt.timedelta(seconds=200), senders=senders(webhook=hook))
    done = row(db, msg_id)
    assert (done.status, done.attempts, done.last_error) == ("delivered", 3, None)
    last = seen[-1]
    assert last.headers["x-zhicheng-notification"] == str(msg_id)
    algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    expected = hmac.new(b"hook-secret", last.content, algo).hexdigest()
    assert last.headers["x-zhicheng-signature"] == f"hmac-{algo}={expected}"
    body = json.loads(last.content)
    assert body["id"] == msg_id and body["template"] == "test.case.accepted" and body["attempt"] == 3


def test_a_permanent_error_dead_letters_at_once_and_an_operator_retries(  # noqa: ANN201
    db, people, as_user
) -> None:  # noqa: ANN001
    hook = WebhookSender(
        client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(404, text="gone")))
    )
    msg_id = enqueue(db, channel="webhook", recipient_party_id=people["party"], address=HOOK)
    services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders=senders(webhook=hook))
    dead = row(db, msg_id)
    assert (dead.status, dead.attempts) == ("dead", 1) and "HTTP 404" in dead.last_error
    auditor = as_user("auditor")  # jobs.read: sees the outbox, with the receiver's key cut off
    listed = auditor.get(f"{URL}/outbox", params={"status": "dead"}).json()["items"]
    assert listed[0]["id"] == msg_id and listed[0]["address"] == "https://hooks.example/zhicheng"
    assert auditor.send("POST", f"{URL}/{msg_id}/retry").status_code == 403
    assert as_user("clerk").get(f"{URL}/outbox").status_code == 403
    admin = as_user("admin")
    assert admin.send("POST", f"{URL}/{msg_id}/retry").json()["status"] == "pending"
    assert admin.send("POST", f"{URL}/{msg_id}/retry").status_code == 409
    with db.read() as s:
        assert s.scalar(select(AuditRecord).where(AuditRecord.tag == "notify:message:retry")) is not None


def test_attempts_run_out_into_the_dead_letters(db, people) -> None:  # noqa: ANN001
    class Settings:
        notify_max_attempts = 3
        notify_retry_seconds = 1

    failing = Recording(*[Result(False, "gateway down")] * 5)
    msg_id = enqueue(db, channel="sms", recipient_party_id=people["party"])
    at = utcnow() + dt.timedelta(seconds=1)
    for step in range(3):
        services.deliver_due(db, Settings(), now=at + dt.timedelta(hours=step), senders=senders(sms=failing))
    dead = row(db, msg_id)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "gateway down")
    assert len(failing.sent) == 3


def test_a_sender_that_raises_is_a_failed_attempt_not_a_broken_loop(db, people) -> None:  # noqa: ANN001
    class Broken:
        def send(self, msg: Outgoing) -> Result:
            raise RuntimeError("driver bug")

    bad = enqueue(db, channel="email", recipient_party_id=people["party"], address="zs@example.cn")
    good = enqueue(db, channel="site", recipient_party_id=people["party"])
    services.deliver_due(db, now=utcnow() + dt.timedelta(seconds=1), senders=senders(email=Broken()))
    assert row(db, bad).status == "pending" and "driver bug" in row(db, bad).last_error
    assert row(db, good).status == "delivered"


def test_the_log_sender_masks_addresses(db, people, caplog) -> None:  # noqa: ANN001
    msg_id = enqueue(db, channel="sms", recipient_party_id=people["party"])
    with caplog.at_level(logging.INFO, logger="zhicheng.notify"):
        services.deliver_due(
            db, now=utcnow() + dt.timedelta(seconds=1), senders=senders(sms=LogSender("sms"))
        )
    assert row(db, msg_id).external_id == f"log-{msg_id}"
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text


def test_a_real_webhook_receiver_gets_the_post(db, people) -> None:  # noqa: ANN001
    got: list[tuple[dict, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((dict(self.headers), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        msg_id = enqueue(db, channel="webhook", recipient_party_id=people["party"], address=url)
        services.deliver_due(
            db, now=utcnow() + dt.timedelta(seconds=1), senders=senders(webhook=WebhookSender(timeout=5))
        )
    finally:
        server.shutdown()
        thread.join()
    assert row(db, msg_id).status == "delivered"
    headers, body = got[0]
    assert {k.lower(): v for k, v in headers.items()}["x-zhicheng-notification"] == str(msg_id)
    assert body["title"] == "申请已受理" and body["recipient"]["party_id"] == people["party"]


def test_the_worker_delivers_through_the_periodic_task(db, settings, people) -> None:  # noqa: ANN001
    import zhicheng.core.notify.jobs  # noqa: F401 - registers notify.deliver

    msg_id = enqueue(db, channel="site", recipient_party_id=people["party"])
    worker = Worker(db, settings, worker_id="notify-test", registry=REGISTRY.only(["notify.deliver"]))
    worker.run_once()
    assert row(db, msg_id).status == "delivered"

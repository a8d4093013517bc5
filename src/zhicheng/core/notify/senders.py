"""How a message leaves the platform: one sender per channel, chosen by name in the settings.

A sender gets an `Outgoing` message and answers a `Result`: delivered, a failure worth retrying, or a
permanent failure (dead-lettered at once). Built in: `site` (the inbox is the outbox table itself),
`webhook` (HTTP POST with httpx) and `log` (writes one line to the log, for SMS and e-mail in the demo).
A real gateway plugs in by registering a factory under a name in a module the worker imports
(ZHICHENG_JOB_MODULES) and naming it in ZHICHENG_NOTIFY_SMS_SENDER or ZHICHENG_NOTIFY_EMAIL_SENDER:

    from zhicheng.core.notify import senders

    class AliyunSms:
        def send(self, msg: senders.Outgoing) -> senders.Result: ...

    senders.register("aliyun", lambda settings: AliyunSms(...))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

log = logging.getLogger("zhicheng.notify")
CHANNELS = ("sms", "email", "site", "webhook")
DEFAULT_SENDER = {"sms": "log", "email": "log", "site": "site", "webhook": "webhook"}
RETRY_STATUSES = {408, 425, 429}  # and every 5xx: the receiver may recover


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    address: str | None
    template: str
    data: dict[str, Any]
    title: str
    body: str
    recipient_party_id: int | None
    recipient_user_id: int | None
    attempt: int  # 1 on the first try
    token: str = field(repr=False, default="")


@dataclass(frozen=True)
class Result:
    ok: bool
    error: str | None = None
    permanent: bool = False  # no point in retrying: dead-letter now
    external_id: str | None = None


class Sender(Protocol):
    def send(self, msg: Outgoing) -> Result: ...


class SiteSender:
    """The site inbox reads the outbox table: delivering is marking the message delivered."""

    def send(self, msg: Outgoing) -> Result:
        return Result(True)


def mask_address(address: str | None) -> str:
    if not address:
        return "-"
    if "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"{address[:3]}****{address[-4:]}" if len(address) >= 7 else "****"


class LogSender:
    """The demo's SMS and e-mail gateway: one log line (address masked), always delivered."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, msg: Outgoing) -> Result:
        if not msg.address:
            return Result(False, "收件人没有可用的地址 / the recipient has no address on this channel", True)
        log.info("%s to %s: %s — %s", self.channel, mask_address(msg.address), msg.title, msg.body)
        return Result(True, external_id=f"log-{msg.id}")


class WebhookSender:
    """POSTs the message as JSON. 2xx is delivered; 408, 425, 429, 5xx and network errors are retried;
    any other status is permanent. Headers name the message (receivers deduplicate on it: delivery is at
    least once) and, with a secret set, sign the body with HMAC-SM3."""

    def __init__(self, timeout: float = 10.0, secret: str = "", client: httpx.Client | None = None) -> None:
        self.timeout, self.secret, self.client = timeout, secret, client

    def body(self, msg: Outgoing) -> bytes:
        doc = {
            "id": msg.id,
            "template": msg.template,
            "title": msg.title,
            "body": msg.body,
            "data": msg.data,
            "recipient": {"party_id": msg.recipient_party_id, "user_id": msg.recipient_user_id},
            "attempt": msg.attempt,
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def signature(self, body: bytes) -> str:
        algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
        return f"hmac-{algo}=" + hmac.new(self.secret.encode(), body, algo).hexdigest()

    def send(self, msg: Outgoing) -> Result:
        if not msg.address:
            return Result(False, "缺少回调地址 / no webhook URL", True)
        body = self.body(msg)
        headers = {"content-type": "application/json", "x-zhicheng-notification": str(msg.id)}
        if self.secret:
            headers["x-zhicheng-signature"] = self.signature(body)
        try:
            if self.client is not None:
                resp = self.client.post(msg.address, content=body, headers=headers, timeout=self.timeout)
            else:
                resp = httpx.post(msg.address, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return Result(False, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= resp.status_code < 300:
            return Result(True, external_id=resp.headers.get("x-request-id"))
        error = f"HTTP {resp.status_code}: {resp.text[:200]}"
        retry = resp.status_code >= 500 or resp.status_code in RETRY_STATUSES
        return Result(False, error, permanent=not retry)


Factory = Callable[[Any], Sender]
FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    FACTORIES[name] = factory


register("site", lambda settings: SiteSender())
register("log", lambda settings: LogSender("message"))
register(
    "webhook",
    lambda settings: WebhookSender(
        float(getattr(settings, "notify_webhook_timeout_seconds", 10.0)),
        str(getattr(settings, "notify_webhook_secret", "") or ""),
    ),
)


def for_channels(settings: Any) -> dict[str, Sender]:
    """The sender of each channel, as the settings name them (ZHICHENG_NOTIFY_<CHANNEL>_SENDER)."""
    out: dict[str, Sender] = {}
    for channel in CHANNELS:
        name = getattr(settings, f"notify_{channel}_sender", None) or DEFAULT_SENDER[channel]
        if name not in FACTORIES:
            raise ValueError(
                f"unknown notification sender {name!r} for {channel}; known: {sorted(FACTORIES)}"
            )
        sender = FACTORIES[name](settings)
        if isinstance(sender, LogSender):
            sender.channel = channel
        out[channel] = sender
    return out

"""The fast lane of single-event intake: `POST /api/v1/cityops/reports` with a bearer token.

Sensors, drones, video AI and the 12345 system post one report per request, many at once; FastAPI's
routing, dependency solving and response model, and a transaction of its own per report, cost most of
such a request. This ASGI middleware answers exactly that request shape itself, with the route's rules:
the token must verify and hold cityops.intake (any channel, which must be named) or cityops.report (the app
channel only); the body is the route's ReportIn; an Idempotency-Key of 8 to 80 characters replays the first
answer. The report then joins the process's group commit (cityops.batch) and is answered, 201 opened or
200 merged / replayed, only after the transaction holding it has committed. Errors are the same
problem+json (web.errors.problem).

Anything else goes on to the app, where the declared route answers it the usual way: no bearer token
(console sessions with their CSRF check), a token that does not verify or lacks both permissions (the guard
and the route answer 401 / 403), a body that is not valid JSON for ReportIn, a content type other than JSON
or a malformed Idempotency-Key (FastAPI's 422 with its list of errors; the body read here is handed on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from zhicheng.cityops import batch, intake
from zhicheng.cityops.permissions import INTAKE, REPORT
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core import cache
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import ApiToken
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, utcnow
from zhicheng.core.errors import Conflict, DomainError, Forbidden, Invalid, Unauthenticated

PATH = "/api/v1/cityops/reports"


class IntakeLane:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        token = _bearer(headers.get(b"authorization"))
        key = headers.get(b"idempotency-key")
        if (
            token is None
            or not _json(headers.get(b"content-type"))
            or (key is not None and not 8 <= len(key.decode("latin-1")) <= 80)
        ):
            return await self.app(scope, receive, send)
        state = scope["app"].state
        db = state.db
        client = scope.get("client")
        ip = client[0] if client else None
        found = _caller(db, token, ip)
        if found is None or not (found[0].can(INTAKE) or found[0].can(REPORT)):
            return await self.app(scope, receive, send)  # the guard or the route answers 401 / 403
        me, generation = found
        body = await _body(receive)
        if body is None:
            return  # the client went away
        try:
            data = ReportIn.model_validate_json(body)
        except (ValidationError, ValueError):
            return await self.app(scope, _replay(body, receive), send)  # FastAPI's 422, word for word
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        asked = query.get("channel")
        try:
            channel = _channel(me, asked)
            item = batch.prepare(
                me.actor,
                data,
                channel=channel,
                rules=intake.Rules.of(state.settings),
                idempotency_key=key.decode("latin-1") if key is not None else None,
            )
            item.recheck = _recheck(db, token, ip, generation, asked, item)
            try:
                out = await batch.submit_async(db, item)
            except IntegrityError as exc:  # as web.errors answers it: two writers raced for a unique key
                raise Conflict(
                    "数据已被同时修改，请刷新后重试",
                    "the data was changed at the same time; reload and try again",
                ) from exc
        except DomainError as exc:
            from zhicheng.web.errors import problem

            response = problem(Request(scope), exc.status, exc.code, exc.detail_zh, exc.detail_en, exc.extra)
            return await response(scope, receive, send)
        payload = orjson.dumps(out.shown())
        await send(
            {
                "type": "http.response.start",
                "status": 200 if out.merged or out.replayed else 201,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _channel(me: Principal, asked: str | None) -> str:
    """The route's rule: intake names its channel; a citizen reports through the app."""
    if me.can(INTAKE):
        if asked is None:
            raise Invalid("请注明上报渠道 channel", "name the channel")
        return asked
    if me.can(REPORT):
        if asked not in (None, "app"):
            raise Forbidden("市民只能通过 App 渠道上报", "citizens report through the app channel")
        return "app"
    raise Forbidden("无权上报城市管理问题", "no permission to report")


# Callers verified by this lane: (db url, SHA-256 of the token) → (the "auth" generation they were verified
# under, the token's expiry, the caller). A hit skips the per-request read of the generations: the batch
# compares the generation with the one its transaction reads (Item.recheck) and verifies the token again
# when they differ, so a revoked token or a changed role is refused by the very next commit, as on the
# route. Expiry is checked on every request.
_seen: dict[tuple[str, bytes], tuple[int, dt.datetime, Principal]] = {}
MAX_SEEN = 10_000


def _caller(db: Database, token: str, ip: str | None) -> tuple[Principal, int] | None:
    k = (db.url, hashlib.sha256(token.encode()).digest())
    hit = _seen.get(k)
    if hit is not None and hit[1] > utcnow():
        return replace(hit[2], actor=replace(hit[2].actor, ip=ip)), hit[0]
    _seen.pop(k, None)
    with db.connect() as conn:  # read before the verification: a change in between only costs a recheck
        generation = cache.generations(conn).get("auth", 0)
    me = auth.principal_for_token(db, token, ip)
    if me is None:
        return None
    with db.connect() as conn:
        expires = conn.scalar(select(ApiToken.expires_at).where(ApiToken.id == me.actor.token_id))
    if expires is None:
        return None
    if len(_seen) >= MAX_SEEN:
        _seen.clear()
    _seen[k] = (generation, expires, me)
    return me, generation


def _recheck(
    db: Database, token: str, ip: str | None, generation: int, asked: str | None, item: batch.Item
) -> Any:
    def check(gens: dict[str, int]) -> DomainError | None:
        if gens.get("auth", 0) == generation:
            return None
        _seen.pop((db.url, hashlib.sha256(token.encode()).digest()), None)
        found = _caller(db, token, ip)
        if found is None:
            return Unauthenticated("令牌无效、已过期或已吊销", "token is invalid, expired or revoked")
        try:
            if _channel(found[0], asked) != item.channel:
                raise Forbidden("无权上报城市管理问题", "no permission to report")
        except DomainError as exc:
            return exc
        item.actor = found[0].actor
        return None

    return check


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"content-type", b"idempotency-key"):
            out.setdefault(name, value)
    return out


def _bearer(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = value.decode("latin-1")
    return text[7:].strip() if text[:7].lower() == "bearer " else None


def _json(value: bytes | None) -> bool:
    return value is not None and value.split(b";")[0].strip().lower() == b"application/json"


async def _body(receive: Any) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again

"""Open311 GeoReport v2 at /open311/v2 (JSON and XML, by the resource's extension): discovery, services,
service definitions, POST a request (form-encoded as the spec says, or JSON; multipart may add a `media`
photo) and GET requests. Every route is public, as the standard has it: GET answers show no personal data;
a POST needs `api_key`, one of our API tokens whose roles carry cityops.intake (role `cityops_channel`),
or the same token as a Bearer header. Every service is `realtime`: a POST answers its service_request_id at
once, and also a `token` (open311.token) that `GET /tokens/{token}` turns into the service_request_id, for
clients written for servers that answer a token first. Errors, from anywhere under /open311/, come in the
Open311 format of the client's extension (web/errors.FORMATS), never as problem+json."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from zhicheng.cityops import intake, open311, photos
from zhicheng.cityops.models import Category
from zhicheng.cityops.permissions import INTAKE
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, unit_of_work, utcnow
from zhicheng.core.errors import Forbidden, Invalid
from zhicheng.settings import Settings
from zhicheng.web import errors
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import public

router = APIRouter(prefix="/open311/v2", tags=["open311"])
errors.FORMATS["/open311/"] = open311.error_response
REQUESTS = {"service_requests": "request"}
MAX_BODY = 64 * 1024  # the largest form or JSON body without a photo (4,000 characters of text and more)


@router.get("/discovery.{format}")
@public
def discovery(format: str, request: Request, s: Reader) -> Response:
    """The service discovery document: where the GeoReport v2 endpoint is and which formats it speaks."""
    fmt = open311.check_format(format)
    changed = s.scalar(select(func.max(Category.updated_at)))
    doc = open311.discovery(str(request.base_url), changed or utcnow())
    return open311.answer(fmt, doc, "discovery", None, {"endpoints": "endpoint", "formats": "format"})


@router.get("/services.{format}")
@public
def services(format: str, s: Reader) -> Response:
    """Our active 部件/事件 categories as services (service_code = the category key, group = 大类)."""
    fmt = open311.check_format(format)
    return open311.answer(fmt, open311.services(s), "services", "service")


@router.get("/services/{service_code}.{format}")
@public
def service_definition(service_code: str, format: str, s: Reader) -> Response:
    fmt = open311.check_format(format)
    body = open311.definition(s, service_code)
    return open311.answer(
        fmt, body, "service_definition", None, {"attributes": "attribute", "values": "value"}
    )


async def _fields(request: Request) -> tuple[dict[str, Any], UploadFile | None]:
    """The POST's parameters: a form (urlencoded or multipart, the first value of each name) or a JSON
    object; `attribute[code]` pairs are taken and ignored (no service asks for any)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise Invalid("请求内容过大", "the request body is too large")
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Invalid("请求体不是有效的 JSON", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Invalid("JSON 请求体应为对象", "the JSON body must be an object")
        return data, None
    if kind == "multipart/form-data":
        items = (await request.form()).multi_items()
    else:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise Invalid("请求内容过大", "the request body is too large")
        if kind != "application/x-www-form-urlencoded" and raw.strip():
            raise Invalid(
                "请求参数应以表单（application/x-www-form-urlencoded 或 multipart/form-data）或 JSON 提交",
                "send the parameters form-encoded (application/x-www-form-urlencoded or multipart/form-data)"
                " or as JSON",
            )
        items = _urlencoded(raw)
    fields: dict[str, Any] = {}
    media: UploadFile | None = None
    for name, value in items:
        if isinstance(value, UploadFile):
            if name == "media" and media is None:
                media = value
            continue
        fields.setdefault(name, value)
    return fields, media


def _urlencoded(raw: bytes) -> list[tuple[str, str]]:
    """A form body's pairs, read as UTF-8: percent-encoded (as browsers send) or raw (as `curl -d` sends a
    Chinese description). Starlette's form parser reads raw bytes as Latin-1, which garbles the latter."""
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise Invalid("表单内容应为 UTF-8 编码", "the form must be UTF-8 encoded") from None


def _caller(db: Database, me: Principal, key: Any, ip: str | None) -> Principal:
    """The api_key's token (else a Bearer token; never a console session, which the guard would not
    CSRF-check here), holding cityops.intake."""
    if key is not None and not isinstance(key, str):
        raise Forbidden("api_key 无效", "invalid api_key")
    if key and key.strip():
        found = auth.principal_for_token(db, key.strip(), ip)
        if found is None:
            raise Forbidden("api_key 无效、已过期或已吊销", "api_key is invalid, expired or revoked")
    elif me.authenticated and not me.csrf:
        found = me
    else:
        raise Forbidden("缺少 api_key", "api_key is required to submit a request")
    if not found.can(INTAKE):
        raise Forbidden("该 api_key 无权上报城市管理问题", "this api_key may not submit requests")
    return found


def _post(
    fmt: str,
    fields: dict[str, Any],
    media: UploadFile | None,
    db: Database,
    conf: Settings,
    me: Principal,
    ip: str | None,
    lang: str,
    idempotency_key: str | None,
) -> Response:
    caller = _caller(db, me, fields.get("api_key"), ip)
    body, media_url = open311.parse(fields)
    with unit_of_work(db, caller.actor) as uow:
        out = open311.submit(uow, body, media_url, intake.Rules.of(conf), idempotency_key)
        if media is not None and not out.replayed:
            max_bytes = int(conf.cityops_photo_max_mb * 1024 * 1024)
            photos.add(uow, out.case_id, "report", media.file, media.filename or "", max_bytes)
    answer = [
        {
            "service_request_id": out.number,
            "token": open311.token(db.secret, out.reporter_id),
            "service_notice": open311.notice(out, lang),
            "account_id": None,
        }
    ]
    return open311.answer(fmt, answer, "service_requests", "request")


@router.post("/requests.{format}")
@public
async def create_request(
    format: str,
    request: Request,
    db: DB,
    conf: Conf,
    me: Me,
    idempotency_key: str | None = Header(
        None, min_length=8, max_length=80, description="a retry: same answer"
    ),
) -> Response:
    """One report (Open311 POST Service Request): service_code, lat and long (WGS-84; the `crs` extension
    names another system), description, address_string, media_url, the reporter's fields; api_key. 200
    with the case's service_request_id and the report's token; a duplicate answers the open case it
    joined."""
    fmt = open311.check_format(format)
    fields, media = await _fields(request)
    ip = request.client.host if request.client else None
    lang = request_lang(request)
    return await run_in_threadpool(_post, fmt, fields, media, db, conf, me, ip, lang, idempotency_key)


def _many(request: Request, name: str) -> list[str]:
    return [p.strip() for v in request.query_params.getlist(name) for p in v.split(",") if p.strip()]


@router.get("/requests.{format}")
@public
def list_requests(format: str, request: Request, s: Reader) -> Response:
    """Service requests, newest first: `service_request_id` (comma-separated; overrides the rest),
    `service_code`, `start_date`, `end_date` (W3C date-times; at most 90 days, default the last 90),
    `status` (open, closed); at most 1000; `crs` (extension) for the coordinates' system."""
    fmt = open311.check_format(format)
    q = request.query_params
    found = open311.requests(
        s,
        ids=_many(request, "service_request_id"),
        codes=_many(request, "service_code"),
        statuses=_many(request, "status"),
        start=open311.parse_when(q.get("start_date"), "start_date"),
        end=open311.parse_when(q.get("end_date"), "end_date"),
        lang=request_lang(request),
        crs=q.get("crs") or None,
    )
    return open311.answer(fmt, found, "service_requests", "request")


@router.get("/requests/{service_request_id}.{format}")
@public
def get_request(service_request_id: str, format: str, request: Request, s: Reader) -> Response:
    fmt = open311.check_format(format)
    found = open311.one(s, service_request_id, request_lang(request), request.query_params.get("crs") or None)
    return open311.answer(fmt, [found], "service_requests", "request")


@router.get("/tokens/{token_id}.{format}")
@public
def get_token(token_id: str, format: str, db: DB, s: Reader) -> Response:
    """GET service_request_id from a token: `[{"service_request_id", "token"}]`; 404 for an unknown token."""
    fmt = open311.check_format(format)
    return open311.answer(fmt, [open311.by_token(s, db.secret, token_id)], "service_requests", "request")

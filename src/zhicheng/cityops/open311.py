"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over city operations: our active 部件/事件
categories are the services (service_code = the category key, e.g. event:0101), cases are the service
requests (service_request_id = the case number, e.g. 20261121-000042), a POST is one report through
`intake.report(channel="open311")`, so a duplicate answers the case it merged into. Each POST also
answers a `token` (its report's, see `token`), which `/tokens/{token}` turns into the service_request_id.

This module maps and formats; open311_api.py holds the routes. Answers are JSON arrays or the spec's XML
(`<services><service>…`, `<service_requests><request>…`, `<errors><error>…`), chosen by the resource's
extension. GET answers carry no personal data: no reporter, phone, e-mail, device or account.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from zhicheng.cityops import intake, vocab
from zhicheng.cityops.categories import key_of, parse_key
from zhicheng.cityops.models import Case, CaseEvent, Category, Reporter
from zhicheng.cityops.schemas import LocationIn, ReporterIn, ReportIn
from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.calendar.clock import ZONE
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.geo import crs as C
from zhicheng.core.orgs.models import Org
from zhicheng.web.i18n import request_lang

SPEC = "http://wiki.open311.org/GeoReport_v2"
MEDIA = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000  # the spec's default volume: 90 days or the first 1000 requests, whichever is smaller
WINDOW = dt.timedelta(days=90)
CLOSED = ("closed", "evaluated", "cancelled")
NUMBER = re.compile(r"^(\d{8})-(\d{1,12})$")
CJK = re.compile(r"[\u3400-\u9fff]")
TOKEN = re.compile(r"^(\d{1,18})-([0-9a-f]{20})$")  # the report's id, then 80 bits of its keyed digest
# the longest value of each field we take (description: the spec's 4,000 characters)
LIMITS = {
    "service_code": 20,
    "address_string": 200,
    "address_id": 80,
    "email": 254,
    "device_id": 80,
    "account_id": 80,
    "first_name": 30,
    "last_name": 30,
    "phone": 20,
    "description": 4000,
    "media_url": 1000,
    "api_key": 200,
    "jurisdiction_id": 200,
    "crs": 40,
    "lat": 40,
    "long": 40,
}


# --- formats and errors -----------------------------------------------------------------------------------
def check_format(fmt: str) -> str:
    fmt = (fmt or "").lower()
    if fmt not in MEDIA:
        raise NotFound(f"不支持的格式：{fmt}（应为 json 或 xml）", f"unknown format: {fmt} (json or xml)")
    return fmt


def format_of(path: str) -> str:
    return "xml" if path.lower().endswith(".xml") else "json"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, data: Mapping[str, Any], lists: Mapping[str, str]) -> None:
    for key, value in data.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, list):
            for item in value:
                leaf = ET.SubElement(child, lists[key])
                if isinstance(item, Mapping):
                    _fill(leaf, item, lists)
                else:
                    leaf.text = _text(item)
        elif isinstance(value, Mapping):
            _fill(child, value, lists)
        else:
            child.text = _text(value)


def xml(root: str, item: str | None, data: Any, lists: Mapping[str, str] | None = None) -> bytes:
    """The spec's XML: `<root><item>…</item>…</root>` for a list, `<root>…</root>` for one object; a list
    field nests its members under the tag `lists[field]` (attributes → attribute, values → value)."""
    top = ET.Element(root)
    if item is None:
        _fill(top, data, lists or {})
    else:
        for one in data:
            _fill(ET.SubElement(top, item), one, lists or {})
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        top, encoding="utf-8", xml_declaration=False
    )


def answer(
    fmt: str,
    data: Any,
    root: str,
    item: str | None,
    lists: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    if fmt == "xml":
        body = xml(root, item, data, lists)
    else:
        import json

        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=MEDIA[fmt])


def error_status(status: int) -> int:
    """Open311 knows 400 (bad or missing parameters), 403 (bad api_key) and 404 (not found): a missing or
    bad key is 403, our 422 (invalid input) is 400; anything else keeps its status."""
    return {401: 403, 422: 400}.get(status, status)


def error_response(request: Request, status: int, zh: str, en: str) -> Response:
    """The Open311 error body in the client's format, for every error under /open311/ (web/errors.FORMATS)."""
    code = error_status(status)
    description = en if request_lang(request) == "en" else zh
    return answer(
        format_of(request.url.path),
        [{"code": code, "description": description}],
        "errors",
        "error",
        status=code,
    )


def _lang_text(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


# --- services -----------------------------------------------------------------------------------------------
def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": key_of(c.kind, c.code),
        "service_name": c.name,
        "description": f"{vocab.KINDS[c.kind]} · {c.major_name} · {c.name}（{c.kind}:{c.code}）",
        "metadata": bool(c.closing_standard),
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys((c.name, c.major_name, vocab.KINDS[c.kind], c.code))),
        "group": c.major_name,
    }


def services(s: Session) -> list[dict[str, Any]]:
    """The active categories as GeoReport services, 部件 then 事件, by code."""
    rows = s.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.kind, Category.code))
    return [_service(c) for c in rows]


def _category(s: Session, code: str) -> Category:
    try:
        kind, number = parse_key(code)
    except Invalid:
        kind, number = "", ""
    found = s.scalar(
        select(Category).where(Category.kind == kind, Category.code == number, Category.active.is_(True))
    )
    if found is None:
        raise NotFound(f"未知的服务代码 service_code：{code}", f"unknown service_code: {code}")
    return found


def definition(s: Session, code: str) -> dict[str, Any]:
    """The service definition. Our classes need no extra input: the only attribute is informational
    (variable=false): the closing standard (结案标准) the supervision centre checks the result against."""
    c = _category(s, code)
    attributes = []
    if c.closing_standard:
        attributes.append(
            {
                "variable": False,
                "code": "closing_standard",
                "datatype": "text",
                "required": False,
                "datatype_description": None,
                "order": 1,
                "description": f"结案标准：{c.closing_standard}",
            }
        )
    return {"service_code": key_of(c.kind, c.code), "attributes": attributes}


# --- POST a service request ---------------------------------------------------------------------------------
def _get(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Invalid(f"参数 {name} 应为文本", f"{name} must be text")
    value = str(value).strip()
    if len(value) > LIMITS.get(name, 200):
        raise Invalid(
            f"参数 {name} 过长（最多 {LIMITS.get(name, 200)} 个字符）",
            f"{name} is too long (at most {LIMITS.get(name, 200)} characters)",
        )
    return value or None  # an empty parameter is the same as none (the spec's optional arguments)


def _number(fields: Mapping[str, Any], name: str) -> float:
    raw = _get(fields, name)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Invalid(
            f"参数 {name} 应为十进制度数：{raw}", f"{name} must be decimal degrees: {raw}"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Invalid(f"参数 {name} 应为十进制度数：{raw}", f"{name} must be decimal degrees: {raw}")
    return value


def _name(first: str | None, last: str | None) -> str | None:
    if not first and not last:
        return None
    if CJK.search((first or "") + (last or "")):
        return f"{last or ''}{first or ''}"  # 姓 + 名
    return " ".join(p for p in (first, last) if p)


def parse(fields: Mapping[str, Any]) -> tuple[ReportIn, str | None]:
    """A POST's parameters (form or JSON) → the report and the media URL. Errors are Invalid (→ 400) or
    NotFound for the service code (→ 404), each naming the parameter."""
    for name in fields:
        if not isinstance(name, str):
            raise Invalid("参数名应为文本", "parameter names must be text")
    code = _get(fields, "service_code")
    if code is None:
        raise Invalid("缺少参数 service_code", "service_code is required")
    lat_given, long_given = _get(fields, "lat") is not None, _get(fields, "long") is not None
    if not (lat_given and long_given):
        where = _get(fields, "address_string") or _get(fields, "address_id")
        raise Invalid(
            "须提供 lat 与 long（WGS-84 十进制度数）："
            + ("本市只按坐标受理，仅有地址无法定位网格" if where else "缺少位置"),
            "lat and long (WGS-84 decimal degrees) are required: "
            + ("this city places reports by coordinates, not by address alone" if where else "no location"),
        )
    crs = _get(fields, "crs")
    C.system(crs)  # an unknown system is Invalid here, before anything is read
    media_url = _get(fields, "media_url")
    if media_url is not None:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Invalid("media_url 应为 http(s) 地址", "media_url must be an http(s) URL")
    name = _name(_get(fields, "first_name"), _get(fields, "last_name"))
    phone = _get(fields, "phone")
    account, device, email = (_get(fields, k) for k in ("account_id", "device_id", "email"))
    external = (
        f"account:{account}"
        if account
        else f"device:{device}"
        if device
        else f"email:{email}"
        if email
        else None
    )
    address = _get(fields, "address_string") or ""
    body = ReportIn(
        category=code,
        location=LocationIn(lng=_number(fields, "long"), lat=_number(fields, "lat"), crs=crs),
        address=address,
        description=_get(fields, "description") or "",
        reporter=ReporterIn(name=name, phone=phone, external_id=external[:80] if external else None)
        if (name or phone or external)
        else None,
    )
    return body, media_url


def submit(
    uow: UnitOfWork,
    body: ReportIn,
    media_url: str | None,
    rules: intake.Rules,
    idempotency_key: str | None = None,
) -> intake.Outcome:
    """One Open311 report: the service code must be an active category (404 otherwise, as the spec says),
    then intake; a media URL becomes a public `photo` event on the case (`data.media_url`)."""
    _category(uow.session, body.category)
    out = intake.report(uow, body, channel="open311", rules=rules, idempotency_key=idempotency_key)
    if media_url and not out.replayed:
        status = uow.session.scalar(select(Case.status).where(Case.id == out.case_id))
        uow.session.add(
            CaseEvent(
                case_id=out.case_id,
                at=utcnow(),
                kind="photo",
                status=status,
                actor=uow.actor.label,
                public=True,
                data={"stage": "report", "media_url": media_url, "reporter": out.reporter_id},
            )
        )
        uow.session.flush()
        uow.record("cityops:photo:link", f"case:{out.case_id}", {"media_url": media_url})
    return out


def notice(out: intake.Outcome, lang: str) -> str:
    if out.merged:
        return _lang_text(
            lang,
            f"附近已有同类问题的案卷 {out.number}，您的上报已合并到该案卷",
            f"an open case of the same kind nearby ({out.number}) already covers this: your report joined it",
        )
    return _lang_text(
        lang,
        f"已受理，案卷号 {out.number}；监督中心核实立案后派遣处置",
        f"received as case {out.number}; the supervision centre verifies and registers it, "
        "then it is dispatched",
    )


# --- tokens -------------------------------------------------------------------------------------------------
def token(secret: bytes, reporter_id: int) -> str:
    """A POST's token: the id of the report it stored (its cityops_reporter row: one per POST, a duplicate
    included, so the token names this report while service_request_id names the case it opened or joined)
    and a keyed digest of that id under secret_key, so that tokens cannot be enumerated. It carries nothing
    about the reporter; a retry (Idempotency-Key) answers the same one. Changing secret_key voids them."""
    return f"{reporter_id}-{keyed_digest(secret, f'open311-token:{reporter_id}')[:20]}"


def by_token(s: Session, secret: bytes, value: str) -> dict[str, Any]:
    """GET service_request_id from a token: the case the token's report opened or joined."""
    m = TOKEN.match(value or "")
    case = None
    if m is not None and hmac.compare_digest(value, token(secret, int(m.group(1)))):
        case = s.scalar(
            select(Case)
            .join(Reporter, Reporter.case_id == Case.id)
            .where(Reporter.id == int(m.group(1)), Reporter.channel == "open311")
        )
    if case is None:
        raise NotFound(f"token {value} 不存在", f"token {value} not found")
    return {"service_request_id": case.number, "token": value}


# --- GET service requests -----------------------------------------------------------------------------------
def case_id(number: str) -> int | None:
    """The case id in a service_request_id (the case number), or None when it is not one."""
    m = NUMBER.match((number or "").strip())
    return int(m.group(2)) if m else None


def w3(value: dt.datetime | None) -> str | None:
    """A W3C date-time with the Asia/Shanghai offset, e.g. 2026-11-21T09:30:00+08:00."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZONE).replace(microsecond=0).isoformat()


def _due(case: Case) -> dt.datetime | None:
    """expected_datetime: the end of the working day the current clock is due (dispatch, else handling)."""
    day = case.dispatch_due_on if case.status == "registered" else case.handle_due_on
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=ZONE)


def parse_when(raw: str | None, name: str) -> dt.datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(
            f"{name} 应为 W3C 日期时间，如 2026-01-01T00:00:00Z：{raw}",
            f"{name} must be a W3C date-time such as 2026-01-01T00:00:00Z: {raw}",
        ) from None
    if value.tzinfo is None:
        raise Invalid(f"{name} 须带时区（Z 或 +08:00）", f"{name} must carry a time zone (Z or +08:00)")
    return value.astimezone(dt.UTC)


def window(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """The spec's range: at most 90 days; none given → the last 90 days."""
    if start is None and end is None:
        end = utcnow()
    if start is None:
        start = end - WINDOW  # type: ignore[operator]
    if end is None:
        end = start + WINDOW
    if start > end:
        raise Invalid("start_date 晚于 end_date", "start_date is after end_date")
    if end - start > WINDOW:
        raise Invalid("查询时间范围不能超过 90 天", "the date range may not span more than 90 days")
    return start, end


def _split(values: Iterable[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


_DEPT = aliased(Org)
_ROWS = (
    select(Case, Category.kind, Category.code, Category.name, _DEPT.name)
    .join(Category, Category.id == Case.category_id)
    .outerjoin(_DEPT, _DEPT.id == func.coalesce(Case.department_id, Case.routed_department_id))
)


def requests(
    s: Session,
    *,
    ids: list[str] | None = None,
    codes: list[str] | None = None,
    statuses: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    lang: str = "zh",
    crs: str | None = None,
) -> list[dict[str, Any]]:
    """Service requests, newest first, at most 1000. `ids` (case numbers) overrides every other filter;
    an id that is no case is left out."""
    stmt = _ROWS.order_by(Case.reported_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
    if ids:
        wanted = {n: case_id(n) for n in ids[:MAX_REQUESTS]}
        stmt = stmt.where(Case.id.in_({i for i in wanted.values() if i is not None}))
        rows = [r for r in s.execute(stmt).all() if r[0].number in wanted]
    else:
        for status in statuses or ():
            if status not in ("open", "closed"):
                raise Invalid(
                    f"status 应为 open 或 closed：{status}", f"status must be open or closed: {status}"
                )
        if statuses and set(statuses) != {"open", "closed"}:
            stmt = stmt.where(Case.status.in_(vocab.OPEN if statuses[0] == "open" else CLOSED))
        if codes:
            for code in codes:
                _category(s, code)
            keys = [parse_key(c) for c in codes]
            stmt = stmt.where(or_(*(and_(Category.kind == k, Category.code == c) for k, c in keys)))
        first, last = window(start, end)
        stmt = stmt.where(Case.reported_at >= first, Case.reported_at <= last)
        rows = list(s.execute(stmt).all())
    media = _media(s, [r[0].id for r in rows])
    return [shown(r, media.get(r[0].id), lang, crs) for r in rows]


def _media(s: Session, ids: list[int]) -> dict[int, str]:
    """The first media URL linked to each case (public photo events)."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = s.execute(
            select(CaseEvent.case_id, CaseEvent.data)
            .where(CaseEvent.case_id.in_(chunk), CaseEvent.kind == "photo", CaseEvent.public.is_(True))
            .order_by(CaseEvent.id)
        )
        for cid, data in rows:
            url = (data or {}).get("media_url")
            if url and cid not in found:
                found[cid] = url
    return found


def one(s: Session, number: str, lang: str = "zh", crs: str | None = None) -> dict[str, Any]:
    found = requests(s, ids=[number], lang=lang, crs=crs)
    if not found:
        raise NotFound(f"服务请求 {number} 不存在", f"service request {number} not found")
    return found[0]


STATUS_NOTES = {
    "reported": ("已受理，待监督中心核实立案", "received; awaiting verification by the supervision centre"),
    "registered": ("已立案，待派遣", "registered; awaiting dispatch"),
    "cancelled": ("不予立案", "not registered"),
    "dispatched": ("已派遣至处置部门", "dispatched to the department responsible"),
    "handling": ("处置中", "being handled"),
    "handled": ("已处置，待核查", "handled; awaiting inspection"),
    "returned": ("部门退回，待重新派遣", "returned by the department; awaiting dispatch"),
    "disputed": ("争议中，待重新派遣", "disputed; awaiting dispatch"),
    "rework": ("核查未通过，返工中", "failed inspection; being reworked"),
    "closed": ("核查通过，已结案", "inspected and closed"),
    "evaluated": ("已结案并评价", "closed and evaluated"),
}


def shown(row: Any, media_url: str | None, lang: str = "zh", crs: str | None = None) -> dict[str, Any]:
    """One case as a GeoReport service request: public fields only (no reporter, phone or account)."""
    case, kind, code, name, department = row
    zh, en = STATUS_NOTES.get(case.status, (case.status, case.status))
    notes = _lang_text(lang, zh, en)
    if case.status == "cancelled" and case.reason:
        notes = f"{notes}：{case.reason}" if lang != "en" else f"{notes}: {case.reason}"
    lng, lat = C.from_wgs84(case.lng, case.lat, C.system(crs))
    return {
        "service_request_id": case.number,
        "status": "closed" if case.status in CLOSED else "open",
        "status_notes": notes,
        "service_name": name,
        "service_code": key_of(kind, code),
        "description": case.description or None,
        "agency_responsible": department,
        "service_notice": None,
        "requested_datetime": w3(case.reported_at),
        "updated_datetime": w3(case.updated_at),
        "expected_datetime": w3(_due(case)),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": round(lat, 8),
        "long": round(lng, 8),
        "media_url": media_url,
    }


def discovery(base: str, changeset: dt.datetime) -> dict[str, Any]:
    return {
        "changeset": w3(changeset),
        "contact": "城市运行管理服务平台（一网统管）",
        "key_service": "向城市运行管理部门申请带 cityops_channel 角色的 API 令牌，作为 api_key 使用",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base.rstrip("/") + "/open311/v2",
                "changeset": w3(changeset),
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }

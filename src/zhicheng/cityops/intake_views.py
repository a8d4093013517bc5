"""Console intake forms of city operations (一网统管): the 12345 hotline agent's work order and the grid
worker's report from the street (mobile first: a photo from the camera, the browser's position when allowed,
typed coordinates otherwise). Both go through the one intake service (`intake.report`) in one transaction
with the report photo, and land on the case page: a new case, or the case the report was merged into.

A form carries a one-time key (the intake's Idempotency-Key), so a double click or a resubmitted page
files one report. Refused input (a point outside the city, an unknown category, a photo too large or not a
JPEG/PNG/WebP) shows the form again, filled in, with the service's message."""

from __future__ import annotations

import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import ValidationError

from zhicheng.cityops import case_queries as q
from zhicheng.cityops import intake, photos, vocab
from zhicheng.cityops.permissions import INTAKE
from zhicheng.cityops.schemas import HotlineIn, LocationIn, ReporterIn, ReportIn
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.settings import Settings
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me
from zhicheng.web.forms import done, failure, page, say
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("一网统管", "热线受理", "/cityops/hotline", INTAKE, order=90)
nav.add("一网统管", "网格上报", "/cityops/report", INTAKE, order=91)

Text = Annotated[str, Form()]
SYSTEMS = {
    "wgs84": "WGS-84（GPS）",
    "cgcs2000": "CGCS2000（北斗）",
    "gcj02": "GCJ-02（高德、腾讯地图）",
    "bd09": "BD-09（百度地图）",
}
FORMS = {"hotline": "cityops/intake_hotline.html", "grid": "cityops/intake_grid.html"}


def _coordinate(value: str, zh: str, en: str) -> float:
    try:
        return float((value or "").strip())
    except ValueError:
        raise Invalid(f"{zh}应为数字（十进制度）", f"the {en} must be a number (decimal degrees)") from None


def _report(fields: dict[str, str], hotline: HotlineIn | None, reporter: ReporterIn | None) -> ReportIn:
    if not (fields.get("category") or "").strip():
        raise Invalid("请选择案件类别", "choose the category")
    if (fields.get("crs") or "") not in SYSTEMS:
        raise Invalid("请选择坐标系", "choose the coordinate system")
    return ReportIn(
        category=fields.get("category") or "",
        location=LocationIn(
            lng=_coordinate(fields.get("lng", ""), "经度", "longitude"),
            lat=_coordinate(fields.get("lat", ""), "纬度", "latitude"),
            crs=fields["crs"],
        ),
        address=(fields.get("address") or "").strip(),
        description=(fields.get("description") or "").strip(),
        hotline=hotline,
        reporter=reporter,
    )


def _form(
    request: Request,
    s: Any,
    channel: str,
    conf: Settings,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    return page(
        request,
        FORMS[channel],
        {
            "categories": q.category_choices(s),
            "kinds": vocab.KINDS,
            "systems": SYSTEMS,
            "v": {"crs": "wgs84", **(values or {})},
            "idem": uuid.uuid4().hex,
            "max_mb": conf.cityops_photo_max_mb,
            "error": error,
        },
        status,
    )


def _file(
    request: Request,
    db: Database,
    me: Principal,
    conf: Settings,
    channel: str,
    fields: dict[str, str],
    hotline: dict[str, str] | None = None,
    photo: UploadFile | None = None,
) -> Any:
    """File one report (with its photo) and go to the case; on refused input, the form again."""
    max_bytes = int(conf.cityops_photo_max_mb * 1024 * 1024)
    try:
        data = None
        if photo is not None and photo.filename:
            data = photos.read_capped(photo.file, max_bytes)
            photos.media_type(data)  # refuse a wrong type before anything is written
        work_order = None
        if hotline is not None:
            if not (hotline.get("work_order_no") or "").strip():
                raise Invalid("请填写 12345 工单号", "enter the 12345 work order number")
            work_order = HotlineIn(
                work_order_no=(hotline.get("work_order_no") or "").strip(),
                caller_name=(hotline.get("caller_name") or "").strip() or None,
                caller_phone=(hotline.get("caller_phone") or "").strip() or None,
            )
        # a grid worker reports under their own name; a hotline case carries the caller's
        worker = ReporterIn(name=me.display_name[:60] or None) if hotline is None else None
        body = _report(fields, work_order, worker)
        with unit_of_work(db, me.actor) as uow:
            out = intake.report(
                uow,
                body,
                channel=channel,
                rules=intake.Rules.of(conf),
                idempotency_key=(fields.get("idem") or "")[:80] or None,
            )
            if data is not None and not out.replayed:
                photos.add(uow, out.case_id, "report", io.BytesIO(data), photo.filename or "", max_bytes)
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _form(request, s, channel, conf, {**fields, **(hotline or {})}, message, status)
    if out.merged:
        text = say(
            request,
            f"该问题已有人上报，本次上报已合并到案卷 {out.number}",
            f"Already reported: this report was merged into case {out.number}",
        )
    else:
        text = say(request, f"已立卷：新案卷 {out.number}", f"Filed: new case {out.number}")
    return done(f"/cityops/cases/{out.case_id}", text)


@router.get("/cityops/hotline")
@access(INTAKE)
def hotline_form(request: Request, db: DB, conf: Conf) -> Any:
    """The 12345 agent's work order: caller, phone, work order number, category, address, point."""
    with db.read() as s:
        return _form(request, s, "hotline", conf)


@router.post("/cityops/hotline")
@access(INTAKE)
def hotline_submit(
    request: Request,
    db: DB,
    me: Me,
    conf: Conf,
    work_order_no: Text = "",
    caller_name: Text = "",
    caller_phone: Text = "",
    category: Text = "",
    address: Text = "",
    lng: Text = "",
    lat: Text = "",
    crs: Text = "",
    description: Text = "",
    idem: Text = "",
) -> Any:
    fields = {
        "category": category,
        "address": address,
        "lng": lng,
        "lat": lat,
        "crs": crs,
        "description": description,
        "idem": idem,
    }
    caller = {"work_order_no": work_order_no, "caller_name": caller_name, "caller_phone": caller_phone}
    return _file(request, db, me, conf, "hotline", fields, caller)


@router.get("/cityops/report")
@access(INTAKE)
def grid_form(request: Request, db: DB, conf: Conf) -> Any:
    """The grid worker's report from the street: photo, position (the browser's or typed), category."""
    with db.read() as s:
        return _form(request, s, "grid", conf)


@router.post("/cityops/report")
@access(INTAKE)
def grid_submit(
    request: Request,
    db: DB,
    me: Me,
    conf: Conf,
    category: Text = "",
    address: Text = "",
    lng: Text = "",
    lat: Text = "",
    crs: Text = "",
    description: Text = "",
    idem: Text = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Any:
    fields = {
        "category": category,
        "address": address,
        "lng": lng,
        "lat": lat,
        "crs": crs,
        "description": description,
        "idem": idem,
    }
    return _file(request, db, me, conf, "grid", fields, None, photo)

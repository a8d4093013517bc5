"""Drone and video-AI detections: one image and its metadata (source drone | video, the device, the category
the model saw, its confidence, the point with its coordinate system, when it was observed) become a report
through intake.report(channel=drone | video) with the image as the report's photo.

A detection below the setting cityops_detection_min_confidence is refused (422), not stored: the platform
that made it keeps its own low-confidence results. The image is checked (JPEG, PNG or WebP by its first
bytes, at most cityops_photo_max_mb) before anything is written. A detection that carries the device's own
`detection_id` is idempotent: sent again, it answers the first result and stores nothing."""

from __future__ import annotations

import datetime as dt
import io
from typing import Literal

from pydantic import BaseModel, Field

from zhicheng.cityops import intake, photos
from zhicheng.cityops.models import Photo
from zhicheng.cityops.schemas import LocationIn, ReporterIn, ReportIn
from zhicheng.core.db import UnitOfWork
from zhicheng.core.errors import Invalid

SOURCES = {"drone": "无人机", "video": "视频智能识别"}


class DetectionIn(BaseModel):
    source: Literal["drone", "video"]
    device_id: str = Field(min_length=1, max_length=80, description="the drone's or camera's id")
    detection_id: str | None = Field(
        None,
        min_length=1,
        max_length=80,
        description="the device's id of this detection: a retry is answered",
    )
    category: str = Field(description="<kind>:<code>, e.g. event:0101")
    confidence: float = Field(ge=0, le=1)
    location: LocationIn
    observed_at: dt.datetime = Field(description="when observed, with a time zone")
    label: str = Field("", max_length=100, description="what the model named, e.g. illegal_structure")
    address: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)


class DetectionOut(BaseModel):
    case_id: int
    number: str
    status: str
    merged: bool
    reporter_id: int
    replayed: bool = False
    photo_id: int | None = Field(description="the image stored as the report's photo (null on a replay)")


def detect(
    uow: UnitOfWork,
    meta: DetectionIn,
    image: bytes,
    filename: str,
    *,
    min_confidence: float = 0.6,
    max_bytes: int = 10 * 1024 * 1024,
    rules: intake.Rules = intake.Rules(),
) -> tuple[intake.Outcome, Photo | None]:
    if meta.confidence < min_confidence:
        raise Invalid(
            f"识别置信度 {meta.confidence:g} 低于 {min_confidence:g}，不作为案件上报",
            f"confidence {meta.confidence:g} is below {min_confidence:g}: not reported as a case",
            confidence=meta.confidence,
            min_confidence=min_confidence,
        )
    if len(image) > max_bytes:
        raise Invalid(
            f"照片超过 {max_bytes / photos.CHUNK:g} MB 的上限",
            f"the photo is larger than {max_bytes / photos.CHUNK:g} MB",
        )
    photos.media_type(image)  # refused before anything is written
    text = meta.description.strip() or f"{SOURCES[meta.source]}识别：{meta.label or meta.category}"
    out = intake.report(
        uow,
        ReportIn(
            category=meta.category,
            location=meta.location,
            address=meta.address,
            description=f"{text}（置信度 {meta.confidence:.2f}）",
            reporter=ReporterIn(external_id=meta.device_id),
            reported_at=meta.observed_at,
        ),
        channel=meta.source,
        rules=rules,
        idempotency_key=f"{meta.source}:{meta.device_id}:{meta.detection_id}" if meta.detection_id else None,
    )
    if out.replayed:
        return out, None
    photo = photos.add(uow, out.case_id, "report", io.BytesIO(image), filename or "detection", max_bytes)
    return out, photo

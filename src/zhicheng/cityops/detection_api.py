"""JSON route of drone and video-AI detections: POST /api/v1/cityops/detections (cityops.intake)."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import ValidationError

from zhicheng.cityops import detections, intake, photos
from zhicheng.cityops.detections import DetectionIn, DetectionOut
from zhicheng.cityops.permissions import INTAKE
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.web.deps import DB, Conf, Me
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])


@router.post("/detections", response_model=DetectionOut, status_code=201)
@access(INTAKE)
def detect(
    response: Response,
    db: DB,
    me: Me,
    conf: Conf,
    image: UploadFile = File(..., description="JPEG, PNG or WebP, at most cityops_photo_max_mb"),
    metadata: str = Form(
        ...,
        description='JSON: {"source": "drone"|"video", "device_id", "detection_id"?, "category", '
        '"confidence", "location": {"lng", "lat", "crs"?}, "observed_at", "label"?, "address"?, '
        '"description"?}',
    ),
) -> dict:
    """A detection: 201 with the case it opened, 200 when it merged into an open case nearby or repeats a
    detection_id already taken (`replayed`). 422 below cityops_detection_min_confidence, for an image that
    is too large or not JPEG/PNG/WebP, a point outside the city, an unknown category."""
    try:
        meta = DetectionIn.model_validate_json(metadata)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Invalid(f"检测元数据无效：{problems}", f"invalid detection metadata: {problems}") from exc
    max_bytes = int(conf.cityops_photo_max_mb * 1024 * 1024)
    data = photos.read_capped(image.file, max_bytes)
    with unit_of_work(db, me.actor) as uow:
        out, photo = detections.detect(
            uow,
            meta,
            data,
            image.filename or "",
            min_confidence=conf.cityops_detection_min_confidence,
            max_bytes=max_bytes,
            rules=intake.Rules.of(conf),
        )
        photo_id = photo.id if photo else None
    if out.merged or out.replayed:
        response.status_code = 200
    return {**out.shown(), "photo_id": photo_id}

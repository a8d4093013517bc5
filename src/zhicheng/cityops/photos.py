"""Case photos: read with a size cap (setting cityops_photo_max_mb), the type checked by the first bytes
(JPEG, PNG or WebP, whatever the name says), digested with SM3 and stored once per digest in the database."""

from __future__ import annotations

import os
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhicheng.cityops import vocab
from zhicheng.cityops.loop import load
from zhicheng.cityops.models import Blob, CaseEvent, Photo
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Invalid, NotFound

CHUNK = 1024 * 1024


def read_capped(stream: BinaryIO, max_bytes: int) -> bytes:
    parts, size = [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise Invalid(
                f"照片超过 {max_bytes / CHUNK:g} MB 的上限",
                f"the photo is larger than {max_bytes / CHUNK:g} MB",
            )
        parts.append(chunk)
    return b"".join(parts)


def media_type(data: bytes) -> str:
    if not data:
        raise Invalid("照片为空", "the photo is empty")
    for magic, kind in vocab.IMAGE_TYPES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise Invalid("只能上传 JPEG、PNG 或 WebP 照片", "only JPEG, PNG or WebP photos are accepted")


def add(uow: UnitOfWork, case_id: int, stage: str, stream: BinaryIO, filename: str, max_bytes: int) -> Photo:
    if stage not in vocab.PHOTO_STAGES:
        raise Invalid(
            f"照片类别应为 {'、'.join(vocab.PHOTO_STAGES)}", f"stage must be one of {vocab.PHOTO_STAGES}"
        )
    case = load(uow, case_id)
    data = read_capped(stream, max_bytes)
    kind = media_type(data)
    digest = sm3_hex(data)
    s = uow.session
    now = utcnow()
    ins = pg_insert(Blob) if s.get_bind().dialect.name == "postgresql" else sqlite_insert(Blob)
    s.execute(
        ins.values(sm3=digest, size=len(data), data=data, created_at=now).on_conflict_do_nothing(
            index_elements=["sm3"]
        )
    )
    name = os.path.basename(filename or "").strip()[-255:] or "photo"
    photo = Photo(
        case_id=case.id,
        stage=stage,
        sm3=digest,
        media_type=kind,
        filename=name,
        size=len(data),
        added_by=uow.actor.label,
        added_at=now,
    )
    s.add(photo)
    s.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            kind="photo",
            status=case.status,
            actor=uow.actor.label,
            public=True,
            data={"stage": stage, "sm3": digest},
        )
    )
    s.flush()
    uow.record("cityops:photo:add", f"case:{case.id}", {"photo": photo.id, "stage": stage, "sm3": digest})
    return photo


def content(s: Session, case_id: int, photo_id: int) -> tuple[bytes, str]:
    row = s.execute(
        select(Blob.data, Photo.media_type)
        .join(Photo, Photo.sm3 == Blob.sm3)
        .where(Photo.id == photo_id, Photo.case_id == case_id)
    ).first()
    if row is None:
        raise NotFound("照片不存在", "photo not found")
    return row[0], row[1]

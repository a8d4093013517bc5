"""Uploaded files: read with a size cap, the type checked by extension AND by the first bytes (a renamed .exe
is not a PDF), digested with SM3, stored once per digest in the database (see models.Blob for why)."""

from __future__ import annotations

import os
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhicheng.approvals import vocab
from zhicheng.approvals.models import Blob, Upload
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Forbidden, Invalid, NotFound

CHUNK = 1024 * 1024


def read_capped(stream: BinaryIO, max_bytes: int) -> bytes:
    """The stream's bytes, refusing (without reading on) as soon as they pass `max_bytes`."""
    parts, size = [], 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise Invalid(
                f"文件超过 {max_bytes // CHUNK} MB 的上传上限",
                f"the file is larger than {max_bytes // CHUNK} MB",
            )
        parts.append(chunk)
    return b"".join(parts)


def sniff(filename: str, data: bytes) -> str:
    """The file's extension, once its content is known to match it."""
    name = os.path.basename(filename or "").strip()
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not data:
        raise Invalid("文件为空", "the file is empty")
    if ext not in vocab.FORMATS:
        raise Invalid(
            f"不支持的文件类型“{ext or '无扩展名'}”，可上传 {'、'.join(sorted(vocab.FORMATS))}",
            f"unsupported file type {ext or '(no extension)'}; accepted: {', '.join(sorted(vocab.FORMATS))}",
        )
    if not data.startswith(vocab.FORMATS[ext]):
        raise Invalid(
            f"文件内容与扩展名 .{ext} 不符，请上传真实的 {ext.upper()} 文件",
            f"the content is not a .{ext} file; upload a real {ext.upper()} file",
        )
    return ext


def store(uow: UnitOfWork, stream: BinaryIO, filename: str, max_bytes: int) -> Upload:
    data = read_capped(stream, max_bytes)
    ext = sniff(filename, data)
    digest = sm3_hex(data)
    s = uow.session
    now = utcnow()
    values = {"sm3": digest, "size": len(data), "data": data, "created_at": now}
    # the same content uploaded twice at once: one row, no error
    ins = pg_insert(Blob) if s.get_bind().dialect.name == "postgresql" else sqlite_insert(Blob)
    s.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["sm3"]))
    name = os.path.basename(filename).strip()[-255:]
    upload = Upload(
        sm3=digest, filename=name, extension=ext, size=len(data), owner=uow.actor.label, created_at=now
    )
    s.add(upload)
    s.flush()
    uow.record(
        "approvals:upload:create", f"upload:{upload.id}", {"sm3": digest, "size": len(data), "filename": name}
    )
    return upload


def owned(s: Session, upload_id: int, owner: str) -> Upload:
    """An upload the caller may attach: only its uploader may (an id guessed from another's is refused)."""
    found = s.get(Upload, upload_id)
    if found is None:
        raise NotFound(f"上传文件 {upload_id} 不存在", f"upload {upload_id} not found")
    if found.owner != owner:
        raise Forbidden(f"上传文件 {upload_id} 不是您上传的", f"upload {upload_id} was not uploaded by you")
    return found


def content(s: Session, sm3: str) -> bytes:
    data = s.scalar(select(Blob.data).where(Blob.sm3 == sm3))
    if data is None:
        raise NotFound("文件内容不存在", "file content not found")
    return data

"""JSON routes that fill a hosted resource with data: uploads (CSV, XLSX, JSON) with their row-by-row
report, and the scheduled pull from the provider's API or database. All need exchange.manage over the
resource's provider department."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel, Field

from zhicheng.core.db import Database, UnitOfWork, unit_of_work
from zhicheng.core.errors import NotFound
from zhicheng.exchange import loading, pulls, queries
from zhicheng.exchange.models import DataLoad, Dataset
from zhicheng.exchange.permissions import EXCHANGE_MANAGE
from zhicheng.exchange.schemas import LoadOut
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])


class UploadOut(LoadOut):
    digest: str
    dataset_rows: int


class PullIn(BaseModel):
    kind: Literal["http", "database"]
    url: str = Field(
        ..., max_length=2000, description="http(s) URL of the rows, or a SQLAlchemy database URL"
    )
    query: str = Field("", max_length=20_000, description="database: one SELECT, columns named as the items")
    mode: Literal["full", "incremental"] = "full"
    cursor_item: str | None = Field(None, description="incremental: the item that grows (an update time)")
    cursor_value: str | None = Field(None, description="incremental: start after this value")
    every_minutes: int = Field(60, ge=1, le=pulls.MAX_EVERY_MINUTES)
    enabled: bool = True
    token: str | None = Field(
        None, max_length=500, description="http: bearer token for the provider; omit to keep, '' to remove"
    )


class PullOut(BaseModel):
    resource_code: str
    kind: str
    url: str
    query: str
    mode: str
    cursor_item: str | None
    cursor_value: str | None
    every_minutes: int
    enabled: bool
    has_token: bool
    next_run_at: dt.datetime
    last_run_at: dt.datetime | None
    last_status: str | None
    last_error: str | None


class RunOut(BaseModel):
    status: str  # ok | partial
    load: LoadOut
    pull: PullOut


def _managed(uow: UnitOfWork, me: Me, code: str) -> int:
    """The dataset id of `code`, once the caller is known to manage the provider's data."""
    res, ds = queries.hosted_dataset(uow.session, code)
    require(me, EXCHANGE_MANAGE, queries.org_path(uow.session, res.provider_org_id))
    return ds.id


def _upload_out(load: DataLoad, rows: int) -> dict[str, Any]:
    return {**LoadOut.model_validate(load).model_dump(), "digest": load.digest, "dataset_rows": rows}


@router.post("/resources/{code:path}/uploads", response_model=UploadOut, status_code=201)
@access(EXCHANGE_MANAGE)
def upload(
    code: str,
    db: DB,
    me: Me,
    file: UploadFile = File(..., description="CSV (UTF-8 or GBK), .xlsx or JSON; row 1 names the items"),
    mode: Literal["full", "incremental"] = Form("full"),
) -> dict:
    """Load a file into the resource's hosted rows: full replaces them, incremental adds (and replaces by
    the key item). Bad rows are reported, good rows loaded; a file that cannot be read loads nothing."""
    with unit_of_work(db, me.actor) as uow:
        dataset_id = _managed(uow, me, code)
        load = loading.load_file(uow, dataset_id, file.file, file.filename or "", mode)
        rows = uow.session.get(Dataset, dataset_id).row_count  # type: ignore[union-attr]
        return _upload_out(load, rows)


@router.get("/resources/{code:path}/loads/{load_id}", response_model=LoadOut)
@access(EXCHANGE_MANAGE)
def get_load(code: str, load_id: int, s: Reader, me: Me) -> DataLoad:
    """One load and its row-by-row report (row numbers as the file shows them)."""
    res, ds = queries.hosted_dataset(s, code)
    require(me, EXCHANGE_MANAGE, queries.org_path(s, res.provider_org_id))
    return queries.load(s, ds.id, load_id)


def _pull_out(db: Database, code: str) -> dict[str, Any]:
    with db.read() as s:
        _, ds = queries.hosted_dataset(s, code)
        src = queries.pull_source(s, ds.id)
        if src is None:
            raise NotFound("该资源没有配置数据抽取", "no pull is configured for this resource")
        return {"resource_code": code, **pulls.view(src, ds)}


@router.get("/resources/{code:path}/pull", response_model=PullOut)
@access(EXCHANGE_MANAGE)
def get_pull(code: str, db: DB, me: Me) -> dict:
    """The resource's pull: source (secrets hidden), schedule, cursor, last run and its error."""
    with db.read() as s:
        res, _ = queries.hosted_dataset(s, code)
        require(me, EXCHANGE_MANAGE, queries.org_path(s, res.provider_org_id))
    return _pull_out(db, code)


@router.put("/resources/{code:path}/pull", response_model=PullOut)
@access(EXCHANGE_MANAGE)
def set_pull(code: str, body: PullIn, db: DB, me: Me) -> dict:
    """Pull the resource's rows from the provider every `every_minutes`; the first run is due at once."""
    with unit_of_work(db, me.actor) as uow:
        dataset_id = _managed(uow, me, code)
        pulls.configure(uow, dataset_id, **body.model_dump())
    return _pull_out(db, code)


@router.post("/resources/{code:path}/pull/run", response_model=RunOut)
@access(EXCHANGE_MANAGE)
def run_pull(code: str, db: DB, me: Me) -> dict:
    """Pull now. A failure (provider down, timeout, a bad answer) is a 502/504 problem, is kept on the
    pull, and leaves the previous rows as they were."""
    with db.read() as s:
        res, ds = queries.hosted_dataset(s, code)
        require(me, EXCHANGE_MANAGE, queries.org_path(s, res.provider_org_id))
    load = pulls.run(db, ds.id, me.actor)
    return {
        "status": "partial" if load.rows_rejected else "ok",
        "load": LoadOut.model_validate(load),
        "pull": _pull_out(db, code),
    }


@router.delete("/resources/{code:path}/pull", status_code=204)
@access(EXCHANGE_MANAGE)
def delete_pull(code: str, db: DB, me: Me) -> Response:
    """Stop pulling; the rows already loaded stay."""
    with unit_of_work(db, me.actor) as uow:
        pulls.remove(uow, _managed(uow, me, code))
    return Response(status_code=204)

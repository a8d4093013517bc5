"""The service item catalog as .xlsx: export (anyone signed in) and import (approvals.items over every
item's organization; `dry_run` reports without writing)."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Response, UploadFile

from zhicheng.approvals import queries, transfer
from zhicheng.approvals.permissions import ITEMS
from zhicheng.core.auth import permissions as P
from zhicheng.core.db import unit_of_work
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/approvals", tags=["approvals"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/items.xlsx")
@access(P.SELF)
def export_items(s: Reader, org_id: int | None = None) -> Response:
    """The active items (of one organization, implementing or deciding, or all) as sheets 事项, 材料, 表单."""
    return Response(
        transfer.export(s, org_id),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="service-items.xlsx"'},
    )


@router.post("/items.xlsx")
@access(ITEMS)
def import_items(db: DB, me: Me, file: UploadFile = File(...), dry_run: bool = Form(False)) -> dict:
    """Create or update the items of a workbook, all or nothing; each new or changed item gets a version."""
    data = file.file.read(transfer.MAX_BYTES + 1)
    try:
        with unit_of_work(db, me.actor) as uow:
            s = uow.session
            return transfer.run(
                uow, data, lambda org_id: me.can(ITEMS, queries.org_path(s, org_id) or None), dry_run
            )
    except transfer.DryRun as done:
        return done.report

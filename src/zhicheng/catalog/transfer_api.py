"""Import and export of a department's catalogue as .xlsx or CSV, under /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Response, UploadFile

from zhicheng.catalog import importer, transfer
from zhicheng.catalog.permissions import CATALOG_MANAGE, CATALOG_READ
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import utcnow
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs import queries as org_queries
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@router.post("/import")
@access(CATALOG_MANAGE)
def import_catalog(
    db: DB,
    me: Me,
    file: Annotated[UploadFile, File(description=".xlsx or CSV (UTF-8 or GBK) with Chinese headers")],
    provider_org_id: Annotated[int, Form()],
    dry_run: Annotated[bool, Form()] = False,
) -> dict:
    """Create or update the provider's resources from a spreadsheet. Answers 200 with a row-by-row report
    even when some rows fail (the good resources are saved); 422 when the file itself cannot be read."""
    with db.read() as s:
        require(me, CATALOG_MANAGE, org_queries.org(s, provider_org_id).path)
    data = file.file.read(transfer.MAX_BYTES + 1)
    if len(data) > transfer.MAX_BYTES:
        raise Invalid("文件超过 10 MB，请拆分后导入", "the file is larger than 10 MB; split it")
    sheet = transfer.read_file(data, file.filename or "")
    return importer.import_sheet(db, me.actor, provider_org_id, sheet, dry_run=dry_run)


@router.get("/export")
@access(CATALOG_READ)
def export_catalog(
    s: Reader, provider_org_id: int | None = None, format: Literal["xlsx", "csv"] = "xlsx"
) -> Response:
    """The published catalogue (one provider's, or all) as a file that imports back unchanged."""
    who = org_queries.org(s, provider_org_id).name if provider_org_id is not None else "全部"
    rows = transfer.export_rows(s, provider_org_id)
    body = transfer.write_xlsx(rows) if format == "xlsx" else transfer.write_csv(rows)
    day = local_date(utcnow()).strftime("%Y%m%d")
    name = f"数据资源目录-{who}-{day}.{format}"
    plain = f"catalog-{provider_org_id or 'all'}-{day}.{format}"
    disposition = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": disposition})

"""Console page for importing and exporting a department's catalogue as .xlsx or CSV: download the catalogue
or an empty template, upload a sheet (optionally as a dry run) and read the row-by-row report. Reading and
writing files is transfer.py's, saving importer.py's; this module only checks who may and shows the result."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from sqlalchemy.orm import Session

from zhicheng.catalog import importer, transfer
from zhicheng.catalog.permissions import CATALOG_MANAGE
from zhicheng.catalog.transfer_api import MEDIA
from zhicheng.core.auth.principal import Principal
from zhicheng.core.calendar.clock import local_date
from zhicheng.core.db import utcnow
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.orgs import queries as org_queries
from zhicheng.core.orgs.models import Org
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import failure, page
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("数据共享", "目录导入导出", "/catalog/transfer", CATALOG_MANAGE, order=62)

# the report's outcome keys, in the order the page shows them, with their labels
OUTCOMES = (("created", "新建"), ("updated", "更新"), ("unchanged", "未变"), ("failed", "未通过"))
# what a browser may send; anything else (a .docx is a zip too, a .pdf is not text) is refused by name
# before transfer.read_file tries to make sense of it. No extension at all is left to its sniffing.
SUFFIXES = {"", ".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".tsv"}


def _managed(s: Session, me: Principal) -> list[Org]:
    """The departments the caller may import for: the same list as the cataloguing form's providers."""
    return org_queries.orgs(s, me.paths(CATALOG_MANAGE), limit=1000)


def _department(s: Session, me: Principal, raw: str | None) -> Org:
    """The chosen department, once the caller is known to manage its catalogue (else 403)."""
    org_id = _chosen(raw)
    if org_id is None:
        raise Invalid("请选择部门", "choose a department")
    org = org_queries.org(s, org_id)
    require(me, CATALOG_MANAGE, org.path)
    return org


def _chosen(raw: str | None) -> int | None:
    """The department to keep chosen when the page comes back with an error; junk is simply dropped."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None


def _page(
    request: Request,
    s: Session,
    me: Principal,
    chosen: int | None = None,
    dry_run: bool = True,
    report: dict | None = None,
    error: str | None = None,
    status: int = 200,
) -> Any:
    departments = _managed(s, me)
    if chosen is None and len(departments) == 1:
        chosen = departments[0].id
    return page(
        request,
        "catalog/transfer.html",
        {
            "departments": departments,
            "chosen": chosen,
            "dry_run": dry_run,
            "report": report,
            "outcomes": OUTCOMES,
            "required": transfer.REQUIRED,
            "max_mb": transfer.MAX_BYTES // (1024 * 1024),
            "max_rows": transfer.MAX_ROWS,
            "error": error,
        },
        status,
    )


@router.get("/catalog/transfer")
@access(CATALOG_MANAGE)
def transfer_page(request: Request, s: Reader, me: Me, provider_org_id: str = "") -> Any:
    return _page(request, s, me, _chosen(provider_org_id))


def _attachment(body: bytes, fmt: str, name: str, plain: str) -> Response:
    """A download with an ASCII filename for old clients and the Chinese one (RFC 6266 filename*)."""
    disposition = f"attachment; filename=\"{plain}.{fmt}\"; filename*=UTF-8''{quote(f'{name}.{fmt}')}"
    return Response(body, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


@router.get("/catalog/transfer/export")
@access(CATALOG_MANAGE)
def transfer_export(
    request: Request, s: Reader, me: Me, provider_org_id: str = "", format: str = "xlsx"
) -> Any:
    try:
        if format not in MEDIA:
            raise Invalid("只能导出为 .xlsx 或 CSV", "export as .xlsx or CSV only")
        org = _department(s, me, provider_org_id)
        rows = transfer.export_rows(s, org.id)
    except DomainError as exc:
        message, status = failure(request, exc)
        return _page(request, s, me, _chosen(provider_org_id), error=message, status=status)
    body = transfer.write_xlsx(rows) if format == "xlsx" else transfer.write_csv(rows)
    day = local_date(utcnow()).strftime("%Y%m%d")
    return _attachment(body, format, f"数据资源目录-{org.name}-{day}", f"catalog-{org.id}-{day}")


@router.get("/catalog/transfer/template")
@access(CATALOG_MANAGE)
def transfer_template(format: str = "xlsx") -> Response:
    """The header row alone: the columns an import reads, in the export's order."""
    if format not in MEDIA:
        raise Invalid("模板只有 .xlsx 和 CSV 两种", "the template comes as .xlsx or CSV only")
    body = transfer.write_xlsx([]) if format == "xlsx" else transfer.write_csv([])
    return _attachment(body, format, "数据资源目录模板", "catalog-template")


@router.post("/catalog/transfer")
@access(CATALOG_MANAGE)
def transfer_import(
    request: Request,
    db: DB,
    me: Me,
    file: Annotated[UploadFile | None, File()] = None,
    provider_org_id: Annotated[str, Form()] = "",
    dry_run: Annotated[str, Form()] = "",
) -> Any:
    checking = dry_run not in ("", "0", "false", "off")
    try:
        with db.read() as s:
            org = _department(s, me, provider_org_id)
        if file is None or not file.filename:
            raise Invalid("请选择要导入的文件", "choose a file to import")
        if PurePath(file.filename).suffix.lower() not in SUFFIXES:
            raise Invalid(
                f"不支持的文件类型“{file.filename}”：请上传 .xlsx 或 CSV 文件",
                f"unsupported file type {file.filename!r}: upload an .xlsx or CSV file",
            )
        data = file.file.read(transfer.MAX_BYTES + 1)  # never more than the limit in memory
        if len(data) > transfer.MAX_BYTES:
            raise Invalid("文件超过 10 MB，请拆分后导入", "the file is larger than 10 MB; split it")
        sheet = transfer.read_file(data, file.filename)
        report = importer.import_sheet(db, me.actor, org.id, sheet, dry_run=checking)
    except DomainError as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _page(request, s, me, _chosen(provider_org_id), checking, None, message, status)
    report["department"] = org.name
    report["filename"] = file.filename
    with db.read() as s:
        return _page(request, s, me, org.id, checking, report)

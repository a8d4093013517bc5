"""Catalogue sheets as Excel (.xlsx) or CSV with Chinese headers, the way departments fill them in: one row
per information item, the resource's columns repeated on each of its rows (or left blank below the first, as
merged cells come out). This module reads them (detecting the encoding) and writes them; importer.py saves."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.catalog import vocab
from zhicheng.catalog.models import Resource, ResourceItem
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.orgs.models import Org

# header → ResourceIn field; the order is the export's column order
RESOURCE_COLUMNS = {
    "资源名称": "name",
    "资源分类代码": "class_code",
    "资源代码": "code",
    "摘要": "summary",
    "资源格式": "format",
    "共享类型": "share_type",
    "共享条件": "share_condition",
    "共享依据": "share_basis",
    "共享方式": "share_mode",
    "开放类型": "open_type",
    "更新周期": "update_cycle",
    "数据分级": "grade",
    "发布日期": "published_on",
    "关联资源代码": "related_codes",
    "关键词": "keywords",
}
PROVIDER = "提供方"  # written on export for the reader; the importer takes the provider from the caller
ITEM_COLUMNS = {
    "信息项名称": "name",
    "信息项数据类型": "data_type",
    "信息项描述": "description",
    "敏感类别": "sensitivity",
    "信息项共享类型": "share_type",
}
HEADERS = [*RESOURCE_COLUMNS, PROVIDER, *ITEM_COLUMNS]
REQUIRED = ("资源名称", "资源分类代码", "资源格式", "共享类型", "更新周期", "信息项名称")
VOCABS = {
    "format": vocab.FORMATS,
    "share_type": vocab.SHARE_TYPES,
    "share_mode": vocab.SHARE_MODES,
    "open_type": vocab.OPEN_TYPES,
    "update_cycle": vocab.UPDATE_CYCLES,
    "grade": vocab.GRADES,
}
ITEM_VOCABS = {
    "data_type": vocab.DATA_TYPES,
    "sensitivity": vocab.SENSITIVITY,
    "share_type": vocab.SHARE_TYPES,
}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_PROBLEMS = 2_000  # the counts stay exact; the list is cut so a wholly wrong file gives a readable report
SPLIT = re.compile(r"[;；,，、\n]")
# a CSV cell starting like a formula is written with a leading ' so spreadsheets show it as text (CWE-1236)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLS_MAGIC = b"\xd0\xcf\x11\xe0"


# ---------------------------------------------------------------- reading files


@dataclass
class Sheet:
    kind: str  # xlsx | csv
    encoding: str | None
    columns: dict[str, int]  # header → 0-based column index
    ignored: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number as Excel shows it, header → text)


def read_file(data: bytes, filename: str = "") -> Sheet:
    """Parse an uploaded catalogue; anything that makes the file as a whole unreadable is Invalid (422)."""
    name = filename.lower()
    if not data.strip():
        raise Invalid("文件为空", "the file is empty")
    if len(data) > MAX_BYTES:
        raise Invalid("文件超过 10 MB，请拆分后导入", "the file is larger than 10 MB; split it")
    if data.startswith(XLS_MAGIC) or name.endswith(".xls"):
        raise Invalid(
            "不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 或 CSV",
            "the old .xls format is not supported; save as .xlsx or CSV in Excel",
        )
    if data.startswith(b"PK\x03\x04"):
        return _table("xlsx", None, _xlsx_rows(data))
    if name.endswith((".xlsx", ".xlsm")):
        raise Invalid("不是有效的 .xlsx 文件", "not a valid .xlsx file")
    text, encoding = decode(data)
    return _table("csv", encoding, _csv_rows(text))


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 — the superset
    of GBK that Excel on Chinese Windows writes. Each is tried strictly; a file that is none of them is
    refused rather than imported as mojibake."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text and "\ufffd" not in text:
            return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise Invalid(
        "无法识别文件编码：请以 UTF-8 或 GBK（GB18030）编码保存 CSV，或改用 .xlsx",
        "unknown text encoding: save the CSV as UTF-8 or GBK (GB18030), or use .xlsx",
    )


def _xlsx_rows(data: bytes) -> Any:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book["资源目录"] if "资源目录" in book.sheetnames else book.worksheets[0]
        sheet.reset_dimensions()  # some writers store wrong dimensions; read what is really there
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
        book.close()
    except Invalid:
        raise
    except Exception as exc:  # zip, XML and openpyxl errors all mean the same to the user
        raise Invalid(
            f"无法读取 .xlsx 文件：{type(exc).__name__}", f"cannot read the .xlsx file: {type(exc).__name__}"
        ) from exc


def _csv_rows(text: str) -> Any:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [_unguard(v.strip()) for v in row]


def _cell(value: Any) -> str:
    """A spreadsheet value as the text the importer reads."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed into a number cell: 101001.0 → "101001"
    return str(value).strip()


def _unguard(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_START else text


def _table(kind: str, encoding: str | None, raw: Any) -> Sheet:
    rows: list[tuple[int, dict[str, str]]] = []
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for number, cells in enumerate(raw, 1):
        if number == 1:
            columns, ignored = _header(cells)
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise Invalid(
                f"数据行超过 {MAX_ROWS} 行，请拆分后导入", f"more than {MAX_ROWS} data rows; split the file"
            )
        rows.append((number, {h: (cells[i] if i < len(cells) else "") for h, i in columns.items()}))
    if not columns:
        raise Invalid("文件为空或没有表头", "the file is empty or has no header row")
    if not rows:
        raise Invalid("文件只有表头，没有数据行", "the file has a header but no data rows")
    return Sheet(kind, encoding, columns, ignored, rows)


def _header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    known = set(HEADERS)
    columns: dict[str, int] = {}
    ignored = []
    for i, cell in enumerate(cells):
        # templates mark required columns "资源名称*" or "资源名称（必填）"
        head = re.sub(r"[\s*＊]|[（(]必填[）)]", "", cell)
        if not head:
            continue
        if head in columns:
            raise Invalid(f"表头“{head}”出现了两次", f"the header {head} appears twice")
        if head in known:
            columns[head] = i
        else:
            ignored.append(cell)
    if not any(cells):
        raise Invalid("第 1 行应为表头，但它是空的", "row 1 must be the header row but it is empty")
    missing = [h for h in REQUIRED if h not in columns]
    if missing:
        raise Invalid(
            f"表头缺少必填列：{'、'.join(missing)}（若表头是乱码，请以 UTF-8 或 GBK 编码保存）",
            f"the header lacks required columns: {', '.join(missing)} (if garbled, save as UTF-8 or GBK)",
        )
    return columns, ignored


# ---------------------------------------------------------------- exporting


def export_rows(s: Session, provider_org_id: int | None = None) -> list[list[Any]]:
    """The published catalogue (of one provider, or all) as rows under HEADERS, values as labels."""
    q = (
        select(Resource)
        .where(Resource.status == "published")
        .order_by(Resource.provider_org_id, Resource.code)
    )
    if provider_org_id is not None:
        if s.get(Org, provider_org_id) is None:
            raise NotFound(f"提供方机构 {provider_org_id} 不存在", f"provider {provider_org_id} not found")
        q = q.where(Resource.provider_org_id == provider_org_id)
    found = list(s.scalars(q))
    names = dict(
        s.execute(select(Org.id, Org.name).where(Org.id.in_({r.provider_org_id for r in found}))).all()
    )
    items: dict[int, list[ResourceItem]] = {}
    ids = [r.id for r in found]
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start : start + 500]
        for it in s.scalars(
            select(ResourceItem).where(ResourceItem.resource_id.in_(chunk)).order_by(ResourceItem.position)
        ):
            items.setdefault(it.resource_id, []).append(it)
    out = []
    for res in found:
        head = [
            res.name,
            res.class_code,
            res.code,
            res.summary,
            vocab.FORMATS[res.format],
            vocab.SHARE_TYPES[res.share_type],
            res.share_condition or "",
            res.share_basis or "",
            vocab.SHARE_MODES[res.share_mode],
            vocab.OPEN_TYPES[res.open_type],
            vocab.UPDATE_CYCLES[res.update_cycle],
            vocab.GRADES[res.grade],
            res.published_on,
            "；".join(res.related_codes or []),
            "；".join(res.keywords or []),
            names.get(res.provider_org_id, ""),
        ]
        for it in items.get(res.id) or [None]:
            tail = ["", "", "", "", ""]
            if it is not None:
                tail = [
                    it.name,
                    vocab.DATA_TYPES[it.data_type],
                    it.description,
                    vocab.SENSITIVITY[it.sensitivity],
                    vocab.SHARE_TYPES[it.share_type],
                ]
            out.append(head + tail)
    return out


def write_xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("资源目录")
    sheet.freeze_panes = "A2"
    sheet.append(HEADERS)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: a summary starting with "=" is not a formula
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM: Excel then opens the Chinese text correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_guard(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _guard(value: Any) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text

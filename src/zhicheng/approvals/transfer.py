"""The service item catalog as an Excel workbook, the way departments keep it: sheet 事项 (one row per item),
sheet 材料 (one row per material, by item code) and sheet 表单 (one row per form field). Organizations are
named as in the org tree (or by credit code, or as #id). An import is all or nothing: every row is checked
first and any problem, reported with its sheet and row, writes nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.approvals import items as item_services
from zhicheng.approvals.models import ServiceItem
from zhicheng.approvals.schemas import ItemBody, ItemIn
from zhicheng.approvals.vocab import ITEM_KINDS
from zhicheng.core.db import UnitOfWork
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.orgs.models import Org

ITEM_SHEET, MATERIAL_SHEET, FORM_SHEET = "事项", "材料", "表单"
ITEM_COLUMNS = {
    "事项编码": "code",
    "事项名称": "name",
    "事项类型": "kind",
    "实施主体": "org",
    "决定机关": "deciding_org",
    "设定依据": "legal_basis",
    "受理条件": "conditions",
    "法定时限（工作日）": "statutory_days",
    "承诺时限（工作日）": "promised_days",
    "收费": "fee",
    "办理结果": "result_name",
    "证照类型": "certificate_type",
    "办理流程": "flow_code",
}
MATERIAL_COLUMNS = {
    "事项编码": "item",
    "材料编码": "code",
    "材料名称": "name",
    "必要": "required",
    "主审要件": "core",
    "可容缺": "rongque",
    "接受格式": "formats",
    "大小上限（MB）": "max_mb",
    "模板": "template",
    "说明": "note",
}
FORM_COLUMNS = {
    "事项编码": "item",
    "字段标识": "key",
    "字段名称": "label",
    "类型": "type",
    "必填": "required",
    "最大长度": "max_length",
}
SHEETS = {ITEM_SHEET: ITEM_COLUMNS, MATERIAL_SHEET: MATERIAL_COLUMNS, FORM_SHEET: FORM_COLUMNS}
YES, NO = ("是", "Y", "YES", "TRUE", "1"), ("否", "N", "NO", "FALSE", "0", "")
SPLIT = re.compile(r"[;；,，、\s]+")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000


# ---------------------------------------------------------------- export


def export(s: Session, org_id: int | None = None) -> bytes:
    q = select(ServiceItem).where(ServiceItem.status == "active").order_by(ServiceItem.code)
    if org_id is not None:
        q = q.where((ServiceItem.org_id == org_id) | (ServiceItem.deciding_org_id == org_id))
    found = list(s.scalars(q))
    names = dict(s.execute(select(Org.id, Org.name)).all())
    book = Workbook(write_only=True)
    sheets = {name: book.create_sheet(name) for name in SHEETS}
    for name, columns in SHEETS.items():
        sheets[name].append(list(columns))
    for it in found:
        _row(sheets[ITEM_SHEET], [
            it.code, it.name, ITEM_KINDS.get(it.kind, it.kind), names.get(it.org_id, ""),
            names.get(it.deciding_org_id, "") if it.deciding_org_id else "", it.legal_basis, it.conditions,
            it.statutory_days, it.promised_days, it.fee, it.result_name, it.certificate_type or "",
            it.flow_code,
        ])  # fmt: skip
        for m in it.materials:
            _row(sheets[MATERIAL_SHEET], [
                it.code, m["code"], m["name"], _yes(m.get("required", True)), _yes(m.get("core")),
                _yes(m.get("rongque")), "、".join(m.get("formats", [])), m.get("max_mb", 10),
                m.get("template") or "", m.get("note") or "",
            ])  # fmt: skip
        for f in it.form:
            _row(sheets[FORM_SHEET], [
                it.code, f["key"], f["label"], f.get("type", "text"), _yes(f.get("required", True)),
                f.get("max_length", 200),
            ])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(sheet: Any, values: list[Any]) -> None:
    cells = []
    for v in values:
        cell = WriteOnlyCell(sheet, value=v)
        if isinstance(v, str):
            cell.data_type = "s"  # text stays text: a legal basis starting with "=" is not a formula
        cells.append(cell)
    sheet.append(cells)


def _yes(value: Any) -> str:
    return "是" if value else "否"


# ---------------------------------------------------------------- import


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def shown(self, dry_run: bool) -> dict[str, Any]:
        return {"dry_run": dry_run, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "problems": self.problems}  # fmt: skip


def read(data: bytes) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Rows of each sheet as (Excel row number, field → text)."""
    if not data:
        raise Invalid("文件为空", "the file is empty")
    if len(data) > MAX_BYTES:
        raise Invalid("文件超过 10 MB", "the file is larger than 10 MB")
    if not data.startswith(b"PK\x03\x04"):
        raise Invalid(
            "请上传 .xlsx 文件（可先导出一份作为模板）", "upload an .xlsx file (export one as a template)"
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        out = {}
        for name, columns in SHEETS.items():
            if name not in book.sheetnames:
                if name == ITEM_SHEET:
                    raise Invalid(
                        f"工作簿缺少“{ITEM_SHEET}”工作表", f"the workbook has no sheet {ITEM_SHEET}"
                    )
                out[name] = []
                continue
            out[name] = _sheet_rows(book[name], name, columns)
        book.close()
        return out
    except DomainError:
        raise
    except Exception as exc:  # zip, XML and openpyxl errors all mean the same to the user
        raise Invalid(f"无法读取 .xlsx 文件：{type(exc).__name__}", "cannot read the .xlsx file") from exc


def _sheet_rows(sheet: Any, name: str, columns: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    header = [re.sub(r"[\s*＊]", "", str(c or "")) for c in next(rows, [])]
    missing = [h for h in columns if h not in header]
    if missing:
        raise Invalid(f"“{name}”表头缺少：{'、'.join(missing)}", f"sheet {name} lacks columns {missing}")
    at = {columns[h]: header.index(h) for h in columns}
    found = []
    for number, cells in enumerate(rows, 2):
        if not any(c not in (None, "") for c in cells):
            continue
        if len(found) >= MAX_ROWS:
            raise Invalid(f"“{name}”超过 {MAX_ROWS} 行", f"sheet {name} has more than {MAX_ROWS} rows")
        found.append((number, {f: _text(cells[i] if i < len(cells) else None) for f, i in at.items()}))
    return found


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


class DryRun(Exception):
    """Raised out of the unit of work to roll back a dry run whole (its audit records too); carries the
    report."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.report = report


def run(uow: UnitOfWork, data: bytes, allowed: Callable[[int], bool], dry_run: bool) -> dict[str, Any]:
    """Check every row and create or update each item; any problem raises Invalid with all of them, so
    nothing is written. A dry run raises DryRun with the report: the caller's unit of work rolls back.
    `allowed` says whether the caller keeps the items of an organization."""
    sheets = read(data)
    s = uow.session
    out = Outcome()
    orgs = _org_lookup(s)

    def bad(sheet: str, row: int, zh: str, en: str) -> None:
        out.problems.append({"sheet": sheet, "row": row, "messages": {"zh": zh, "en": en}})

    bodies: dict[str, tuple[int, dict[str, Any]]] = {}
    for row, r in sheets[ITEM_SHEET]:
        if r["code"] in bodies:
            bad(ITEM_SHEET, row, f"事项编码 {r['code']} 重复", f"item code {r['code']} repeats")
            continue
        body: dict[str, Any] = {k: v for k, v in r.items() if k not in ("org", "deciding_org")}
        for key, col in (("org_id", "org"), ("deciding_org_id", "deciding_org")):
            if r[col]:
                org_id, problem = orgs(r[col])
                if problem:
                    bad(ITEM_SHEET, row, *problem)
                body[key] = org_id
        body.update(certificate_type=r["certificate_type"] or None, materials=[], form=[])
        bodies[r["code"]] = (row, body)
    for sheet, key in ((MATERIAL_SHEET, "materials"), (FORM_SHEET, "form")):
        for row, r in sheets[sheet]:
            if r["item"] not in bodies:
                bad(
                    sheet,
                    row,
                    f"事项编码 {r['item']} 不在“{ITEM_SHEET}”表中",
                    f"item {r['item']} is not listed",
                )
                continue
            entry = {k: v for k, v in r.items() if k != "item" and v != ""}
            for flag in ("required", "core", "rongque"):
                if flag in r:
                    value = r[flag].upper()
                    if value not in YES + NO:
                        bad(sheet, row, f"“{flag}”应填 是 或 否", f"{flag} must be 是 or 否")
                    entry[flag] = value in YES if value else flag == "required"
            if "formats" in entry:
                entry["formats"] = [f for f in SPLIT.split(entry["formats"]) if f]
            bodies[r["item"]][1][key].append(entry)
    checked: list[tuple[int, ItemIn]] = []
    for code, (row, body) in bodies.items():
        try:
            checked.append((row, ItemIn(**body)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            bad(
                ITEM_SHEET,
                row,
                f"事项 {code}：{where} {first['msg']}",
                f"item {code}: {where} {first['msg']}",
            )
    for row, item in checked:
        current = s.scalar(select(ServiceItem).where(ServiceItem.code == item.code))
        for org_id in {item.org_id, current.org_id if current else item.org_id}:
            if not allowed(org_id):
                bad(
                    ITEM_SHEET,
                    row,
                    f"无权维护机构 {org_id} 的事项",
                    f"no permission over organization {org_id}",
                )
        try:
            with s.begin_nested():
                if current is None:
                    item_services.create_item(uow, item)
                    out.created.append(item.code)
                else:
                    _, changed = item_services.update_item(uow, item.code, ItemBody(**item.model_dump()))
                    (out.updated if changed else out.unchanged).append(item.code)
        except DomainError as exc:
            bad(ITEM_SHEET, row, f"事项 {item.code}：{exc.detail_zh}", f"item {item.code}: {exc.detail_en}")
    if dry_run:
        raise DryRun(out.shown(True))
    if out.problems:
        raise Invalid(
            f"导入未执行：{len(out.problems)} 处问题（见 problems）",
            f"nothing imported: {len(out.problems)} problem(s) (see problems)",
            problems=out.problems,
        )
    return out.shown(dry_run)


def _org_lookup(s: Session) -> Callable[[str], tuple[int | None, tuple[str, str] | None]]:
    rows = list(s.execute(select(Org.id, Org.name, Org.credit_code).where(Org.active.is_(True))))
    by_name: dict[str, list[int]] = {}
    for oid, name, _ in rows:
        by_name.setdefault(name, []).append(oid)
    by_code = {code: oid for oid, _, code in rows if code}
    ids = {oid for oid, _, _ in rows}

    def find(text: str) -> tuple[int | None, tuple[str, str] | None]:
        if text.startswith("#") and text[1:].isdigit() and int(text[1:]) in ids:
            return int(text[1:]), None
        if text.upper() in by_code:
            return by_code[text.upper()], None
        found = by_name.get(text, [])
        if len(found) == 1:
            return found[0], None
        if found:
            return None, (f"机构名称“{text}”不唯一，请写统一社会信用代码或 #编号", f"{text} is ambiguous")
        return None, (f"机构“{text}”不存在", f"organization {text} not found")

    return find

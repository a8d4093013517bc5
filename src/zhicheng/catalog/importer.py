"""Importing a catalogue sheet: rows grouped into resources, each checked and saved in its own transaction,
so a bad resource is reported row by row and column by column without losing the good ones."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhicheng.catalog import services, vocab
from zhicheng.catalog.models import CatalogClass, Resource
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.catalog.transfer import (
    ITEM_COLUMNS,
    ITEM_VOCABS,
    MAX_PROBLEMS,
    RESOURCE_COLUMNS,
    SPLIT,
    VOCABS,
    Sheet,
)
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import DomainError, NotFound
from zhicheng.core.orgs.models import Org

# ---------------------------------------------------------------- importing


@dataclass
class Problem:
    row: int
    column: str | None
    zh: str
    en: str
    value: str = ""


@dataclass
class Group:
    """The rows of one resource."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # resource column → value
    first_row: dict[str, int] = field(default_factory=dict)  # resource column → row it came from
    conflict: bool = False  # its rows disagree on a resource column


class _Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


class _DryRun(Exception):
    """Raised inside the unit of work so that it rolls back what the services did."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome


def import_sheet(
    db: Database, actor: Actor, provider_org_id: int, sheet: Sheet, dry_run: bool = False
) -> dict:
    """Validate every row, then create or update each resource in its own transaction. Returns the report."""
    with db.read() as s:
        if s.get(Org, provider_org_id) is None:
            raise NotFound(f"提供方机构 {provider_org_id} 不存在", f"provider {provider_org_id} not found")
    problems: list[Problem] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    resources = []
    for group in _group(sheet, problems):
        rows = [n for n, _ in group.rows]
        entry = {"row": rows[0], "rows": rows, "name": group.merged.get("资源名称", "")}
        entry["code"] = group.merged.get("资源代码")
        found = _build(group, provider_org_id)
        if isinstance(found, list):
            outcome, trouble = "failed", found
        else:
            outcome, trouble = _save(db, actor, group, found, dry_run, entry)
        problems += trouble
        counts[outcome] += 1
        resources.append({**entry, "outcome": outcome})
    problems.sort(key=lambda p: p.row)
    return {
        "dry_run": dry_run,
        "file": {"format": sheet.kind, "encoding": sheet.encoding, "rows": len(sheet.rows)},
        "ignored_columns": sheet.ignored,
        "counts": counts,
        "ok": not problems,
        "resources": resources,
        "problems": [{**p.__dict__, "cell": _cell_name(sheet, p)} for p in problems[:MAX_PROBLEMS]],
        "problems_total": len(problems),
    }


def _cell_name(sheet: Sheet, p: Problem) -> str | None:
    index = sheet.columns.get(p.column or "")
    return None if index is None else f"{get_column_letter(index + 1)}{p.row}"


def _group(sheet: Sheet, problems: list[Problem]) -> list[Group]:
    """A filled 资源代码 names an existing resource; otherwise rows with the same 资源名称 form a new one.
    A row whose code is blank and whose name is blank or the same as above continues the resource above."""
    groups: dict[tuple[str, str], Group] = {}
    current: Group | None = None
    for number, row in sheet.rows:
        code, name = row.get("资源代码", ""), row.get("资源名称", "")
        if code:
            current = groups.setdefault(("code", code), Group())
        elif name and (current is None or name != current.merged.get("资源名称")):
            current = groups.setdefault(("name", name), Group())
        elif current is None:
            problems.append(Problem(number, "资源名称", "资源名称不能为空", "the resource name is required"))
            continue
        current.rows.append((number, row))
        for head in RESOURCE_COLUMNS:
            value = row.get(head, "")
            if not value:
                continue
            if head not in current.merged:
                current.merged[head], current.first_row[head] = value, number
            elif current.merged[head] != value:
                problems.append(
                    Problem(
                        number,
                        head,
                        f"与同一资源第 {current.first_row[head]} 行的取值“{current.merged[head]}”不一致",
                        f"differs from row {current.first_row[head]} of the same resource",
                        value,
                    )
                )
                current.conflict = True
    return list(groups.values())


def _build(group: Group, provider: int) -> ResourceIn | list[Problem]:
    """The resource the rows describe, or the problems that keep it from being one."""
    m, first = group.merged, group.rows[0][0]
    problems: list[Problem] = []

    def row_of(head: str) -> int:
        return group.first_row.get(head, first)

    def bad(head: str, zh: str, en: str, row: int | None = None) -> None:
        problems.append(Problem(row or row_of(head), head, zh, en, m.get(head, "")))

    body: dict[str, Any] = {"provider_org_id": provider, "name": m.get("资源名称", "")}
    body["class_code"] = m.get("资源分类代码", "")
    body["summary"] = m.get("摘要", "")
    for head in ("资源名称", "资源分类代码", "资源格式", "共享类型", "更新周期"):
        if not m.get(head):
            bad(head, f"“{head}”为必填项", f"{head} is required")
    for head, key in RESOURCE_COLUMNS.items():
        value = m.get(head, "")
        if key in VOCABS and value:
            found = vocab.key_for(VOCABS[key], value)
            if found is None:
                bad(head, *_not_in(value, VOCABS[key]))
            body[key] = found
    body["share_condition"] = m.get("共享条件") or None
    body["share_basis"] = m.get("共享依据") or None
    if body.get("share_type") == "conditional" and not body["share_condition"]:
        bad("共享条件", "有条件共享须写明共享条件", "a conditional resource must state its condition", first)
    if body.get("share_type") == "none" and not body["share_basis"]:
        bad("共享依据", "不予共享须写明法律、法规或政策依据", "refusing to share needs a legal basis", first)
    if m.get("发布日期"):
        body["published_on"] = parse_date(m["发布日期"])
        if body["published_on"] is None:
            bad("发布日期", "日期无法识别，请写作 2024-01-31", "unreadable date; write it as 2024-01-31")
    body["related_codes"] = _split(m.get("关联资源代码", ""))
    body["keywords"] = _split(m.get("关键词", ""))
    body["items"] = []
    seen: dict[str, int] = {}
    for number, row in group.rows:
        item: dict[str, Any] = {"name": row.get("信息项名称", ""), "description": row.get("信息项描述", "")}
        if not item["name"]:
            bad("信息项名称", "信息项名称不能为空", "the item name is required", number)
        elif item["name"] in seen:
            bad("信息项名称", f"信息项名称与第 {seen[item['name']]} 行重复", "duplicate item name", number)
        seen.setdefault(item["name"], number)
        for head, key in ITEM_COLUMNS.items():
            value = row.get(head, "")
            if key in ITEM_VOCABS and value:
                item[key] = vocab.key_for(ITEM_VOCABS[key], value)
                if item[key] is None:
                    problems.append(Problem(number, head, *_not_in(value, ITEM_VOCABS[key]), value))
        own, of_resource = item.get("share_type"), body.get("share_type")
        if own and of_resource and vocab.SHARE_ORDER[own] < vocab.SHARE_ORDER[of_resource]:
            problems.append(
                Problem(
                    number,
                    "信息项共享类型",
                    "信息项的共享类型不能宽于资源本身的共享类型",
                    "an item cannot be shared more freely than its resource",
                    row.get("信息项共享类型", ""),
                )
            )
        body["items"].append(item)
    if problems or group.conflict:
        return problems
    try:
        return ResourceIn.model_validate(body)
    except ValidationError as exc:
        return [_from_pydantic(e, group) for e in exc.errors()]


def _save(
    db: Database, actor: Actor, group: Group, data: ResourceIn, dry_run: bool, entry: dict
) -> tuple[str, list[Problem]]:
    code, first = group.merged.get("资源代码"), group.rows[0][0]
    try:
        with unit_of_work(db, actor) as uow:
            _check(uow.session, group, data)
            if code:
                res = uow.session.scalar(select(Resource).where(Resource.code == code))
                _keep_blank_form(res, data)
                before = res.version
                res = services.update_resource(uow, res.id, data, "表格导入")
                outcome = "updated" if res.version != before else "unchanged"
            else:
                res = services.create_resource(uow, data, "表格导入")
                outcome = "created"
            entry["code"] = None if dry_run and outcome == "created" else res.code
            if dry_run:
                raise _DryRun(outcome)
        return outcome, []
    except _DryRun as done:
        return done.outcome, []
    except _Refused as refused:
        return "failed", refused.problems
    except DomainError as exc:
        return "failed", [Problem(first, None, exc.detail_zh, exc.detail_en)]
    except IntegrityError:
        zh, en = "数据已被同时修改，请重新导入", "the data was changed at the same time; import again"
        return "failed", [Problem(first, None, zh, en)]


def _check(s: Session, group: Group, data: ResourceIn) -> None:
    """What only the database can tell, reported against the column it concerns."""
    m, first = group.merged, group.rows[0][0]
    problems = []

    def bad(head: str, zh: str, en: str) -> None:
        problems.append(Problem(group.first_row.get(head, first), head, zh, en, m.get(head, "")))

    if s.get(CatalogClass, data.class_code) is None:
        bad("资源分类代码", f"分类 {data.class_code} 不存在", f"class {data.class_code} not found")
    code = m.get("资源代码")
    if code:
        res = s.scalar(select(Resource).where(Resource.code == code))
        if res is None:
            bad(
                "资源代码",
                f"资源代码 {code} 不存在；新资源请留空",
                f"no resource {code}; leave it blank for new ones",
            )
        elif res.provider_org_id != data.provider_org_id:
            bad(
                "资源代码",
                f"资源 {code} 属于其他部门，不能在此修改",
                f"resource {code} belongs to another provider",
            )
        elif res.status == "retired":
            bad("资源代码", f"资源 {code} 已撤销，不能修改", f"resource {code} is retired and cannot change")
        elif res.class_code != data.class_code:
            bad(
                "资源分类代码",
                "分类变更会改变资源代码，请撤销后重新编目",
                "changing the class changes the code; retire and re-catalogue",
            )
    else:
        # importing the same file twice must not catalogue everything twice
        twin = s.scalar(
            select(Resource.code).where(
                Resource.provider_org_id == data.provider_org_id,
                Resource.name == data.name,
                Resource.status == "published",
            )
        )
        if twin:
            bad(
                "资源名称",
                f"本部门已有同名资源（资源代码 {twin}）；如要修改，请在“资源代码”列填写 {twin}",
                f"the provider already has this resource ({twin}); fill in 资源代码 to update it",
            )
    if data.related_codes:
        known = set(s.scalars(select(Resource.code).where(Resource.code.in_(data.related_codes))))
        missing = [c for c in data.related_codes if c not in known]
        if missing:
            bad(
                "关联资源代码",
                f"关联资源代码不存在：{'、'.join(missing)}",
                f"unknown related codes: {missing}",
            )
    if problems:
        raise _Refused(problems)


def _keep_blank_form(res: Resource, data: ResourceIn) -> None:
    """A blank cell and a stored "" or None are the same to the user: do not make a version of it."""
    for name in ("share_condition", "share_basis"):
        if not getattr(data, name) and not getattr(res, name):
            setattr(data, name, getattr(res, name))


def _from_pydantic(error: dict, group: Group) -> Problem:
    loc, first = [str(p) for p in error.get("loc", ())], group.rows[0][0]
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    zh, _, en = message.partition(" / ")
    if error.get("type") == "string_too_long":
        zh = f"内容过长（最多 {error.get('ctx', {}).get('max_length')} 字）"
    elif error.get("type") == "string_pattern_mismatch":
        zh = "格式不正确（应为数字）"
    elif not en:
        zh, en = f"取值无效：{message}", message
    if loc[:1] == ["items"] and len(loc) >= 2 and loc[1].isdigit() and int(loc[1]) < len(group.rows):
        number = group.rows[int(loc[1])][0]
        head = next((h for h, k in ITEM_COLUMNS.items() if loc[2:3] == [k]), None)
        return Problem(number, head, zh, en)
    head = next((h for h, k in RESOURCE_COLUMNS.items() if loc[:1] == [k]), None)
    return Problem(group.first_row.get(head or "", first), head, zh, en)


def _not_in(value: str, options: dict[str, str]) -> tuple[str, str]:
    return (
        f"“{value}”不是可选值，可选：{'、'.join(options.values())}",
        f"{value!r} is not one of: {', '.join(options)}",
    )


def _split(text: str) -> list[str]:
    return [p.strip() for p in SPLIT.split(text) if p.strip()]


def parse_date(text: str) -> dt.date | None:
    """2024-01-31, 2024/1/31, 2024.1.31, 2024年1月31日, 20240131, with or without a time; or an Excel
    day number that lost its date format."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", text)
    m = m or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    try:
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if text.isdigit() and 20000 <= int(text) <= 80000:
            return from_excel(int(text)).date()
    except ValueError:
        return None
    return None

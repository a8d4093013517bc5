"""What is missing or invalid in an application: the form's fields and the materials against an item version.
Pure (no database): the live reminders while the form is filled in, submission, supplements and acceptance all
ask the same function."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from zhicheng.core.errors import Invalid
from zhicheng.core.orgs import codes

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
MB = 1024 * 1024


class FileLike(Protocol):
    filename: str
    extension: str
    size: int


@dataclass(frozen=True)
class Problem:
    target: str  # field | material
    code: str
    kind: str  # missing | invalid | format | too_large | unknown
    zh: str
    en: str
    rongque: bool = False  # a missing 容缺-eligible material: acceptance may go ahead without it

    def shown(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "code": self.code,
            "kind": self.kind,
            "rongque": self.rongque,
            "messages": {"zh": self.zh, "en": self.en},
        }


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> list[Problem]:
        """Problems no acceptance can pass over: anything but a missing 容缺-eligible material."""
        return [p for p in self.problems if not p.rongque]

    @property
    def missing_rongque(self) -> list[str]:
        return [p.code for p in self.problems if p.rongque]

    @property
    def ok(self) -> bool:
        return not self.blocking

    @property
    def complete(self) -> bool:
        return not self.problems

    def shown(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "complete": self.complete,
            "missing_rongque": self.missing_rongque,
            "problems": [p.shown() for p in self.problems],
        }

    def raise_blocking(self) -> None:
        if self.blocking:
            first = self.blocking[0]
            n = len(self.blocking)
            raise Invalid(
                f"申请还有 {n} 处需要处理：{first.zh}" + ("等" if n > 1 else ""),
                f"the application has {n} problem(s): {first.en}",
                problems=[p.shown() for p in self.blocking],
            )


def check_field(spec: Mapping[str, Any], value: Any) -> Problem | None:
    key, label = spec["key"], spec["label"]
    if value is None or (isinstance(value, str) and not value.strip()):
        if spec.get("required", True):
            return Problem("field", key, "missing", f"请填写“{label}”", f"{label} is required")
        return None
    kind = spec.get("type", "text")
    text = str(value).strip()
    wrong = None
    if kind == "text":
        if not isinstance(value, str):
            wrong = ("应为文字", "must be text")
        elif len(text) > spec.get("max_length", 200):
            wrong = (
                f"最长 {spec.get('max_length', 200)} 字",
                f"is at most {spec.get('max_length', 200)} long",
            )
    elif kind == "number":
        try:
            float(text)
        except ValueError:
            wrong = ("应为数字", "must be a number")
    elif kind == "date":
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            wrong = ("应为日期 YYYY-MM-DD", "must be a date YYYY-MM-DD")
    elif kind == "phone":
        if not PHONE.match(text):
            wrong = ("应为手机号码或固定电话", "must be a mobile or landline number")
    elif kind in ("id_number", "credit_code"):
        try:
            (codes.resident_id if kind == "id_number" else codes.credit_code)(text)
        except Invalid as exc:
            wrong = (exc.detail_zh, exc.detail_en)
    if wrong:
        return Problem("field", key, "invalid", f"“{label}”{wrong[0]}", f"{label} {wrong[1]}")
    return None


def check_file(spec: Mapping[str, Any], f: FileLike) -> Problem | None:
    """A file against one material: an accepted format and within the size limit."""
    code, name = spec["code"], spec["name"]
    formats = spec.get("formats") or []
    if f.extension not in formats:
        return Problem(
            "material",
            code,
            "format",
            f"“{name}”只接受 {'、'.join(formats)} 格式，{f.filename} 不符合",
            f"{name} accepts {', '.join(formats)} only; {f.filename} is not one",
        )
    limit = int(spec.get("max_mb", 10))
    if f.size > limit * MB:
        return Problem(
            "material",
            code,
            "too_large",
            f"“{name}”的文件不能超过 {limit} MB（{f.filename} 为 {f.size / MB:.1f} MB）",
            f"{name} may be at most {limit} MB ({f.filename} is {f.size / MB:.1f} MB)",
        )
    return None


def check(
    item: Mapping[str, Any],
    form: Mapping[str, Any],
    files: Mapping[str, FileLike],
    only: set[str] | None = None,
) -> Report:
    """Every problem of `form` and `files` (material code → file) against the item snapshot (its `form` and
    `materials`). `only` limits the check to these field keys and material codes (a correction)."""
    report = Report()
    fields = {f["key"]: f for f in item.get("form", [])}
    materials = {m["code"]: m for m in item.get("materials", [])}
    for key in form:
        if key not in fields:
            report.problems.append(
                Problem("field", key, "unknown", f"表单没有字段 {key}", f"no form field {key}")
            )
    for code in files:
        if code not in materials:
            report.problems.append(
                Problem(
                    "material", code, "unknown", f"事项没有材料 {code}", f"the item has no material {code}"
                )
            )
    for key, spec in fields.items():
        if only is not None and key not in only:
            continue
        problem = check_field(spec, form.get(key))
        if problem:
            report.problems.append(problem)
    for code, spec in materials.items():
        if only is not None and code not in only:
            continue
        f = files.get(code)
        if f is None:
            if spec.get("required", True):
                rq = bool(spec.get("rongque"))
                tail = "（可容缺受理，受理后补交）" if rq else ""
                tail_en = " (容缺: may follow acceptance)" if rq else ""
                report.problems.append(
                    Problem(
                        "material",
                        code,
                        "missing",
                        f"缺少“{spec['name']}”{tail}",
                        f"{spec['name']} is missing{tail_en}",
                        rq,
                    )
                )
            continue
        problem = check_file(spec, f)
        if problem:
            report.problems.append(problem)
    return report

"""Message templates: a code, a title and a body in Chinese with `{placeholders}` filled from the data.

Modules register theirs at import (next to the code that enqueues), e.g.

    templates.register("approvals.case.accepted", "申请已受理", "您申请的{item}已受理，受理编号 {case_ref}。")

The rendered title and body are stored on the message, so what was sent stays on record; the code and
the data are stored too, for gateways that send pre-approved templates with parameters (SMS in China).
`notify.message` passes a caller's own title and body through.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from zhicheng.core.errors import Invalid

MAX_TITLE = 200
MAX_BODY = 4000


@dataclass(frozen=True)
class Template:
    code: str
    title: str
    body: str

    @cached_property  # every message rendered asks; the texts never change
    def fields(self) -> frozenset[str]:
        names = set()
        for text in (self.title, self.body):
            names |= {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(text) if f}
        return frozenset(names)


TEMPLATES: dict[str, Template] = {}


def register(code: str, title: str, body: str) -> str:
    old = TEMPLATES.get(code)
    if old is not None and (old.title, old.body) != (title, body):
        raise ValueError(f"notification template {code!r} is registered twice with different texts")
    TEMPLATES[code] = Template(code, title, body)
    return code


def render(code: str, data: dict[str, Any]) -> tuple[str, str]:
    """The title and body of a message; refuses an unknown template or missing data, so that a mistake
    shows in the cause's transaction (and its tests) rather than as a garbled message later."""
    tpl = TEMPLATES.get(code)
    if tpl is None:
        raise Invalid(f"未登记的通知模板：{code}", f"unknown notification template {code!r}")
    missing = sorted(tpl.fields.difference(data))
    if missing:
        raise Invalid(
            f"通知模板 {code} 缺少数据：{'、'.join(missing)}",
            f"notification template {code!r} lacks data: {', '.join(missing)}",
        )
    try:
        title, body = tpl.title.format_map(data), tpl.body.format_map(data)
    except (KeyError, IndexError, AttributeError, ValueError) as exc:
        raise Invalid(
            f"通知模板 {code} 无法填充", f"notification template {code!r} cannot be filled"
        ) from exc
    return title[:MAX_TITLE], body[:MAX_BODY]


MESSAGE = register("notify.message", "{title}", "{body}")

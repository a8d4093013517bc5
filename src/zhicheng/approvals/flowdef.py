"""Flow definitions: declarative JSON, parsed and checked here without a database.

    {"stages": [
      {"id": "accept", "kind": "accept", "days": 1, "next": "joint"},
      {"id": "joint", "kind": "joint_review", "days": 8, "departments": [12, 13, 14, 15],
       "on_reject": {"action": "return", "to": "pre"}, "next": "decide"},
      {"id": "decide", "kind": "decide", "days": 2, "next": "deliver"},
      {"id": "deliver", "kind": "deliver", "days": 10}]}

Stages: accept (one window), review (one department), joint_review (several departments in parallel; the
stage ends when all have concluded, and any rejection then does what `on_reject` says: reject the case, or
return to an earlier review stage), decide, deliver. Each stage has a budget in working days and, optionally,
the organization that acts (`org_id`; by default the item's window or deciding organization) and the roles
that may act (`roles`; by default anyone holding the stage's permission there). Every problem found is
reported at once, each naming its stage."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zhicheng.core.calendar.clock import MAX_WORKDAYS
from zhicheng.core.errors import Invalid

KINDS = {
    "accept": "受理",
    "review": "审查",
    "joint_review": "并联审查",
    "decide": "决定",
    "deliver": "送达",
}
QUEUE = {"review": "review", "joint_review": "review", "decide": "decide", "deliver": "deliver"}
REVIEWS = ("review", "joint_review")
ACCEPT_MAX_DAYS = 5  # 行政许可法 Art. 32: corrections are asked for at once or within 5 days
DELIVER_MAX_DAYS = 10  # 行政许可法 Art. 44: the certificate is delivered within 10 days of the decision
MAX_STAGES = 30
STAGE_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STAGE_KEYS = {"id", "kind", "name", "days", "next", "org_id", "departments", "roles", "on_reject"}


@dataclass(frozen=True)
class OnReject:
    action: str  # reject | return
    to: str | None = None


@dataclass(frozen=True)
class Stage:
    id: str
    kind: str
    name: str
    days: int
    next: str | None = None
    org_id: int | None = None
    departments: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()
    on_reject: OnReject = OnReject("reject")


@dataclass(frozen=True)
class Flow:
    stages: tuple[Stage, ...]
    by_id: dict[str, Stage] = field(default_factory=dict, compare=False)

    def stage(self, stage_id: str) -> Stage:
        return self.by_id[stage_id]

    @property
    def first(self) -> Stage:
        return self.stages[0]

    def path(self) -> list[Stage]:
        """The stages in order, following `next` from the accept stage."""
        out, at = [], self.first
        while True:
            out.append(at)
            if at.next is None:
                return out
            at = self.by_id[at.next]

    def decision_days(self) -> int:
        """Working days budgeted from acceptance to the decision: what the promised limit must cover."""
        return sum(s.days for s in self.path() if s.kind in (*REVIEWS, "decide"))

    def org_ids(self) -> set[int]:
        return {o for s in self.stages for o in (*s.departments, *([s.org_id] if s.org_id else []))}


class FlowInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]
        more = len(problems) - 1
        super().__init__(
            f"流程定义有 {len(problems)} 处错误：{first['zh']}" + (f"（另有 {more} 处）" if more else ""),
            f"the flow definition has {len(problems)} problem(s): {first['en']}"
            + (f" (and {more} more)" if more else ""),
            errors=problems,
        )


def parse(definition: Any, known_roles: dict[str, set[str]] | None = None) -> Flow:
    """The flow a definition describes, or FlowInvalid listing every problem. `known_roles` maps role codes
    to the permissions they carry (core.auth.permissions.ROLES), to check each stage's roles."""
    problems: list[dict[str, str]] = []

    def bad(stage: str | None, zh: str, en: str) -> None:
        problems.append({"stage": stage or "", "zh": zh, "en": en})

    if not isinstance(definition, dict) or not isinstance(definition.get("stages"), list):
        raise FlowInvalid(
            [{"stage": "", "zh": "定义应为含 stages 列表的对象", "en": "expected {stages: [...]}"}]
        )
    extra = set(definition) - {"stages", "name"}
    if extra:
        bad(None, f"未知的字段：{sorted(extra)}", f"unknown keys: {sorted(extra)}")
    raw = definition["stages"]
    if not raw or len(raw) > MAX_STAGES:
        raise FlowInvalid(
            [
                {
                    "stage": "",
                    "zh": f"应有 1 到 {MAX_STAGES} 个环节",
                    "en": f"expected 1 to {MAX_STAGES} stages",
                }
            ]
        )
    stages: list[Stage] = []
    for n, item in enumerate(raw, 1):
        stage = _stage(item, n, bad, known_roles)
        if stage is not None:
            if any(s.id == stage.id for s in stages):
                bad(stage.id, f"环节标识 {stage.id} 重复", f"stage id {stage.id} appears twice")
                continue
            stages.append(stage)
    if problems:
        raise FlowInvalid(problems)
    flow = Flow(tuple(stages), {s.id: s for s in stages})
    _structure(flow, bad)
    if problems:
        raise FlowInvalid(problems)
    return flow


def _stage(item: Any, n: int, bad: Any, known_roles: dict[str, set[str]] | None) -> Stage | None:
    if not isinstance(item, dict):
        bad(f"#{n}", f"第 {n} 个环节应为对象", f"stage #{n} must be an object")
        return None
    sid = item.get("id")
    if not isinstance(sid, str) or not STAGE_ID.match(sid):
        bad(
            f"#{n}",
            f"第 {n} 个环节的标识无效（小写字母开头，字母数字下划线）",
            f"stage #{n}: invalid id {sid!r}",
        )
        return None
    extra = set(item) - STAGE_KEYS
    if extra:
        bad(sid, f"环节 {sid} 有未知字段：{sorted(extra)}", f"stage {sid}: unknown keys {sorted(extra)}")
    kind = item.get("kind")
    if kind not in KINDS:
        bad(
            sid,
            f"环节 {sid} 的类型 {kind!r} 未知，应为 {'、'.join(KINDS)} 之一",
            f"stage {sid}: unknown stage kind {kind!r}; expected one of {', '.join(KINDS)}",
        )
        return None
    days = item.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_WORKDAYS:
        bad(
            sid,
            f"环节 {sid} 的时限应为 0 到 {MAX_WORKDAYS} 的整数（工作日）",
            f"stage {sid}: days must be an integer",
        )
        days = 0
    limit = {"accept": ACCEPT_MAX_DAYS, "deliver": DELIVER_MAX_DAYS}.get(kind)
    if limit is not None and days > limit:
        bad(
            sid,
            f"环节 {sid}（{KINDS[kind]}）的时限不能超过 {limit} 个工作日",
            f"stage {sid} ({kind}) may take at most {limit} working days",
        )
    name = item.get("name") or KINDS[kind]
    if not isinstance(name, str) or len(name) > 60:
        bad(sid, f"环节 {sid} 的名称最长 60 字", f"stage {sid}: name is at most 60 characters")
        name = KINDS[kind]
    nxt = item.get("next")
    if nxt is not None and not isinstance(nxt, str):
        bad(sid, f"环节 {sid} 的 next 应为环节标识", f"stage {sid}: next must be a stage id")
        nxt = None
    org_id = item.get("org_id")
    if org_id is not None and (not isinstance(org_id, int) or isinstance(org_id, bool)):
        bad(sid, f"环节 {sid} 的 org_id 应为机构编号", f"stage {sid}: org_id must be an organization id")
        org_id = None
    departments = _departments(sid, kind, item.get("departments"), org_id, bad)
    roles = _roles(sid, kind, item.get("roles"), bad, known_roles)
    on_reject = _on_reject(sid, kind, item.get("on_reject"), bad)
    return Stage(sid, kind, name, days, nxt, org_id, departments, roles, on_reject)


def _departments(sid: str, kind: str, value: Any, org_id: int | None, bad: Any) -> tuple[int, ...]:
    if kind != "joint_review":
        if value:
            bad(
                sid,
                f"只有并联审查环节可列多个部门（{sid}）",
                f"stage {sid}: only joint_review lists departments",
            )
        return ()
    if org_id is not None:
        bad(sid, f"并联审查环节 {sid} 用 departments 列出部门，不用 org_id", f"stage {sid}: use departments")
    ok = isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    if not ok or len(value) < 2:
        bad(
            sid,
            f"并联审查环节 {sid} 至少需要两个部门（机构编号）",
            f"stage {sid}: a joint review needs 2+ departments",
        )
        return ()
    if len(set(value)) != len(value):
        bad(sid, f"并联审查环节 {sid} 的部门重复", f"stage {sid}: a department is listed twice")
    return tuple(dict.fromkeys(value))


PERMISSION_OF = {
    "accept": "approvals.accept",
    "deliver": "approvals.accept",
    "review": "approvals.review",
    "joint_review": "approvals.review",
    "decide": "approvals.decide",
}


def _roles(sid: str, kind: str, value: Any, bad: Any, known: dict[str, set[str]] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        bad(sid, f"环节 {sid} 的 roles 应为角色代码列表", f"stage {sid}: roles must be a list of role codes")
        return ()
    for role in value:
        if known is None:
            continue
        if role not in known:
            bad(sid, f"环节 {sid} 的角色 {role} 不存在", f"stage {sid}: unknown role {role}")
        elif PERMISSION_OF[kind] not in known[role] and "*" not in known[role]:
            bad(
                sid,
                f"角色 {role} 没有 {PERMISSION_OF[kind]} 权限，不能办理环节 {sid}",
                f"role {role} lacks {PERMISSION_OF[kind]} and cannot act in stage {sid}",
            )
    return tuple(value)


def _on_reject(sid: str, kind: str, value: Any, bad: Any) -> OnReject:
    if value is None:
        return OnReject("reject")
    if kind not in REVIEWS:
        bad(sid, f"只有审查环节可设 on_reject（{sid}）", f"stage {sid}: only review stages have on_reject")
        return OnReject("reject")
    if not isinstance(value, dict) or value.get("action") not in ("reject", "return"):
        bad(sid, f"环节 {sid} 的 on_reject.action 应为 reject 或 return", f"stage {sid}: on_reject.action")
        return OnReject("reject")
    if value["action"] == "return":
        to = value.get("to")
        if not isinstance(to, str):
            bad(
                sid, f"环节 {sid} 退回时须以 to 指明退回的环节", f"stage {sid}: a return names its stage (to)"
            )
            return OnReject("reject")
        return OnReject("return", to)
    return OnReject("reject")


def _structure(flow: Flow, bad: Any) -> None:
    counts = {k: sum(s.kind == k for s in flow.stages) for k in KINDS}
    if flow.first.kind != "accept":
        bad(flow.first.id, "第一个环节应为受理（accept）", "the first stage must be the accept stage")
    if counts["accept"] != 1 or counts["decide"] != 1 or counts["deliver"] > 1:
        bad(
            None,
            "应有且只有一个受理、一个决定环节，至多一个送达环节",
            "one accept, one decide, at most one deliver",
        )
    for s in flow.stages:
        if s.next is not None and s.next not in flow.by_id:
            bad(
                s.id,
                f"环节 {s.id} 的下一环节 {s.next} 不存在",
                f"stage {s.id}: next stage {s.next} does not exist",
            )
            return
        if s.kind == "deliver" and s.next is not None:
            bad(s.id, "送达环节应为最后一个环节", "the deliver stage must be the last")
        if s.kind == "decide" and s.next is not None and flow.by_id[s.next].kind != "deliver":
            bad(s.id, "决定环节之后只能是送达环节", "only the deliver stage may follow the decide stage")
        if s.kind in ("accept", *REVIEWS) and s.next is None:
            bad(s.id, f"环节 {s.id} 缺少下一环节（next）", f"stage {s.id} has no next stage")
    seen: list[str] = []
    at: Stage | None = flow.first
    while at is not None:
        if at.id in seen:
            bad(at.id, f"环节 {at.id} 形成循环", f"the stages loop at {at.id}")
            return
        seen.append(at.id)
        at = flow.by_id.get(at.next) if at.next else None
    for s in flow.stages:
        if s.id not in seen:
            bad(s.id, f"环节 {s.id} 从受理环节无法到达", f"stage {s.id} is unreachable from the accept stage")
        if s.on_reject.action == "return":
            to = flow.by_id.get(s.on_reject.to or "")
            if to is None or to.kind not in REVIEWS or s.on_reject.to not in seen[: seen.index(s.id) + 1]:
                bad(
                    s.id,
                    f"环节 {s.id} 只能退回到它之前（或它自身）的审查环节，而不是 {s.on_reject.to}",
                    f"stage {s.id} may only return to an earlier review stage (or itself), "
                    f"not {s.on_reject.to}",
                )


def check_budget(flow: Flow, promised_days: int, what: str) -> None:
    """The stages from acceptance to the decision must fit in the promised limit of the item `what`."""
    days = flow.decision_days()
    if days > promised_days:
        raise Invalid(
            f"流程各审查和决定环节时限合计 {days} 个工作日，"
            f"超过事项“{what}”的承诺时限 {promised_days} 个工作日",
            f"the review and decide stages take {days} working days, more than the promised limit "
            f"({promised_days}) of item {what}",
        )


def stage_orgs(stage: Stage, window_org: int, deciding_org: int) -> list[int]:
    """The organizations that act in a stage: its own, or the item's window / deciding organization."""
    if stage.kind == "joint_review":
        return list(stage.departments)
    if stage.org_id is not None:
        return [stage.org_id]
    return [window_org] if stage.kind in ("accept", "deliver") else [deciding_org]


def names(values: Iterable[str]) -> str:
    return "、".join(values)

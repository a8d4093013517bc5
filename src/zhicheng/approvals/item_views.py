"""Console pages of the service item catalog and the flows (事项与流程), for staff: the catalog with who
really decides (approval-bureau mode: "由 X 实施，Y 审批"), the limits and the version; an item's page with
its materials, form, versions (what changed in each) and its flow drawn as SVG (flowdraw.py); the flows with
their versions, each drawn. Everyone signed in may read (the catalog is the public 办事指南); holders of
approvals.items also get the Excel export and import of /api/v1/approvals/items.xlsx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from zhicheng.approvals import flowdraw, flows, queries
from zhicheng.approvals.flowdef import KINDS
from zhicheng.approvals.models import FlowVersion, ServiceItem
from zhicheng.approvals.permissions import ITEMS
from zhicheng.approvals.vocab import ITEM_KINDS, key_for
from zhicheng.core.auth import permissions as P
from zhicheng.core.auth.principal import Principal
from zhicheng.core.errors import Invalid, NotFound
from zhicheng.core.paging import encode
from zhicheng.web import nav
from zhicheng.web.deps import Me, Reader
from zhicheng.web.forms import page
from zhicheng.web.i18n import request_lang
from zhicheng.web.security import access as route_access

router = APIRouter(include_in_schema=False)
# staff read the catalog (reviewers, windows, supervisors, managers hold orgs.read); applicants use the portal
nav.add("一网通办", "事项与流程", "/approvals/items", P.ORGS_READ, order=66)

PAGE = 100
FIELD_ZH = {
    "code": "事项编码",
    "name": "事项名称",
    "kind": "事项类型",
    "org_id": "实施主体",
    "deciding_org_id": "审批部门",
    "legal_basis": "设定依据",
    "conditions": "受理条件",
    "statutory_days": "法定时限",
    "promised_days": "承诺时限",
    "fee": "收费",
    "result_name": "办理结果",
    "certificate_type": "证照类型",
    "materials": "申请材料",
    "form": "申请表单",
    "flow_code": "办理流程",
    "status": "状态",
}
STATUS_ZH = {"active": "在用", "retired": "已停用"}
ORG_FIELDS = ("org_id", "deciding_org_id")


def _drawing(
    request: Request, s: Any, row: FlowVersion, window: int | None = None, decider: int | None = None
) -> str:
    flow = flows.parsed(row)
    names = queries.org_names(s, {*flow.org_ids(), window, decider})
    return flowdraw.draw(flow, names, window, decider, lang=request_lang(request))


# --- the catalog --------------------------------------------------------------------------------------------


@router.get("/approvals/items")
@route_access(P.SELF)
def catalog(
    request: Request,
    s: Reader,
    me: Me,
    q: str = "",
    kind: str = "",
    status: str = "active",
    cursor: str | None = None,
) -> Any:
    """The service items: code, name, kind, who implements and who really decides, limits, version."""
    key = key_for(ITEM_KINDS, kind) if kind else None
    if kind and key is None:
        raise Invalid(f"事项类型 {kind} 未知", f"unknown item kind {kind}")
    if status not in ("active", "retired", "all"):
        raise Invalid("状态应为在用、已停用或全部", "status must be active, retired or all")
    rows = queries.items(s, q.strip() or None, None, key, None if status == "all" else status, PAGE, cursor)
    shown = rows[:PAGE]
    return page(
        request,
        "approvals/items.html",
        {
            "items": queries.items_out(s, shown),
            "q": q,
            "kind": key or "",
            "status": status,
            "kinds": ITEM_KINDS,
            "status_zh": STATUS_ZH,
            "next_cursor": encode(shown[-1].id) if len(rows) > PAGE and shown else None,
            "can_edit": bool(me.paths(ITEMS)),
        },
    )


def _changes(s: Any, versions: list[Any]) -> list[dict[str, Any]]:
    """Each version with what changed from the one before: scalar fields as old → new (organizations by
    name), materials and form as changed."""
    ids = {v.snapshot.get(f) for v in versions for f in ORG_FIELDS}
    names = queries.org_names(s, ids)
    out, before = [], None
    for v in versions:
        changes = []
        for f in v.changed_fields:
            new, old = v.snapshot.get(f), (before or {}).get(f)
            if f in ORG_FIELDS:
                new, old = names.get(new, new or ""), names.get(old, old or "")
            if f in ("materials", "form"):
                changes.append(
                    {"field": f, "label": FIELD_ZH.get(f, f), "old": None, "new": None, "list": True}
                )
            else:
                shown_old = old if before is not None else None
                changes.append(
                    {"field": f, "label": FIELD_ZH.get(f, f), "old": shown_old, "new": new, "list": False}
                )
        out.append({"version": v.version, "at": v.at, "actor": v.actor, "note": v.note, "changes": changes})
        before = v.snapshot
    return out[::-1]


@router.get("/approvals/items/{code}")
@route_access(P.SELF)
def item_page(request: Request, code: str, s: Reader, me: Me) -> Any:
    it: ServiceItem = queries.item(s, code)
    shown = queries.item_out(s, it)
    try:
        row = flows.latest(s, it.flow_code)
    except Invalid:
        row = None
    return page(
        request,
        "approvals/items_detail.html",
        {
            "item": shown,
            "kind_zh": ITEM_KINDS,
            "status_zh": STATUS_ZH,
            "versions": _changes(s, queries.versions(s, code)),
            "flow": row,
            "svg": _drawing(request, s, row, it.org_id, it.deciding_org_id or it.org_id) if row else "",
            "can_edit": me.can(ITEMS, queries.org_path(s, it.org_id)),
        },
    )


# --- flows --------------------------------------------------------------------------------------------------


def _flow_row(request: Request, s: Any, row: FlowVersion) -> dict[str, Any]:
    flow = flows.parsed(row)
    return {
        "code": row.code,
        "name": row.name,
        "version": row.version,
        "owner": queries.org_names(s, [row.owner_org_id]).get(row.owner_org_id, ""),
        "created_at": row.created_at,
        "created_by": row.created_by,
        "note": row.note,
        "stages": [{"id": st.id, "name": st.name, "kind": st.kind, "days": st.days} for st in flow.path()],
        "decision_days": flow.decision_days(),
        "svg": _drawing(request, s, row),
    }


@router.get("/approvals/flows")
@route_access(P.SELF)
def flow_list(request: Request, s: Reader, me: Me) -> Any:
    """The flows in force (latest versions), each with its versions and its drawing."""
    shown = []
    for row in queries.flows_latest(s):
        one = _flow_row(request, s, row)
        one["versions"] = [v.version for v in queries.flow_versions(s, row.code)]
        one["items"] = [(i.code, i.name) for i in queries.items_on_flow(s, row.code)]
        shown.append(one)
    return page(request, "approvals/flows.html", {"flows": shown, "kind_zh": KINDS})


@router.get("/approvals/flows/{code}")
@route_access(P.SELF)
def flow_page(request: Request, code: str, s: Reader, me: Me, version: int | None = None) -> Any:
    """One flow: the chosen version (the latest by default) drawn, with the list of versions."""
    versions = queries.flow_versions(s, code)
    if not versions:
        raise NotFound(f"办理流程 {code} 不存在", f"flow {code} not found")
    row = versions[0] if version is None else flows.version(s, code, version)
    return page(
        request,
        "approvals/flow_detail.html",
        {
            "flow": _flow_row(request, s, row),
            "versions": [
                {"version": v.version, "at": v.created_at, "by": v.created_by, "note": v.note}
                for v in versions
            ],
            "items": [(i.code, i.name) for i in queries.items_on_flow(s, code)],
            "kind_zh": KINDS,
            "definition": row.definition,
            "me_can_edit": _can_edit(me),
        },
    )


def _can_edit(me: Principal) -> bool:
    return bool(me.paths(ITEMS))

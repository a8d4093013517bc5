"""Console pages for organizations and administrative divisions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError

from zhicheng.core.auth import permissions as P
from zhicheng.core.auth import queries as auth_queries
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Invalid
from zhicheng.core.orgs import queries, services
from zhicheng.core.orgs.codes import LEVEL_ZH, LEVELS
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import PAGE_SIZE, blank, done, failure, page, say, to_int
from zhicheng.web.i18n import request_lang, translate
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("组织与权限", "机构", "/orgs", P.ORGS_READ, order=10)
nav.add("组织与权限", "行政区划", "/divisions", P.ORGS_READ, order=11)

# --- organizations ------------------------------------------------------------------------------------
KINDS = {"government": "政府", "department": "部门", "institution": "事业单位"}


def _division_names(s: Any) -> dict[str, str]:
    return {d.code: d.name for d in queries.divisions(s)}


def _named(s: Any, ids: set[int | None]) -> dict[int, str]:
    """Names of the orgs that rows point at (块 parents, 条 line parents); the session caches repeats."""
    return {i: queries.org(s, i).name for i in ids if i}


def _placeable_divisions(s: Any) -> list[Any]:
    # organizations sit at province, city, county and street level; communities have no government here
    return [d for d in queries.divisions(s) if d.level != "community"]


@router.get("/orgs")
@access(P.ORGS_READ)
def org_list(
    request: Request, s: Reader, me: Me, q: str = "", kind: str = "", division: str = "", after: str = ""
) -> Any:
    error, rows, status = None, [], 200
    try:
        rows = queries.orgs(
            s,
            me.paths(P.ORGS_READ),
            blank(q),
            blank(division),
            blank(kind),
            PAGE_SIZE + 1,
            to_int(after, "after"),
        )
    except DomainError as exc:
        error, status = failure(request, exc)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return page(
        request,
        "orgs/list.html",
        {
            "rows": rows,
            "error": error,
            "kinds": KINDS,
            "filters": {"q": q, "kind": kind, "division": division},
            "divisions": [d for d in queries.divisions(s) if d.level in ("province", "prefecture", "county")],
            "division_names": _division_names(s),
            "names": _named(s, {o.parent_id for o in rows} | {o.line_parent_id for o in rows}),
            "next_after": rows[-1].id if more else None,
            "can_manage": me.can(P.ORGS_MANAGE),
        },
        status,
    )


def _org_form(
    request: Request, s: Any, me: Any, form: dict[str, Any], error: str | None = None, status: int = 200
) -> Any:
    return page(
        request,
        "orgs/new.html",
        {
            "form": form,
            "error": error,
            "kinds": KINDS,
            "parents": queries.orgs(s, me.paths(P.ORGS_MANAGE), limit=1000),
            "lines": [
                o for o in queries.orgs(s, me.paths(P.ORGS_READ), limit=1000) if o.kind != "government"
            ],
            "divisions": _placeable_divisions(s),
            "level_zh": LEVEL_ZH,
        },
        status,
    )


@router.get("/orgs/new")
@access(P.ORGS_MANAGE)
def org_new(request: Request, s: Reader, me: Me, parent: str = "") -> Any:
    return _org_form(request, s, me, {"parent_id": parent, "kind": "department"})


@router.post("/orgs/new")
@access(P.ORGS_MANAGE)
def org_create(
    request: Request,
    db: DB,
    me: Me,
    name: Annotated[str, Form()] = "",
    short_name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    division_code: Annotated[str, Form()] = "",
    parent_id: Annotated[str, Form()] = "",
    line_parent_id: Annotated[str, Form()] = "",
    credit_code: Annotated[str, Form()] = "",
) -> Any:
    form = {
        "name": name,
        "short_name": short_name,
        "kind": kind,
        "division_code": division_code,
        "parent_id": parent_id,
        "line_parent_id": line_parent_id,
        "credit_code": credit_code,
    }
    try:
        data = OrgIn(
            name=name.strip(),
            short_name=blank(short_name),
            kind=kind,
            division_code=division_code,
            parent_id=to_int(parent_id, "parent_id"),
            line_parent_id=to_int(line_parent_id, "line_parent_id"),
            credit_code=blank(credit_code),
        )
        if data.parent_id is None:
            # the console creates organizations under one the caller manages; top-level ones come from the CLI
            raise Invalid("请选择上级机构", "choose the parent organization")
        with unit_of_work(db, me.actor) as uow:
            require(me, P.ORGS_MANAGE, queries.org(uow.session, data.parent_id).path)
            org_id = services.create_org(uow, data).id
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _org_form(request, s, me, form, message, status)
    name = data.name
    return done(f"/orgs/{org_id}", say(request, f"已创建机构：{name}", f"Organization created: {name}"))


@router.get("/orgs/{org_id}")
@access(P.ORGS_READ)
def org_detail(request: Request, org_id: int, s: Reader, me: Me) -> Any:
    org = queries.org(s, org_id)
    require(me, P.ORGS_READ, org.path)
    subtree = queries.orgs(s, [org.path], limit=1000)
    children = [o for o in subtree if o.parent_id == org.id]
    users = []
    if me.can(P.USERS_READ, org.path):
        users = [u for u in auth_queries.users(s, [org.path], limit=1000) if u.org_id == org.id]
    return page(
        request,
        "orgs/detail.html",
        {
            "org": org,
            "children": children,
            "users": users,
            "kinds": KINDS,
            "names": _named(s, {org.parent_id, org.line_parent_id}),
            "division_names": _division_names(s),
            "can_manage": me.can(P.ORGS_MANAGE, org.path),
            "can_users": me.can(P.USERS_READ, org.path),
        },
    )


# --- divisions ----------------------------------------------------------------------------------------


def _tree(
    divisions: list[Any], root: str | None, q: str | None, depth_limit: str | None
) -> list[tuple[int, Any]]:
    """(depth, division) in tree order; with a search text, the matches and the branches leading to them."""
    children: dict[str | None, list[Any]] = {}
    by_code = {d.code: d for d in divisions}
    for d in divisions:
        children.setdefault(d.parent_code if d.parent_code in by_code else None, []).append(d)
    keep: set[str] | None = None
    if q:
        keep = set()
        for d in divisions:
            if q in d.name or d.code.startswith(q):
                node: Any = d
                while node is not None and node.code not in keep:
                    keep.add(node.code)
                    node = by_code.get(node.parent_code or "")
    max_depth = LEVELS.index(depth_limit) if depth_limit in LEVELS else len(LEVELS)
    out: list[tuple[int, Any]] = []
    stack = [(0, d) for d in reversed(children.get(None, []) if root is None else [by_code[root]])]
    while stack:
        depth, d = stack.pop()
        if keep is not None and d.code not in keep:
            continue
        out.append((depth, d))
        if LEVELS.index(d.level) < max_depth:
            stack.extend((depth + 1, c) for c in reversed(children.get(d.code, [])))
    return out


def _divisions_page(
    request: Request,
    s: Any,
    me: Any,
    q: str,
    level: str,
    root: str,
    form: dict[str, Any],
    error: str | None = None,
    status: int = 200,
) -> Any:
    divisions = queries.divisions(s)
    known = {d.code for d in divisions}
    rows = _tree(divisions, root if root in known else None, blank(q), blank(level))
    return page(
        request,
        "orgs/divisions.html",
        {
            "rows": rows,
            "levels": LEVELS,
            "level_zh": LEVEL_ZH,
            "filters": {"q": q, "level": level, "root": root},
            "form": form,
            "error": error,
            "can_manage": me.can(P.ORGS_MANAGE),
            "total": len(divisions),
            "parents": [d for d in divisions if d.level != "community"],
        },
        status,
    )


@router.get("/divisions")
@access(P.ORGS_READ)
def division_tree(
    request: Request, s: Reader, me: Me, q: str = "", level: str = "", root: str = "", parent: str = ""
) -> Any:
    return _divisions_page(request, s, me, q, level, root, {"parent_code": parent})


@router.post("/divisions")
@access(P.ORGS_MANAGE)
def division_create(
    request: Request,
    db: DB,
    me: Me,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    parent_code: Annotated[str, Form()] = "",
) -> Any:
    form = {"code": code, "name": name, "parent_code": parent_code}
    try:
        data = DivisionIn(code=code.strip(), name=name.strip(), parent_code=blank(parent_code))
        with unit_of_work(db, me.actor) as uow:
            services.create_division(uow, data)
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _divisions_page(request, s, me, "", "", "", form, message, status)
    lang = request_lang(request)
    return done(
        f"/divisions?q={quote(data.code)}", f"{translate('已添加行政区划：', lang)}{data.code} {data.name}"
    )

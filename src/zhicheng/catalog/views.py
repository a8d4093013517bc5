"""Console pages of the data resource catalog: search with facets, the resource page with its history,
and the cataloguing form. Reads go through catalog.queries; writes only through catalog.services."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.catalog import queries, services, vocab
from zhicheng.catalog.models import CatalogClass, Resource
from zhicheng.catalog.permissions import CATALOG_MANAGE, CATALOG_READ
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.catalog.search import search
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Conflict, DomainError
from zhicheng.core.orgs import queries as org_queries
from zhicheng.core.orgs.models import Org
from zhicheng.web import nav
from zhicheng.web.deps import DB, Me, Reader, require
from zhicheng.web.forms import done, failure, page, say, to_int
from zhicheng.web.i18n import request_lang, translate
from zhicheng.web.security import access

router = APIRouter(include_in_schema=False)
nav.add("数据共享", "数据资源目录", "/catalog", CATALOG_READ, order=60)
nav.add("数据共享", "编目", "/catalog/new", CATALOG_MANAGE, order=61)

PAGE = 20
BLANK_ROWS = 3  # empty item rows offered by the form, so that adding items works without JavaScript
# the facets, in the order the page shows them; "class" is the top-level class (类, the code's 1st digit)
FACETS = ("provider_org_id", "class", "share_type", "grade", "format", "update_cycle")
FACET_ZH = {
    "provider_org_id": "提供方",
    "class": "资源分类",
    "share_type": "共享类型",
    "grade": "数据分级",
    "format": "资源格式",
    "update_cycle": "更新周期",
}
VOCABS = {
    "format": vocab.FORMATS,
    "share_type": vocab.SHARE_TYPES,
    "share_mode": vocab.SHARE_MODES,
    "open_type": vocab.OPEN_TYPES,
    "update_cycle": vocab.UPDATE_CYCLES,
    "grade": vocab.GRADES,
    "status": vocab.STATUSES,
}
# every catalogued field's label: the page, the history's "changed fields" and readable form errors
FIELD_ZH = {
    "code": "资源代码",
    "name": "资源名称",
    "class_code": "资源分类",
    "provider_org_id": "提供方",
    "summary": "摘要",
    "format": "资源格式",
    "share_type": "共享类型",
    "share_condition": "共享条件",
    "share_basis": "不予共享依据",
    "share_mode": "共享方式",
    "open_type": "开放类型",
    "update_cycle": "更新周期",
    "grade": "数据分级",
    "published_on": "发布日期",
    "related_codes": "关联资源",
    "keywords": "关键词",
    "status": "状态",
    "items": "信息项",
    "data_type": "数据类型",
    "description": "描述",
    "sensitivity": "敏感类别",
}
ERROR_ZH = {
    "missing": "必填",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "int_parsing": "应为数字",
    "date_from_datetime_parsing": "应为日期（年-月-日）",
    "date_parsing": "应为日期（年-月-日）",
}


# --- search -------------------------------------------------------------------------------------------
find = search


def _filters(request: Request) -> dict[str, str]:
    """The facets chosen in the URL, by facet name ("class" is a top-level class code)."""
    return {k: v.strip() for k in FACETS if (v := request.query_params.get(k, "")).strip()}


def _search_filters(chosen: dict[str, str]) -> dict[str, Any]:
    """The chosen facets as search filters: the provider an id, the top-level class a code prefix."""
    out: dict[str, Any] = {("class_code" if k == "class" else k): v for k, v in chosen.items()}
    if "provider_org_id" in out:
        out["provider_org_id"] = to_int(out["provider_org_id"], "provider_org_id")
    return out


def _org_names(s: Session, ids: set[Any]) -> dict[int, str]:
    wanted = {int(i) for i in ids if i}
    if not wanted:
        return {}
    return dict(s.execute(select(Org.id, Org.name).where(Org.id.in_(wanted))).all())


def _facet_label(key: str, value: Any, orgs: dict[int, str], classes: dict[str, str], lang: str) -> str:
    if key == "provider_org_id":
        return orgs.get(int(value), str(value))
    if key == "class":
        return f"{value} {classes.get(str(value), '')}".strip()
    return translate(VOCABS[key].get(value, str(value)), lang)


@router.get("/catalog")
@access(CATALOG_READ)
def catalog_list(request: Request, s: Reader, me: Me, q: str = "", offset: int = 0) -> Any:
    error, status, chosen = None, 200, _filters(request)
    try:
        filters = _search_filters(chosen)
    except DomainError as exc:
        (error, status), chosen, filters = failure(request, exc), {}, {}
    offset = max(offset, 0)
    found = find(s, q.strip(), filters, limit=PAGE, offset=offset)
    lang = request_lang(request)
    orgs = _org_names(
        s, {h.provider_org_id for h in found.hits} | {k for k, _ in found.facets.get("provider_org_id", [])}
    )
    classes = {c.code: c.name for c in queries.classes(s)}
    current = {"q": q, **chosen}

    def href(**change: Any) -> str:
        params = {k: v for k, v in {**current, **change}.items() if v not in (None, "")}
        return "/catalog" + (f"?{urlencode(params)}" if params else "")

    facets = [
        (
            key,
            FACET_ZH[key],
            [  # (label, count, link, chosen); a chosen value's link takes the filter off again
                (_facet_label(key, k, orgs, classes, lang), n, href(**{key: None if on else k}), on)
                for k, n in found.facets.get(key, [])
                for on in [str(k) == current.get(key)]
            ],
        )
        for key in FACETS
    ]
    return page(
        request,
        "catalog/list.html",
        {
            "found": found,
            "q": q,
            "error": error,
            "facets": facets,
            "chosen": [
                (k, v, FACET_ZH[k], _facet_label(k, v, orgs, classes, lang), href(**{k: None}, offset=None))
                for k, v in chosen.items()
            ],
            "orgs": orgs,
            "vocabs": VOCABS,
            "prev": href(offset=offset - PAGE or None) if offset > 0 else None,
            "next": href(offset=offset + PAGE) if offset + PAGE < found.total else None,
            "offset": offset,
            "can_manage": me.can(CATALOG_MANAGE),
        },
        status,
    )


# --- the resource page ------------------------------------------------------------------------------


def _class_path(s: Session, code: str) -> list[CatalogClass]:
    """类 › 项 › 目 (› 细目) down to the resource's class."""
    chain, node = [], s.get(CatalogClass, code)
    while node is not None:
        chain.insert(0, node)
        node = s.get(CatalogClass, node.parent_code) if node.parent_code else None
    return chain


def _meta_context(s: Session, snap: dict[str, Any]) -> dict[str, Any]:
    """What the metadata and items tables need for a snapshot (current or historical)."""
    related = {}
    if snap.get("related_codes"):
        rows = s.execute(
            select(Resource.code, Resource.id, Resource.name).where(Resource.code.in_(snap["related_codes"]))
        )
        related = {code: (rid, name) for code, rid, name in rows}
    return {
        "meta": snap,
        "provider": s.get(Org, snap["provider_org_id"]),
        "class_path": _class_path(s, snap["class_code"]),
        "related": related,
        "vocabs": VOCABS,
        "fields": FIELD_ZH,
        "data_types": vocab.DATA_TYPES,
        "sensitivity": vocab.SENSITIVITY,
    }


# Panels other modules add to the resource page (the exchange's data panel and masked sample): name →
# function(session, caller, resource) giving the template's context under that name, or None to show nothing.
DETAIL_PANELS: dict[str, Callable[[Session, Any, Resource], Any]] = {}


def _detail(
    request: Request, s: Session, me: Any, resource_id: int, error: str | None = None, status: int = 200
) -> Any:
    res = queries.resource(s, resource_id)
    snap = services.snapshot(res, queries.items(s, res.id))
    provider = org_queries.org(s, res.provider_org_id)
    return page(
        request,
        "catalog/detail.html",
        {
            **_meta_context(s, snap),
            "res": res,
            "versions": queries.versions(s, res.id),
            "can_manage": res.status == "published" and me.can(CATALOG_MANAGE, provider.path),
            "error": error,
            **{name: panel(s, me, res) for name, panel in DETAIL_PANELS.items()},
        },
        status,
    )


@router.get("/catalog/new")
@access(CATALOG_MANAGE)
def resource_new(request: Request, s: Reader, me: Me) -> Any:
    return _form(request, s, me, None, {"share_mode": "api", "open_type": "none", "grade": "general"}, [])


@router.get("/catalog/{resource_id:int}")
@access(CATALOG_READ)
def resource_detail(request: Request, resource_id: int, s: Reader, me: Me) -> Any:
    return _detail(request, s, me, resource_id)


@router.get("/catalog/{resource_id:int}/versions/{number}")
@access(CATALOG_READ)
def resource_version(request: Request, resource_id: int, number: int, s: Reader) -> Any:
    res = queries.resource(s, resource_id)
    ver = queries.version(s, resource_id, number)
    return page(request, "catalog/version.html", {**_meta_context(s, ver.snapshot), "res": res, "ver": ver})


@router.post("/catalog/{resource_id}/retire")
@access(CATALOG_MANAGE)
def resource_retire(
    request: Request, resource_id: int, db: DB, me: Me, reason: Annotated[str, Form()] = ""
) -> Any:
    try:
        with unit_of_work(db, me.actor) as uow:
            res = queries.resource(uow.session, resource_id)
            require(me, CATALOG_MANAGE, org_queries.org(uow.session, res.provider_org_id).path)
            services.retire_resource(uow, resource_id, reason)
    except DomainError as exc:
        message, status = failure(request, exc)
        with db.read() as s:
            return _detail(request, s, me, resource_id, message, status)
    return done(f"/catalog/{resource_id}", say(request, "已撤销该资源", "The resource is retired"))


# --- the cataloguing form ---------------------------------------------------------------------------


async def _posted(request: Request) -> Any:
    """The whole posted form (the item rows repeat their field names); the guard has parsed it already."""
    return await request.form()


Posted = Annotated[Any, Depends(_posted)]
ITEM_FIELDS = ("name", "data_type", "description", "sensitivity", "share_type")
SCALARS = (
    "name", "class_code", "provider_org_id", "summary", "format", "share_type", "share_condition",
    "share_basis", "share_mode", "open_type", "update_cycle", "grade", "published_on",
)  # fmt: skip


def _split(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,，、;；]+", text or "") if w]


def _read_form(posted: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The form as typed (for re-rendering) and its item rows, dropping rows left entirely empty."""
    form = {k: (posted.get(k) or "").strip() for k in (*SCALARS, "related_codes", "keywords", "note")}
    columns = [posted.getlist(f"item_{f}") for f in ITEM_FIELDS]
    rows = [
        dict(zip(ITEM_FIELDS, (c[i] if i < len(c) else "" for c in columns), strict=True))
        for i in range(max(map(len, columns)))
    ]
    rows = [{k: v.strip() for k, v in r.items()} for r in rows]
    return form, [r for r in rows if r["name"] or r["description"]]


def _resource_in(form: dict[str, Any], rows: list[dict[str, str]]) -> ResourceIn:
    # blanks are left out, so that a missing required field reads "必填" and optional ones take defaults
    data: dict[str, Any] = {k: form[k] for k in SCALARS if form[k]}
    data["related_codes"] = _split(form["related_codes"])
    data["keywords"] = _split(form["keywords"])
    data["items"] = [{k: v for k, v in r.items() if v or k == "name"} for r in rows]
    return ResourceIn.model_validate(data)


def explain(exc: ValidationError, lang: str) -> str:
    """Readable form errors: the field (or item row) by its label, the rules in the user's language."""
    parts = []
    for e in exc.errors():
        loc = list(e.get("loc") or ())
        where = ""
        if loc[:1] == ["items"] and len(loc) >= 2:
            row = f"第 {loc[1] + 1} 行信息项" if lang == "zh" else f"item row {loc[1] + 1}"
            where = row if len(loc) == 2 else f"{row} · {_label(str(loc[2]), lang)}"
        elif loc:
            where = _label(str(loc[0]), lang)
        msg = str(e.get("msg", ""))
        if e["type"] == "value_error" and " / " in msg:  # the rules speak both: "中文 / English"
            zh, en = msg.removeprefix("Value error, ").split(" / ", 1)
            text = en if lang == "en" else zh
        elif lang == "en":
            text = msg.removeprefix("Value error, ")
        elif e["type"] == "value_error":
            text = "取值无效"
        else:
            text = ERROR_ZH.get(e["type"], "无效").format(**(e.get("ctx") or {}))
        sep = ": " if lang == "en" else "："
        parts.append(f"{where}{sep}{text}" if where else text)
    return ("; " if lang == "en" else "；").join(parts)


def _label(name: str, lang: str) -> str:
    return translate(FIELD_ZH.get(name, name), lang)


def _form(
    request: Request,
    s: Session,
    me: Any,
    res: Resource | None,
    form: dict[str, Any],
    rows: list[dict[str, str]],
    error: str | None = None,
    status: int = 200,
) -> Any:
    providers = org_queries.orgs(s, me.paths(CATALOG_MANAGE), limit=1000)
    return page(
        request,
        "catalog/form.html",
        {
            "res": res,
            "form": form,
            "rows": rows + [dict.fromkeys(ITEM_FIELDS, "") for _ in range(BLANK_ROWS)],
            "error": error,
            "providers": providers,
            "classes": queries.classes(s),
            "vocabs": VOCABS,
            "data_types": vocab.DATA_TYPES,
            "sensitivity": vocab.SENSITIVITY,
        },
        status,
    )


def _failed(request: Request, db: Any, me: Any, resource_id: int | None, posted: Any, exc: Exception) -> Any:
    if isinstance(exc, ValidationError):
        message, status = explain(exc, request_lang(request)), 422
    else:
        message, status = failure(request, exc)
    form, rows = _read_form(posted)
    with db.read() as s:
        res = s.get(Resource, resource_id) if resource_id else None
        if resource_id and res is None:
            raise exc  # no such resource: the error page, not a form
        return _form(request, s, me, res, form, rows, message, status)


@router.post("/catalog/new")
@access(CATALOG_MANAGE)
def resource_create(request: Request, db: DB, me: Me, posted: Posted) -> Any:
    try:
        form, rows = _read_form(posted)
        data = _resource_in(form, rows)
        with unit_of_work(db, me.actor) as uow:
            require(me, CATALOG_MANAGE, org_queries.org(uow.session, data.provider_org_id).path)
            res = services.create_resource(uow, data, form["note"])
            rid, code = res.id, res.code
    except (DomainError, ValidationError) as exc:
        return _failed(request, db, me, None, posted, exc)
    return done(
        f"/catalog/{rid}", say(request, f"已编目：{code} {data.name}", f"Catalogued: {code} {data.name}")
    )


@router.get("/catalog/{resource_id:int}/edit")
@access(CATALOG_MANAGE)
def resource_edit(request: Request, resource_id: int, s: Reader, me: Me) -> Any:
    res = queries.resource(s, resource_id)
    require(me, CATALOG_MANAGE, org_queries.org(s, res.provider_org_id).path)
    if res.status != "published":
        raise Conflict("已撤销的资源不能修改", "a retired resource cannot be changed")
    form = {k: getattr(res, k) for k in SCALARS}
    form.update(
        provider_org_id=str(res.provider_org_id),
        published_on=res.published_on.isoformat() if res.published_on else "",
        share_condition=res.share_condition or "",
        share_basis=res.share_basis or "",
        related_codes=" ".join(res.related_codes),
        keywords=" ".join(res.keywords),
        note="",
    )
    rows = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in queries.items(s, res.id)]
    return _form(request, s, me, res, form, rows)


@router.post("/catalog/{resource_id}/edit")
@access(CATALOG_MANAGE)
def resource_update(request: Request, resource_id: int, db: DB, me: Me, posted: Posted) -> Any:
    try:
        form, rows = _read_form(posted)
        with unit_of_work(db, me.actor) as uow:
            current = queries.resource(uow.session, resource_id)
            require(me, CATALOG_MANAGE, org_queries.org(uow.session, current.provider_org_id).path)
            form["class_code"] = current.class_code  # part of the code: the form shows it, never changes it
            data = _resource_in(form, rows)
            require(me, CATALOG_MANAGE, org_queries.org(uow.session, data.provider_org_id).path)
            before = current.version
            after = services.update_resource(uow, resource_id, data, form["note"]).version
    except (DomainError, ValidationError) as exc:
        return _failed(request, db, me, resource_id, posted, exc)
    if after == before:
        return done(
            f"/catalog/{resource_id}",
            say(request, "没有改动，未产生新版本", "Nothing changed; no new version"),
        )
    return done(
        f"/catalog/{resource_id}", say(request, f"已保存为第 {after} 版", f"Saved as version {after}")
    )

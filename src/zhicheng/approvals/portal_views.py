"""Console of the applicant portal (网上办事大厅), for a login linked to a citizen or an enterprise
(approvals.apply): the 办事指南 (active service items and their guides), 在线申报 (the item's form with
material uploads, live reminders from the same check the API runs, an idempotent submission) and 我的办件
(the applicant's cases, each with its public timeline, what is still missing with a form to supply it, and
the result). Writes go through the same services as the JSON API; the window desk (desk_views.py) reuses
the apply form, the upload and the live check below."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from zhicheng.approvals import access, cases, checks, config, corrections, files, flows, queries
from zhicheng.approvals.flowdef import KINDS
from zhicheng.approvals.models import Case
from zhicheng.approvals.permissions import APPLY
from zhicheng.approvals.schemas import ApplicantIn, CaseIn, SupplyIn
from zhicheng.approvals.vocab import DELIVERY, ITEM_KINDS, OPEN_STATUSES, key_for
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import DomainError, Forbidden, Invalid
from zhicheng.core.orgs.realname import verifier
from zhicheng.web import nav
from zhicheng.web.deps import DB, Conf, Me, Reader
from zhicheng.web.forms import done, failure, page, say, to_int
from zhicheng.web.security import access as declare
from zhicheng.web.templating import render

router = APIRouter(include_in_schema=False)
nav.add("一网通办", "办事指南", "/portal/items", APPLY, order=74)
nav.add("一网通办", "我的办件", "/portal/cases", APPLY, order=75)

CLOCK_BADGE = {
    "ok": ("ok", "正常"),
    "warning": ("warn", "即将到期"),
    "overdue": ("bad", "已超期"),
    "paused": ("", "暂停计时"),
}
EVENT_ZH = {
    "submitted": "提交申请",
    "accepted": "受理",
    "accepted_rongque": "容缺受理",
    "refused": "不予受理",
    "correction": "要求补正",
    "supplied": "补交材料",
    "resumed": "恢复办理",
    "supplements_done": "容缺材料补齐",
    "stage": "进入环节",
    "reviewed": "部门审查",
    "returned": "退回重审",
    "paused": "暂停计时",
    "decided": "作出决定",
    "delivered": "送达",
    "terminated": "终止办理",
    "escalated": "超期督办",
    "supervised": "督办意见",
}


async def _posted(request: Request) -> Any:
    """The whole posted form (field and file names carry the field key or material code); the guard has
    parsed it already for the CSRF token."""
    return await request.form()


Posted = Annotated[Any, Depends(_posted)]


# --- shared by the portal and the desk ---------------------------------------------------------------------


def snapshot(s: Any, code: str) -> tuple[Any, dict[str, Any]]:
    """The item and the snapshot of its current version (what a submission is checked against)."""
    it = queries.item(s, code)
    if it.status != "active":
        raise Invalid(f"事项 {code} 已停用，不再受理申请", f"service item {code} is retired")
    return it, queries.version(s, code, it.version).snapshot


def form_values(posted: Any, snap: dict[str, Any]) -> dict[str, str]:
    """The item's form fields as typed (`f_<key>`)."""
    return {f["key"]: (posted.get(f"f_{f['key']}") or "").strip() for f in snap.get("form", [])}


def upload_ids(posted: Any, snap: dict[str, Any]) -> dict[str, int]:
    """The uploads already made for each material (`m_<code>` hidden fields)."""
    out = {}
    for m in snap.get("materials", []):
        value = (posted.get(f"m_{m['code']}") or "").strip()
        if value.isdigit():
            out[m["code"]] = int(value)
    return out


def chosen_files(posted: Any, codes: list[str]) -> dict[str, Any]:
    """Files chosen in `file_<code>` inputs and sent with the form itself (without htmx)."""
    out = {}
    for code in codes:
        f = posted.get(f"file_{code}")
        if f is not None and hasattr(f, "filename") and f.filename:
            out[code] = f
    return out


def store_checked(uow: Any, conf: Any, spec: dict[str, Any], f: Any) -> Any:
    """Store one file (type by extension and first bytes, the upload cap) and check it against its
    material (accepted formats, the material's size limit); a problem rolls the upload back."""
    up = files.store(uow, f.file, f.filename or "", config.max_upload_bytes(conf))
    problem = checks.check_file(spec, up)
    if problem:
        raise Invalid(problem.zh, problem.en)
    return up


def uploaded(s: Any, ids: dict[str, int], owner: str) -> dict[str, Any]:
    """The caller's uploads by material code (ids that are not the caller's are left out)."""
    out = {}
    for code, uid in ids.items():
        try:
            out[code] = files.owned(s, uid, owner)
        except DomainError:
            continue
    return out


def hints(report: checks.Report | None, lang: str) -> dict[str, list[str]]:
    """Reminders by target: 'f_<key>' / 'm_<code>' → messages."""
    out: dict[str, list[str]] = {}
    for p in report.problems if report else []:
        prefix = "f_" if p.target == "field" else "m_"
        out.setdefault(prefix + p.code, []).append(p.en if lang == "en" else p.zh)
    return out


def apply_page(
    request: Request,
    it: Any,
    snap: dict[str, Any],
    *,
    key: str | None = None,
    values: dict[str, str] | None = None,
    uploads: dict[str, Any] | None = None,
    report: checks.Report | None = None,
    applicant: dict[str, str] | None = None,
    on_behalf: bool = False,
    error: str | None = None,
    status: int = 200,
) -> Any:
    """The application form: fields, material slots (htmx uploads), live reminders; the Idempotency-Key
    is made when the form is first rendered and kept across re-renders, so a re-post makes no second case."""
    from zhicheng.web.i18n import request_lang

    ctx = {
        "item": it,
        "snap": snap,
        "key": key or uuid.uuid4().hex,
        "values": values or {},
        "uploads": uploads or {},
        "report": report.shown() if report else None,
        "hints": hints(report, request_lang(request)),
        "applicant": applicant or {},
        "on_behalf": on_behalf,
        "action": f"/desk/apply/{it.code}" if on_behalf else f"/portal/items/{it.code}/apply",
        "error": error,
    }
    return page(request, "approvals/portal_apply.html", ctx, status)


def stages(s: Any, flow_code: str) -> list[dict[str, Any]]:
    """The flow's stages in order, with the departments of each (the guide's 办理流程)."""
    flow = flows.parsed(flows.latest(s, flow_code))
    path = flow.path()
    ids = {o for st in path for o in (*st.departments, *([st.org_id] if st.org_id else []))}
    names = queries.org_names(s, ids)
    return [
        {
            "name": st.name,
            "kind": KINDS.get(st.kind, st.kind),
            "days": st.days,
            "orgs": [names.get(o, str(o)) for o in (st.departments or ([st.org_id] if st.org_id else []))],
        }
        for st in path
    ]


def needs(c: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What the applicant still has to hand in: the materials and fields of a 补正 not yet supplied, and the
    容缺 materials not yet arrived."""
    mats: list[str] = []
    fields: list[str] = []
    corr = c.get("correction") or {}
    if c["status"] == "correcting" and corr:
        supplied = set(corr.get("supplied", []))
        mats += [m for m in corr.get("materials", []) if m not in supplied]
        fields += [f for f in corr.get("fields", []) if f not in supplied]
    if c["rongque"] and not c["supplements_done_on"] and c["status"] in OPEN_STATUSES:
        have = {m["code"] for m in c["materials"] if not m["superseded"]}
        mats += [m for m in c["rongque_missing"] if m not in have and m not in mats]
    return mats, fields


def case_context(s: Any, case: Case, conf: Any, staff: bool) -> dict[str, Any]:
    """What a case page shows, for the applicant (public steps, no staff names) or the staff."""
    c = queries.case_out(s, case, warn_days=config.warn_days(conf), staff=staff)
    snap = cases.item_snapshot(s, case)
    events = queries.timeline(s, case.id, public_only=not staff)
    need_m, need_f = needs(c)
    return {
        "c": c,
        "snap": snap,
        "mat_names": {m["code"]: m["name"] for m in snap.get("materials", [])},
        "field_labels": {f["key"]: f["label"] for f in snap.get("form", [])},
        "mat_specs": {m["code"]: m for m in snap.get("materials", [])},
        "field_specs": {f["key"]: f for f in snap.get("form", [])},
        "events": events,
        "event_zh": EVENT_ZH,
        "staff": staff,
        "need_materials": need_m,
        "need_fields": need_f,
        "delivery_zh": DELIVERY,
        "badges": CLOCK_BADGE,
        # the template includes approvals/_rating.html (the ratings helper's) with `case`
        "case": c,
    }


# --- 办事指南 -------------------------------------------------------------------------------


@router.get("/portal/items")
@declare(APPLY)
def guide_list(
    request: Request,
    s: Reader,
    q: str | None = None,
    org_id: str | None = None,
    kind: str | None = None,
) -> Any:
    org = to_int(org_id, "org_id")
    kind_key = key_for(ITEM_KINDS, kind) if kind else None
    if kind and kind_key is None:
        raise Invalid(f"事项类型 {kind} 未知", f"unknown item kind {kind}")
    rows = queries.items(s, (q or "").strip() or None, org, kind_key, "active", limit=200)[:200]
    ctx = {
        "items": queries.items_out(s, rows),
        "orgs": queries.item_orgs(s),
        "kinds": ITEM_KINDS,
        "q": q or "",
        "org_id": org,
        "kind": kind_key or "",
    }
    return page(request, "approvals/portal_items.html", ctx)


@router.get("/portal/items/{code}")
@declare(APPLY)
def guide(code: str, request: Request, s: Reader) -> Any:
    it = queries.item(s, code)
    ctx = {"item": queries.item_out(s, it), "stages": stages(s, it.flow_code)}
    return page(request, "approvals/portal_item.html", ctx)


# --- 在线申报 -------------------------------------------------------------------------------


@router.get("/portal/items/{code}/apply")
@declare(APPLY)
def apply_form(code: str, request: Request, s: Reader) -> Any:
    it, snap = snapshot(s, code)
    return apply_page(request, it, snap)


@router.post("/portal/items/{code}/check")
@declare(APPLY)
def live_check(code: str, request: Request, s: Reader, me: Me, posted: Posted) -> Any:
    """htmx: the reminders while the form is filled in (the API's check), as a summary and, out of band,
    next to each field and material."""
    from zhicheng.web.i18n import request_lang

    it, snap = snapshot(s, code)
    mats = uploaded(s, upload_ids(posted, snap), me.actor.label)
    report = checks.check(snap, form_values(posted, snap), mats)
    ctx = {
        "snap": snap,
        "report": report.shown(),
        "hints": hints(report, request_lang(request)),
        "oob": True,
    }
    return render(request, "approvals/portal_check.html", ctx)


@router.post("/portal/items/{code}/upload/{material}")
@declare(APPLY)
def upload(code: str, material: str, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    """htmx: upload one material's file; answers the material's slot (the file kept as a hidden upload id,
    or a readable message) and triggers the live check."""
    with db.read() as s:
        it, snap = snapshot(s, code)
    spec = next((m for m in snap.get("materials", []) if m["code"] == material), None)
    if spec is None:
        raise Invalid(f"事项没有材料 {material}", f"the item has no material {material}")
    f = chosen_files(posted, [material]).get(material)
    error, up, status = None, None, 200
    try:
        if f is None:
            raise Invalid("请选择要上传的文件", "choose a file to upload")
        with unit_of_work(db, me.actor) as uow:
            up = store_checked(uow, conf, spec, f)
            up = {"id": up.id, "filename": up.filename, "size": up.size, "sm3": up.sm3}
    except DomainError as exc:
        error, status = failure(request, exc)
        with db.read() as s:  # the file kept before this one stays
            prev = uploaded(s, upload_ids(posted, {"materials": [spec]}), me.actor.label).get(material)
            up = {"id": prev.id, "filename": prev.filename, "size": prev.size} if prev else None
    if error and not request.headers.get("hx-request"):
        status = status if status >= 400 else 422
    elif error:
        status = 200  # htmx swaps only successful answers: the message is the content
    ctx = {"item": it, "m": spec, "up": up, "upload_error": error}
    resp = render(request, "approvals/portal_slot.html", ctx, status)
    if not error:  # after the settle, so the live check sees the new slot's upload id
        resp.headers["HX-Trigger-After-Settle"] = "zc-uploaded"
    return resp


@router.post("/portal/items/{code}/apply")
@declare(APPLY)
def apply(code: str, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    return submit(request, db, me, conf, code, posted, on_behalf=False)


def submit(request: Request, db: Any, me: Any, conf: Any, code: str, posted: Any, on_behalf: bool) -> Any:
    """Submit the form (the portal's or the desk's 代为申报). The key made with the form is the
    Idempotency-Key: posting the same form again returns the case made the first time."""
    key = (posted.get("idempotency_key") or "").strip()
    with db.read() as s:
        it, snap = snapshot(s, code)
    values = form_values(posted, snap)
    ids = upload_ids(posted, snap)
    applicant = {k: (posted.get(f"a_{k}") or "").strip() for k in ("kind", "id_number", "name", "phone")}
    try:
        if not 8 <= len(key) <= 80:
            raise Invalid(
                "表单已失效，请刷新页面后重新提交", "the form has expired; reload it and submit again"
            )
        with unit_of_work(db, me.actor) as uow:
            s = uow.session
            for mcode, f in chosen_files(posted, material_codes(snap)).items():
                spec = next(m for m in snap["materials"] if m["code"] == mcode)
                ids[mcode] = store_checked(uow, conf, spec, f).id
            person = applicant_in(applicant) if on_behalf else None
            party = cases.resolve_party(
                uow, access.own_party(s, me), person, on_behalf, verifier(conf.realname_provider)
            )
            data = CaseIn(item_code=code, form=values, materials=ids, client_token=key)
            case, created = cases.submit(uow, data, party, key)
            case_id, number = case.id, case.number
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        if status == 401:
            raise
        with db.read() as s:
            mats = uploaded(s, ids, me.actor.label)
            report = checks.check(snap, values, mats)
        return apply_page(
            request,
            it,
            snap,
            key=key or None,
            values=values,
            uploads={c: {"id": u.id, "filename": u.filename, "size": u.size} for c, u in mats.items()},
            report=report,
            applicant=applicant,
            on_behalf=on_behalf,
            error=message,
            status=status,
        )
    url = f"/desk/cases/{case_id}" if on_behalf else f"/portal/cases/{case_id}"
    if created:
        return done(url, say(request, f"申请已提交，办件编号 {number}", f"Submitted: case {number}"))
    return done(url, say(request, f"该申请已提交过，办件编号 {number}", f"Already submitted: case {number}"))


def material_codes(snap: dict[str, Any]) -> list[str]:
    return [m["code"] for m in snap.get("materials", [])]


def applicant_in(a: dict[str, str]) -> ApplicantIn:
    """The applicant a window clerk names, its number checked first so a wrong one reads clearly."""
    from zhicheng.core.orgs import codes

    if a.get("kind") not in ("citizen", "enterprise"):
        raise Invalid("请选择申请人类型（个人或企业）", "choose the applicant's kind (citizen or enterprise)")
    number = (codes.resident_id if a["kind"] == "citizen" else codes.credit_code)(a.get("id_number") or "")
    if len(a.get("name") or "") < 2:
        raise Invalid("请填写申请人姓名或单位名称", "enter the applicant's name")
    phone = a.get("phone") or None
    if phone and not checks.PHONE.match(phone):
        raise Invalid("申请人手机号码无效", "the applicant's mobile number is invalid")
    return ApplicantIn(kind=a["kind"], id_number=number, name=a["name"], phone=phone)


# --- 我的办件 -------------------------------------------------------------------------------


@router.get("/portal/cases")
@declare(APPLY)
def my_cases(request: Request, s: Reader, me: Me, conf: Conf, status: str | None = None) -> Any:
    party = access.own_party(s, me)
    rows = []
    if party is not None:
        found = queries.cases_of_party(s, party, status or None, 200, None)[:200]
        rows = queries.case_rows(s, found, shanghai_today(), config.warn_days(conf))
    ctx = {"rows": rows, "linked": party is not None, "badges": CLOCK_BADGE, "status": status or ""}
    return page(request, "approvals/portal_cases.html", ctx)


def rating(s: Any, me: Any, case: Case) -> dict[str, Any]:
    """The 好差评 panel (approvals/_rating.html) of a completed case, when the ratings screens exist."""
    if case.status != "completed":
        return {}
    try:
        from zhicheng.approvals import ratings_queries
    except ImportError:  # the ratings screens are optional here: the page shows without them
        return {}
    return {**ratings_queries.rating_panel(s, me, case), "rating_next": f"/portal/cases/{case.id}"}


def _own_case(s: Any, me: Any, case_id: int) -> Case:
    case = queries.case(s, case_id)
    if not access.is_applicant(s, me, case):
        raise Forbidden("只能查看本人（本单位）的办件", "you may only see your own cases")
    return case


def case_page(
    request: Request, s: Any, me: Any, conf: Any, case_id: int, error: str | None = None, status: int = 200
) -> Any:
    case = _own_case(s, me, case_id)
    ctx = case_context(s, case, conf, staff=False)
    ctx.update(error=error, **rating(s, me, case))
    return page(request, "approvals/portal_case.html", ctx, status)


@router.get("/portal/cases/{case_id}")
@declare(APPLY)
def my_case(case_id: int, request: Request, s: Reader, me: Me, conf: Conf) -> Any:
    return case_page(request, s, me, conf, case_id)


@router.post("/portal/cases/{case_id}/supply")
@declare(APPLY)
def supply(case_id: int, request: Request, db: DB, me: Me, conf: Conf, posted: Posted) -> Any:
    """补正 or 容缺 supplements: the files and fields asked for, stored and attached in one transaction."""
    try:
        with unit_of_work(db, me.actor) as uow:
            s = uow.session
            case = _own_case(s, me, case_id)
            snap = cases.item_snapshot(s, case)
            ids = {}
            for mcode, f in chosen_files(posted, material_codes(snap)).items():
                ids[mcode] = files.store(uow, f.file, f.filename or "", config.max_upload_bytes(conf)).id
            fields = {
                f["key"]: v
                for f in snap.get("form", [])
                if (v := (posted.get(f"f_{f['key']}") or "").strip())
            }
            corrections.supply(uow, case_id, SupplyIn(materials=ids, form=fields))
    except (DomainError, ValidationError) as exc:
        message, status = failure(request, exc)
        if status in (401, 403):
            raise
        with db.read() as s:
            return case_page(request, s, me, conf, case_id, message, status)
    return done(f"/portal/cases/{case_id}", say(request, "材料已补交", "Materials supplied"))

"""Cases: idempotent submission, and what every step shares — locking the case, the timeline, telling the
applicant, attaching materials, ending a case.

Locking: a step that changes a case first locks its row (SELECT … FOR UPDATE on PostgreSQL; on SQLite the
route's unit of work begins holding the database's write lock, core.db), then reads. So the steps of
one case run one after another: of two reviewers concluding the same task one wins and the other gets a
conflict, and of two departments concluding the last two tasks of a joint review exactly one moves the case
on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhicheng.approvals import checks, clocks, files, flows, hooks, wording
from zhicheng.approvals.flowdef import stage_orgs
from zhicheng.approvals.models import Case, CaseEvent, CaseMaterial, ItemVersion, ServiceItem, Task, Upload
from zhicheng.approvals.schemas import ApplicantIn, CaseIn
from zhicheng.approvals.vocab import CASE_STATUS
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import UnitOfWork, per_transaction, utcnow
from zhicheng.core.errors import Conflict, Forbidden, Invalid, NotFound
from zhicheng.core.orgs import codes
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.models import Party
from zhicheng.core.orgs.realname import RealNameVerifier
from zhicheng.core.orgs.schemas import PartyIn

# Statements of every step, built once: constructing a statement costs more than running it on SQLite.
_SNAPSHOT = select(ItemVersion.snapshot).where(
    ItemVersion.item_id == bindparam("item"), ItemVersion.version == bindparam("version")
)


def lock(uow: UnitOfWork, case_id: int, version: int | None = None) -> Case:
    """The case, its row locked for this transaction (SELECT … FOR UPDATE; on SQLite the unit of work holds
    the database's write lock already); Conflict when the caller saw another version."""
    case = uow.session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise case_not_found(case_id)
    check_version(case, version)
    return case


def case_not_found(case_id: int) -> NotFound:
    return NotFound(f"办件 {case_id} 不存在", f"case {case_id} not found")


def check_version(case: Any, version: int | None) -> None:
    """Conflict when the caller saw another version of the case (a Case, or a row read as one)."""
    if version is not None and version != case.version:
        raise Conflict(
            f"办件 {case.number} 已被他人处理（版本 {case.version}），请刷新后重试",
            f"case {case.number} has changed (version {case.version}); reload and try again",
        )


def check_stage(case: Any, stage: str | None) -> None:
    """Conflict when the case has left the stage the caller's rights were checked at (a route checks them in
    a read before its step joins a group commit, approvals.batch)."""
    if stage is not None and stage != case.stage:
        raise Conflict(
            f"办件 {case.number} 已进入其他环节，请刷新后重试",
            f"case {case.number} has moved on to stage {case.stage}; reload and try again",
        )


def expect(case: Any, *statuses: str) -> None:
    if case.status not in statuses:
        raise Conflict(
            f"办件 {case.number} 当前为“{CASE_STATUS.get(case.status, case.status)}”，不能进行此操作",
            f"case {case.number} is {case.status}; this step does not apply",
        )


def touch(case: Case) -> None:
    case.version += 1
    case.updated_at = utcnow()


def event(
    uow: UnitOfWork, case: Case, kind: str, on: dt.date, note: str = "", public: bool = True, **data: Any
) -> None:
    uow.session.add(
        CaseEvent(
            case_id=case.id,
            at=utcnow(),
            day=on,
            kind=kind,
            stage=case.stage,
            actor=uow.actor.label,
            public=public,
            note=note,
            data=data,
        )
    )


# session.info: the item snapshots (immutable) this transaction read, by (item id, version)
_SNAPSHOTS = per_transaction("zc_approvals_snapshots")


def tell(uow: UnitOfWork, case: Case, kind: str, zh: str, en: str, **data: Any) -> None:
    hooks.notify_applicant(uow, hooks.Notice(case.id, case.number, case.party_id, kind, zh, en, data))


def item_snapshot(s: Session, case: Case) -> dict[str, Any]:
    seen = s.info.setdefault(_SNAPSHOTS, {})
    key = (case.item_id, case.item_version)
    if key not in seen:
        snap = s.scalar(_SNAPSHOT, {"item": case.item_id, "version": case.item_version})
        if snap is None:  # every item version is written with the item; this is a broken database
            raise NotFound(
                f"事项版本 {case.item_version} 缺失", f"item version {case.item_version} is missing"
            )
        seen[key] = snap
    return seen[key]


def current_materials(s: Any, case_id: int) -> dict[str, CaseMaterial]:
    rows = s.scalars(
        select(CaseMaterial).where(CaseMaterial.case_id == case_id, CaseMaterial.superseded.is_(False))
    )
    return {m.code: m for m in rows}


class _File:
    def __init__(self, m: Any) -> None:
        self.filename, self.size = m.filename, m.size
        self.extension = m.filename.rsplit(".", 1)[-1].lower() if "." in m.filename else ""


def report(s: Any, case: Case) -> checks.Report:
    """What is missing or invalid in the case as it stands."""
    return check_case(item_snapshot(s, case), case.form, current_materials(s, case.id))


def check_case(snap: dict[str, Any], form: dict[str, Any], materials: dict[str, Any]) -> checks.Report:
    """The form and the current materials (code → anything with filename and size) against the item."""
    return checks.check(snap, form, {code: _File(m) for code, m in materials.items()})


def attach(
    uow: UnitOfWork, case: Case, snap: dict[str, Any], uploads: dict[str, Upload], supplement: bool
) -> None:
    """Attach uploads as the case's materials; an earlier file for the same material is kept, superseded."""
    names = {m["code"]: m["name"] for m in snap.get("materials", [])}
    s = uow.session
    if supplement and uploads:
        s.execute(
            update(CaseMaterial)
            .where(CaseMaterial.case_id == case.id, CaseMaterial.code.in_(list(uploads)))
            .values(superseded=True)
            .execution_options(synchronize_session=False)
        )
    now = utcnow()
    for code, up in uploads.items():
        s.add(
            CaseMaterial(
                case_id=case.id,
                code=code,
                name=names.get(code, code),
                sm3=up.sm3,
                filename=up.filename,
                size=up.size,
                supplement=supplement,
                added_by=uow.actor.label,
                added_at=now,
            )
        )


def resolve_party(
    uow: UnitOfWork,
    own_party_id: int | None,
    applicant: ApplicantIn | None,
    for_others: bool,
    verifier: RealNameVerifier,
) -> Party:
    """Who applies: a citizen's or enterprise's own login is its party; a portal system or a window clerk
    names the applicant, checked (resident ID / credit code) and registered if new (real-name verified)."""
    s = uow.session
    if own_party_id is not None:
        party = own_party(s, own_party_id)
        if applicant is not None and (applicant.kind, applicant.id_number.upper()) != (
            party.kind,
            party.id_number,
        ):
            raise Forbidden("只能以本人（本单位）名义申请", "you may apply only in your own name")
        return party
    if not for_others:
        raise Forbidden("此账号未关联办事人，不能申请", "this login is not linked to an applicant")
    if applicant is None:
        raise Invalid("请提供申请人（证件类型、号码、姓名）", "name the applicant (kind, id_number, name)")
    number = (codes.resident_id if applicant.kind == "citizen" else codes.credit_code)(applicant.id_number)
    party = s.scalar(select(Party).where(Party.kind == applicant.kind, Party.id_number == number))
    if party is not None:
        if party.name != applicant.name.strip():
            raise Invalid(
                "申请人姓名（名称）与证件号码不一致", "the applicant's name does not match the number"
            )
        return party
    data = PartyIn(kind=applicant.kind, id_number=number, name=applicant.name.strip(), phone=applicant.phone)
    return orgs.register_party(uow, data, verifier)


def own_party(s: Session, party_id: int) -> Party:
    """The party a login is linked to."""
    party = s.get(Party, party_id)
    if party is None:
        raise party_not_found()
    return party


def party_not_found() -> NotFound:
    return NotFound("登录账号关联的办事人不存在", "the party linked to this login does not exist")


def submit(
    uow: UnitOfWork, data: CaseIn, party: Party, client_token: str | None, today: dt.date | None = None
) -> tuple[Case, bool]:
    """Submit an application; returns the case and whether it is new. The same client token (Idempotency-Key)
    from the same applicant returns the case it made the first time, never a second one."""
    s = uow.session
    today = today or shanghai_today()
    if client_token:
        s.execute(
            update(Party)
            .where(Party.id == party.id)
            .values(id=Party.id)
            .execution_options(synchronize_session=False)
        )  # applications of one party, one after another: a retry waits for the first and finds it
        found = _by_token(uow, party.id, client_token)
        if found is not None:
            return _replayed(uow, found, data.item_code), False
    item = s.scalar(select(ServiceItem).where(ServiceItem.code == data.item_code))
    if item is None or item.status != "active":
        raise item_not_found(data.item_code)
    flow_row = flows.latest(s, item.flow_code)
    flow = flows.parsed(flow_row)
    snap = s.scalar(
        select(ItemVersion.snapshot).where(
            ItemVersion.item_id == item.id, ItemVersion.version == item.version
        )
    )
    uploads = {code: files.owned(s, upload_id, uow.actor.label) for code, upload_id in data.materials.items()}
    checks.check(snap, data.form, uploads).raise_blocking()
    accept = flow.first
    window = stage_orgs(accept, item.org_id, item.deciding_org_id or item.org_id)[0]
    now = utcnow()
    case = Case(
        number="T" + uuid.uuid4().hex[:23],
        item_id=item.id,
        item_version=item.version,
        flow_id=flow_row.id,
        party_id=party.id,
        applicant_name=party.name,
        client_token=client_token,
        submitted_by=uow.actor.label,
        form=dict(data.form),
        window_org_id=window,
        status="submitted",
        stage=accept.id,
        version=1,
        promised_days=item.promised_days,
        statutory_days=item.statutory_days,
        submitted_on=today,
        created_at=now,
        updated_at=now,
    )
    try:
        with s.begin_nested():
            s.add(case)
            s.flush()
    except IntegrityError:  # the same token raced past the party lock (another process): theirs stands
        found = _by_token(uow, party.id, client_token or "")
        if found is None:
            raise
        return _replayed(uow, found, data.item_code), False
    case.number = case_number(today, case.id)
    attach(uow, case, snap, uploads, supplement=False)
    clocks.start_stage(uow, case, accept.id, 1, today, accept.days)
    event(
        uow, case, "submitted", today, wording.submitted(item.name), item=item.code, materials=sorted(uploads)
    )
    uow.record(
        "approvals:case:submit",
        f"case:{case.id}",
        {"item": item.code, "item_version": item.version, "flow": flow_row.id, "materials": sorted(uploads)},
    )
    tell(uow, case, "submitted", *wording.submitted_message(case.number))
    return case, True


def case_number(day: dt.date, case_id: int) -> str:
    """SP, the day of submission and the id: unique, and readable over the phone."""
    return f"SP{day:%Y%m%d}{case_id:08d}"


def item_not_found(code: str) -> NotFound:
    return NotFound(f"事项 {code} 不存在或已停用", f"service item {code} not found or retired")


def check_replay(item_code: str | None, asked: str) -> None:
    """A retry with the same key must ask for the same item as the first submission."""
    if item_code != asked:
        raise Conflict(
            "同一幂等键已用于另一事项的申请，请换一个键",
            "this idempotency key was used for another item's application",
        )


def _by_token(uow: UnitOfWork, party_id: int, token: str) -> Case | None:
    return uow.session.scalar(select(Case).where(Case.party_id == party_id, Case.client_token == token))


def _replayed(uow: UnitOfWork, case: Case, item_code: str) -> Case:
    code = uow.session.scalar(select(ServiceItem.code).where(ServiceItem.id == case.item_id))
    check_replay(code, item_code)
    return case


def finish(uow: UnitOfWork, case: Case, status: str, on: dt.date, reason: str | None = None) -> None:
    """End a case: every clock stopped, every open task cancelled."""
    clocks.stop_all(uow, case, on)
    uow.session.execute(
        update(Task)
        .where(Task.case_id == case.id, Task.status == "open")
        .values(status="cancelled", concluded_at=utcnow(), version=Task.version + 1)
        .execution_options(synchronize_session="fetch")
    )
    case.status, case.closed_on = status, on
    case.pause_reason = case.paused_on = None
    if reason is not None:
        case.reason = reason
    touch(case)

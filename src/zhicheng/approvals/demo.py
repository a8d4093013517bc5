"""The demo's one-stop services (`zhicheng demo load`): 36 service items of 17 departments, a third of them
taken over by the approval bureau (市政务办 implements and seals, the department decides), five flows (among
them the construction permit's joint review by 住建, 规划, 应急 and 水务 in parallel), the certificate types
the items issue, logins for an applicant, the window, four reviewers, a decider, a supervisor and an item
manager, and about forty cases in every state: waiting at the window, asked for corrections, in each stage
(a joint review half-concluded), paused for expert review, 容缺 ones waiting for their supplement or
terminated because it never came, overdue (yellow and red) and escalated, refused, rejected, completed with
signed certificates delivered online, at the window or by mail.

Runs after the other module demos (app.MODULES order) and writes through the approvals and certificates
services only, as `cli:demo`: one transaction for the catalog (certificate types, flows, items, the credit
blacklist), one for the logins, one per case with all its steps. Each step is dated relative to the day of the
load (the services take `today`, and every step is one working day after the one before), so the fresh cases
are fresh and the late ones late whatever day the demo is loaded on. After the cases, the supervision sweep
runs once (as the `approvals.sweep` job would within ten minutes): it terminates the lapsed 容缺 case and
escalates the overdue ones, and the supervisor answers one escalation.

Idempotent: types, flows and items are known by their codes, the blacklist entry by its number, logins by
username, a case by its applicant and its idempotency key (`demo-<key>`); a second load writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import func, select

from zhicheng.approvals import acceptance, blacklist, corrections, flows, items, review, supervision
from zhicheng.approvals import cases as case_steps
from zhicheng.approvals import config as approvals_config
from zhicheng.approvals import demo_data as data
from zhicheng.approvals import files as approval_files
from zhicheng.approvals.models import Case, Escalation, FlowVersion, ServiceItem, Task
from zhicheng.approvals.permissions import ACCEPT, SUPERVISE
from zhicheng.approvals.queries import org_path
from zhicheng.approvals.schemas import (
    AcceptIn,
    BlacklistIn,
    CaseIn,
    CorrectionIn,
    FlowIn,
    ItemIn,
    SupplyIn,
)
from zhicheng.certificates import services as certificates
from zhicheng.certificates.schemas import FieldIn, TypeIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import User
from zhicheng.core.auth.permissions import Scope
from zhicheng.core.auth.principal import Principal
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.calendar import queries as calendar
from zhicheng.core.calendar.clock import Calendar
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work
from zhicheng.core.orgs.models import Org, Party
from zhicheng.demo import people
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
TOKEN = "demo-"  # idempotency keys of the demo's cases: demo-<case key>
MAX_UPLOAD = 10 * 1024 * 1024


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    today = shanghai_today()
    with unit_of_work(db, ACTOR) as uow:
        made_catalog = _catalog(uow, orgs)
    logins, made_logins = _logins(db, orgs)
    info["logins"].extend(logins)
    parties = _parties(db)
    with db.read() as s:
        done = set(s.scalars(select(Case.client_token).where(Case.client_token.like(f"{TOKEN}%"))))
        cal = calendar.calendar(s)
    todo = [c for c in data.CASES if TOKEN + c[0] not in done]
    for spec in todo:
        with unit_of_work(db, ACTOR) as uow:
            _play(uow, spec, parties, orgs, cal, today)
    if todo:  # what the sweep would do within ten minutes; only in the run that made the cases
        with unit_of_work(db, ACTOR) as uow:
            supervision.sweep(uow, today=today)
            _acknowledge(uow, today)
    made_ratings = _ratings(db, orgs, cal, today)
    info["created"].update(
        {
            "approvals_catalog": made_catalog,
            "approvals_accounts": made_logins,
            "approvals_cases": len(todo),
            "approvals_ratings": made_ratings,
        }
    )
    info["approvals"] = summary(db, settings, today)


# --- the catalog -----------------------------------------------------------------------------------------


def _catalog(uow: UnitOfWork, orgs: dict[str, Any]) -> int:
    """Certificate types, flows, items and the blacklist entry that are not there yet; how many were made."""
    s, made = uow.session, 0
    for code, name, holder, years, keys in data.CERT_TYPES:
        if certificates.find_type(uow, code) is None:
            certificates.define_type(
                uow,
                TypeIn(
                    code=code,
                    name=name,
                    holder_kind=holder,  # type: ignore[arg-type]
                    validity_years=years,
                    fields=[FieldIn(key=k) for k in keys],
                    description="一网通办演示事项的办理结果",
                ),
            )
            made += 1
    have_flows = set(s.scalars(select(FlowVersion.code)))
    for code, name, definition in data.flows(orgs):
        if code not in have_flows:
            flows.publish(
                uow, FlowIn(code=code, name=name, owner_org_id=orgs[data.BUREAU], definition=definition)
            )
            made += 1
    have_items = set(s.scalars(select(ServiceItem.code)))
    for it in data.ITEMS:
        if it.code not in have_items:
            items.create_item(uow, _item_in(it, orgs))
            made += 1
    bad = people.enterprises()[data.BLACKLISTED]
    if blacklist.active_entry(s, "enterprise", bad.id_number) is None:
        blacklist.add(
            uow,
            BlacklistIn(
                kind="enterprise", id_number=bad.id_number, reason=data.BLACKLIST_REASON, source="信用中国"
            ),
        )
        made += 1
    return made


def _item_in(it: data.Item, orgs: dict[str, Any]) -> ItemIn:
    dept = orgs[it.dept]
    cert_name = next((name for code, name, *_ in data.CERT_TYPES if code == it.cert), None)
    return ItemIn(
        code=it.code,
        name=it.name,
        kind=it.kind,
        org_id=orgs[data.BUREAU] if it.bureau else dept,
        deciding_org_id=dept if it.bureau else None,
        legal_basis=it.basis,
        conditions=it.conditions or f"符合{it.basis.split('；')[0]}规定的条件",
        statutory_days=it.statutory,
        promised_days=it.promised,
        fee=it.fee,
        result_name=it.result or cert_name or "",
        certificate_type=it.cert,
        materials=[_material(code, name, flags) for code, name, flags in data.MATERIALS[it.form]],
        form=[{"key": k, "label": label, "type": kind} for k, label, kind in data.FORMS[it.form]],
        flow_code=it.flow,
        note="演示事项",
    )  # type: ignore[arg-type]


def _material(code: str, name: str, flags: str) -> dict[str, Any]:
    photo = code == "photo"
    return {
        "code": code,
        "name": name,
        "required": flags != "opt",
        "core": flags == "core",
        "rongque": flags == "rq",
        "formats": ["jpg", "png"] if photo else ["pdf", "ofd"],
        "max_mb": 5 if photo else 10,
        "template": f"{name}（样表）.pdf" if code == "form" else None,
    }


# --- logins ----------------------------------------------------------------------------------------------


def _logins(db: Database, orgs: dict[str, Any]) -> tuple[list[dict[str, str]], int]:
    """The module's demo users, brought back to the printed password, active, with their role."""
    me = people.citizens()[0]
    out = []
    with unit_of_work(db, ACTOR) as uow:
        s = uow.session
        party_id = s.scalar(select(Party.id).where(Party.kind == "citizen", Party.id_number == me.id_number))
        for username, display, role, org_key in data.LOGINS:
            applicant = role == "applicant"
            home = None if applicant else orgs[data.LOGIN_HOME.get(username, org_key)]
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                user = auth.create_user(
                    uow,
                    UserIn(
                        username=username,
                        display_name=display or me.name,
                        password=people.DEMO_PASSWORD,
                        org_id=home,
                        party_id=party_id if applicant else None,
                    ),
                )
            else:
                if not auth.check_password(user.password_hash, people.DEMO_PASSWORD):
                    auth.set_password(uow, user.id, people.DEMO_PASSWORD)
                if not user.active:
                    auth.set_active(uow, user.id, True)
            auth.grant_role(uow, user.id, GrantIn(role=role, org_id=orgs[org_key]))
            org = s.get(Org, user.org_id) if user.org_id else None
            out.append(
                {
                    "username": username,
                    "password": people.DEMO_PASSWORD,
                    "role": role,
                    "org": org.name if org else "",
                }
            )
        return out, uow.audited


# --- cases -----------------------------------------------------------------------------------------------


def _parties(db: Database) -> dict[str, tuple[int, str, str]]:
    """ "me", "c<n>", "e<n>" → (party id, name, kind) of the demo's people."""
    wanted = {"me": people.citizens()[0]}
    wanted |= {f"c{n}": p for n, p in enumerate(people.citizens())}
    wanted |= {f"e{n}": p for n, p in enumerate(people.enterprises())}
    with db.read() as s:
        ids = {
            (k, n): (i, name)
            for i, k, n, name in s.execute(select(Party.id, Party.kind, Party.id_number, Party.name))
        }
    return {key: (*ids[(p.kind, p.id_number)], p.kind) for key, p in wanted.items()}


class _Day:
    """The day each step happens on: working days counted back from the last working day up to today on the
    city's calendar, never after it."""

    def __init__(self, cal: Calendar, today: dt.date, ago: int) -> None:
        day = today
        while not cal.is_workday(day):  # on a weekend or holiday, the last working day is "today"
            day -= dt.timedelta(days=1)
        self.cal, self.today = cal, day
        for _ in range(ago):
            day -= dt.timedelta(days=1)
            while not cal.is_workday(day):
                day -= dt.timedelta(days=1)
        self.day = day

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            self.day = min(self.cal.add_workdays(self.day, 1).date, self.today)


def _play(
    uow: UnitOfWork,
    spec: tuple[str, str, str, int, tuple[str, ...]],
    parties: dict[str, tuple[int, str, str]],
    orgs: dict[str, Any],
    cal: Calendar,
    today: dt.date,
) -> None:
    key, code, who, ago, steps = spec
    s = uow.session
    party = s.get_one(Party, parties[who][0])
    it = next(i for i in data.ITEMS if i.code == code)
    materials = data.MATERIALS[it.form]
    on = _Day(cal, today, ago)
    case: Case | None = None
    serial = int(code[-4:]) + sum(map(ord, key))
    for step in steps:
        name, _, arg = step.partition(":")
        d = on.day
        if name.startswith("submit"):
            skip = {c for c, _n, f in materials if f == "opt" or (name == "submit-rq" and f == "rq")}
            uploads = {c: _upload(uow, key, c) for c, _n, _f in materials if c not in skip}
            form = data.form_values(it.form, serial % 97, party.name)
            body = CaseIn(item_code=code, form=form, materials=uploads)
            case, _new = case_steps.submit(uow, body, party, TOKEN + key, today=d)
        elif name == "correct":
            assert case is not None
            if who == f"e{data.BLACKLISTED}":  # no 容缺 for it: the window asks for the material
                what, note = next(c for c, _n, f in materials if f == "rq"), data.BLACKLISTED_CORRECTION
            else:
                what, note = data.CORRECTION[it.form]
            corrections.request(uow, case.id, CorrectionIn(materials=[what], note=note), today=d)
        elif name == "supply":
            assert case is not None
            wanted = (case.correction or {}).get("materials") or case.rongque_missing
            corrections.supply(
                uow, case.id, SupplyIn(materials={c: _upload(uow, key, c, 2) for c in wanted}), today=d
            )
        elif name == "refuse":
            assert case is not None
            acceptance.refuse(uow, case.id, data.REFUSAL, today=d)
        elif name.startswith("accept"):
            assert case is not None
            rq = name != "accept"
            days = 3 if name == "accept-rq3" else None
            acceptance.accept(
                uow,
                case.id,
                AcceptIn(rongque=rq, supplement_days=days, note="材料齐全，予以受理" if not rq else ""),
                today=d,
            )
        elif name in ("approve", "reject"):
            assert case is not None
            depts = {orgs[k] for k in arg.split(",")} if arg else None
            for task in _open_tasks(uow, case.id):
                if depts is None or task.org_id in depts:
                    reason = data.REJECTIONS.get(arg, "") if name == "reject" else "经审查，符合法定条件"
                    review.conclude(uow, task.id, name == "approve", reason, today=d)
        elif name == "pause":
            assert case is not None
            review.pause(uow, case.id, "expert_review", data.PAUSE_NOTE, today=d)
        elif name in ("decide", "deny"):
            assert case is not None
            why = "" if name == "decide" else data.REJECTIONS["deny"]
            review.decide(uow, case.id, name == "decide", why, today=d)
        elif name == "deliver":
            assert case is not None
            tracking = f"SF{1300000000 + serial * 7919:010d}" if arg == "mail" else None
            review.deliver(uow, case.id, arg, tracking, "", today=d)
        elif name == "wait":
            on.advance(int(arg) - 1)
        else:  # a typo in demo_data: fail loudly rather than load a different story
            raise ValueError(f"unknown demo step {step!r} of case {key}")
        on.advance()


def _open_tasks(uow: UnitOfWork, case_id: int) -> list[Task]:
    return list(
        uow.session.scalars(
            select(Task)
            .where(Task.case_id == case_id, Task.queue == "review", Task.status == "open")
            .order_by(Task.id)
        )
    )


def _upload(uow: UnitOfWork, key: str, code: str, round_: int = 1) -> int:
    """A small but real PDF for one material of one case (its own bytes, so its own SM3 digest)."""
    body = f"demo case {key}, material {code}, version {round_}".encode()
    pdf = (
        b"%PDF-1.4\n% " + body + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    return approval_files.store(uow, io.BytesIO(pdf), f"{code}.pdf", MAX_UPLOAD).id


def _acknowledge(uow: UnitOfWork, today: dt.date) -> None:
    key, instruction = data.ACKED
    s = uow.session
    row = s.scalar(
        select(Escalation)
        .join(Case, Case.id == Escalation.case_id)
        .where(Case.client_token == TOKEN + key, Escalation.kind == "case", Escalation.acked_at.is_(None))
    )
    if row is not None:
        supervision.acknowledge(uow, row.id, instruction, today=today)


# --- 好差评 ----------------------------------------------------------------------------------------------


def _ratings(db: Database, orgs: dict[str, Any], cal: Calendar, today: dt.date) -> int:
    """The ratings of finished demo cases not rated yet (the applicant online, or the window's device), and
    the rectification of one bad rating answered and followed up; how many ratings were made."""
    try:
        from zhicheng.approvals import ratings
        from zhicheng.approvals.rating_models import Rating
    except ModuleNotFoundError:  # 好差评 not in this build
        return 0
    with db.read() as s:
        keyed = dict(
            s.execute(
                select(Case.client_token, Case.id).where(
                    Case.client_token.in_([TOKEN + r[0] for r in data.RATINGS])
                )
            ).all()
        )
        rated = set(s.scalars(select(Rating.case_id)))
        citizen_id = s.scalar(select(User.id).where(User.username == "citizen"))
        window = Principal(actor=ACTOR, scopes=(Scope(ACCEPT, org_path(s, orgs[data.BUREAU])),))
        supervisor = Principal(actor=ACTOR, scopes=(Scope(SUPERVISE, org_path(s, orgs["city"])),))
    citizen = Principal(actor=Actor(kind="user", name="citizen", user_id=citizen_id))
    made = 0
    for key, level, who, comment in data.RATINGS:
        case_id = keyed.get(TOKEN + key)
        if case_id is None or case_id in rated:
            continue
        with unit_of_work(db, ACTOR) as uow:
            case = uow.session.get_one(Case, case_id)
            on = _Day(cal, today, 0)
            on.day = min(cal.add_workdays(case.closed_on or today, 1).date, on.today)
            me, channel = (citizen, "online") if who == "me" else (window, "window")
            rating = ratings.rate(uow, me, case_id, level, comment, channel, today=on.day)
            if key == data.RECTIFIED[0] and ratings.is_bad(level):
                row = uow.session.scalar(
                    select(ratings.Rectification).where(ratings.Rectification.rating_id == rating.id)
                )
                on.advance(2)
                ratings.answer(uow, window, row.id, data.RECTIFIED[1], today=on.day)
                on.advance(3)
                ratings.follow_up(uow, supervisor, row.id, True, data.RECTIFIED[2], today=on.day)
        made += 1
    return made


# --- what the load prints --------------------------------------------------------------------------------


def summary(db: Database, settings: Settings, today: dt.date) -> dict[str, Any]:
    with db.read() as s:
        by_status = dict(s.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        active = select(ServiceItem).where(ServiceItem.status == "active").subquery()
        item_count = s.scalar(select(func.count()).select_from(active))
        deciders = s.scalar(
            select(func.count(func.distinct(func.coalesce(active.c.deciding_org_id, active.c.org_id))))
        )
        bureau = s.scalar(
            select(func.count()).select_from(active).where(active.c.deciding_org_id.is_not(None))
        )
        me = people.citizens()[0]
        sample = s.scalar(
            select(Case.certificate_no)
            .join(Party, Party.id == Case.party_id)
            .where(
                Party.id_number == me.id_number, Case.certificate_no.is_not(None), Case.status == "completed"
            )
            .order_by(Case.id)
            .limit(1)
        )
        certified = s.scalar(select(func.count()).where(Case.certificate_no.is_not(None)))
        escalations = s.scalar(select(func.count()).select_from(Escalation))
        overdue = s.scalar(
            select(func.count()).where(Case.status == "in_progress", Case.promised_due_on < today)
        )
        warn = approvals_config.warn_days(settings)
        edge = calendar.calendar(s).add_workdays(today, warn).date
        yellow = s.scalar(
            select(func.count()).where(
                Case.status == "in_progress", Case.promised_due_on >= today, Case.promised_due_on <= edge
            )
        )
        rongque_waiting = s.scalar(
            select(func.count()).where(
                Case.rongque.is_(True), Case.supplements_done_on.is_(None), Case.status == "in_progress"
            )
        )
    return {
        **_rating_counts(db),
        "applicant": "citizen",
        "certificate": sample,
        "items": item_count,
        "departments": deciders,
        "bureau_items": bureau,
        "flows": len(data.flows({k: 0 for k in (data.BUREAU, *data.JOINT)})),
        "cases": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "certificates": certified,
        "overdue": overdue,
        "warning": yellow,
        "escalations": escalations,
        "rongque_waiting": rongque_waiting,
    }


def _rating_counts(db: Database) -> dict[str, Any]:
    try:
        from zhicheng.approvals.rating_models import Rating, Rectification
    except ModuleNotFoundError:
        return {}
    with db.read() as s:
        levels = dict(s.execute(select(Rating.level, func.count()).group_by(Rating.level)).all())
        fixes = dict(
            s.execute(select(Rectification.status, func.count()).group_by(Rectification.status)).all()
        )
    return {
        "ratings": sum(levels.values()),
        "ratings_by_level": {str(k): v for k, v in sorted(levels.items())},
        "rectifications": dict(sorted(fixes.items())),
    }

"""The city operations demo (`zhicheng demo load`): the demo city's grid (200 万米单元网格 over its eleven
districts, a lattice per district; departments and a grid worker per grid), 69 部件/事件 classes with their
time limits and closing standards, routing rules to the city's and the districts' departments, logins for the
five desks of the loop (grid worker, 12345 agent, supervision centre, command centre, a department's
handler), an Open311 API key, and about 210 cases from every channel in every state of the loop over the 30
days before the load.

Runs after the other module demos (app.MODULES order) and writes through the cityops and auth services only,
as `cli:demo` (the citizens' app reports as the demo `citizen` when that login exists; the Open311 token gets
its fixed key the way demo/stages.py fixes the exchange token's): one transaction for the accounts, one for
the grid, one for the classes and rules, one per case with all its steps, then the overdue sweep once (as
the `cityops.sweep` job would within ten minutes). Steps are dated relative to the day of the load (the loop
takes `today`), so fresh cases are fresh and late ones late whatever the day; the timeline's own timestamps
are those of the load.

Idempotent: grids are known by code, classes by kind and code, rules by class and area, logins by username,
the Open311 token by its fixed key, a case by its idempotency key (`cityops-demo-<n>`); a second load
writes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import zlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from zhicheng.cityops import categories, intake, loop, photos, services, vocab
from zhicheng.cityops import demo_data as data
from zhicheng.cityops.models import Case, Category, Grid, GridDepartment, GridWorker, Reporter, RouteRule
from zhicheng.cityops.schemas import ActionIn, CategoryIn, HotlineIn, LocationIn, ReporterIn, ReportIn, RuleIn
from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import ApiToken, User
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work, utcnow
from zhicheng.core.orgs.models import Org
from zhicheng.demo import city, people
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
KEY = "cityops-demo-"
SEED = "zhicheng-cityops-demo-2026"
DAYS = 30
RANDOM_CASES = 110
MAX_PHOTO = 10 * 1024 * 1024
ZONE = ZoneInfo("Asia/Shanghai")
# the Open311 gateway's token: zc_<key>_<secret>, fixed so every load prints the same key
TOKEN_KEY = "demo2026open311k"
TOKEN_SECRET = "open311-demo-key-not-for-production"
TOKEN_NAME = "市民随手拍 Open311 网关"


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: str
    home: str  # the user's organization: a key of info["orgs"], or "<district>:<key>"
    over: str  # where the role is granted, the same way


LOGINS: tuple[Login, ...] = (
    Login("gridworker", "郑网格", "grid_worker", "xuanwu:government", "xuanwu:government"),
    Login("hotline", "林话务", "hotline_agent", "hotline", "city"),
    Login("supervision", "何监督", "supervision_centre", "city_management", "city"),
    Login("command", "邓指挥", "command_centre", "city_management", "city"),
    Login("handler", "许处置", "case_handler", "xuanwu:city_management", "xuanwu:city_management"),
)


def _org(orgs: dict[str, Any], ref: str) -> int:
    if ":" in ref:
        district, key = ref.split(":")
        return int(orgs["districts"][district][key])
    return int(orgs[ref])


# --- the grid --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridSpec:
    code: str
    name: str
    district: str  # the district's key in info["orgs"]["districts"]
    west: float
    south: float

    def polygon(self) -> dict[str, Any]:
        w, s, c = self.west, self.south, data.CELL
        ring = [[w, s], [w + c, s], [w + c, s + c], [w, s + c], [w, s]]
        return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}

    def point(self, fx: float, fy: float) -> tuple[float, float]:
        """A point inside the grid, away from its edges (fx, fy in [0, 1))."""
        return self.west + data.CELL * (0.05 + 0.9 * fx), self.south + data.CELL * (0.05 + 0.9 * fy)


def grid_specs() -> list[GridSpec]:
    """Every demo grid, a column per street and a row per community in its district's block."""
    out = []
    divisions = city.divisions()
    for county, (_name, key, streets) in city.DISTRICTS.items():
        west, south = data.CORNERS[county]
        for col, suffix in enumerate(streets):
            street = county + suffix
            communities = [d for d in divisions if d.parent == street]
            for row, community in enumerate(communities):
                out.append(
                    GridSpec(
                        f"{community.code}001",
                        f"{community.name}第1网格",
                        key,
                        west + col * data.CELL,
                        south + row * data.CELL,
                    )
                )
            if street in data.SECOND_GRID:
                first = communities[0]
                out.append(
                    GridSpec(
                        f"{first.code}002",
                        f"{first.name}第2网格",
                        key,
                        west + col * data.CELL,
                        south + len(communities) * data.CELL,
                    )
                )
    return out


def _grid(uow: UnitOfWork, orgs: dict[str, Any], specs: list[GridSpec], workers: dict[str, int]) -> int:
    """Import the grids not stored yet; give grids without departments or workers theirs."""
    s, made = uow.session, 0
    have = set(s.scalars(select(Grid.code)))
    missing = [g for g in specs if g.code not in have]
    if missing:
        doc = {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"code": g.code, "name": g.name}, "geometry": g.polygon()}
                for g in missing
            ],
        }
        made += len(services.import_grids(uow, doc, "wgs84")["created"])
        s.flush()
    with_depts = set(s.scalars(select(Grid.code).join(GridDepartment, GridDepartment.grid_id == Grid.id)))
    with_workers = set(s.scalars(select(Grid.code).join(GridWorker, GridWorker.grid_id == Grid.id)))
    for g in specs:
        d = orgs["districts"][g.district]
        if g.code not in with_depts:
            wanted = [d["city_management"], d["market_regulation"], d["public_security"], orgs["water"]]
            services.set_departments(uow, g.code, wanted)
            made += 1
        if g.code not in with_workers and g.district in workers:
            services.set_workers(uow, g.code, [workers[g.district]])
            made += 1
    return made


# --- classes and routing ---------------------------------------------------------------------------------


def _classes(uow: UnitOfWork, orgs: dict[str, Any]) -> int:
    """The classes and rules not there yet: the district's 城管 for everything in it, named classes to a city
    department, a few to the district's police or market regulation."""
    s, made = uow.session, 0
    have = set(s.execute(select(Category.kind, Category.code)).all())
    for c in data.CLASSES:
        if (c.kind, c.code) not in have:
            categories.create(
                uow,
                CategoryIn(
                    kind=c.kind,
                    code=c.code,
                    major_name=c.major,
                    name=c.name,
                    dispatch_days=c.dispatch_days,
                    handle_days=c.handle_days,
                    closing_standard=c.standard or data.STANDARDS[(c.kind, c.code[:2])],
                ),
            )
            made += 1
    s.flush()
    keys = {
        cid: categories.key_of(k, code)
        for cid, k, code in s.execute(select(Category.id, Category.kind, Category.code))
    }
    rules = {
        (keys.get(cid) if cid else None, area)
        for cid, area in s.execute(select(RouteRule.category_id, RouteRule.area))
    }
    for rule in _rules(orgs):
        if (rule.category, rule.area) not in rules:
            categories.set_rule(uow, rule)
            made += 1
    return made


def _rules(orgs: dict[str, Any]) -> list[RuleIn]:
    out = []
    for entry in orgs["districts"].values():
        out.append(RuleIn(category=None, area=entry["code"], department_id=entry["city_management"]))
        for cat, dept in data.DISTRICT_ROUTES.items():
            out.append(RuleIn(category=cat, area=entry["code"], department_id=entry[dept]))
    for c in data.CLASSES:
        if c.dept:
            out.append(
                RuleIn(category=categories.key_of(c.kind, c.code), area="", department_id=orgs[c.dept])
            )
    out.append(RuleIn(category=None, area="", department_id=orgs["city_management"]))
    return out


# --- accounts --------------------------------------------------------------------------------------------


def _user(uow: UnitOfWork, username: str, display: str, org_id: int) -> tuple[User, int]:
    """The demo user, created or brought back to the demo password and active; (user, writes)."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = auth.create_user(
            uow, UserIn(username=username, display_name=display, password=people.DEMO_PASSWORD, org_id=org_id)
        )
        return user, 1
    changed = 0
    if not auth.check_password(user.password_hash, people.DEMO_PASSWORD):
        auth.set_password(uow, user.id, people.DEMO_PASSWORD)
        changed += 1
    if not user.active:
        auth.set_active(uow, user.id, True)
        changed += 1
    return user, changed


def _grant(uow: UnitOfWork, user_id: int, role: str, org_id: int) -> int:
    before = uow.audited
    auth.grant_role(uow, user_id, GrantIn(role=role, org_id=org_id))
    return uow.audited - before


def _accounts(uow: UnitOfWork, orgs: dict[str, Any]) -> tuple[list[dict], dict[str, int], dict, int]:
    """The five desks' logins, a grid worker per other district, the Open311 gateway's token."""
    s, changed = uow.session, 0
    names = dict(s.execute(select(Org.id, Org.name)).all())
    logins, workers = [], {}
    for lg in LOGINS:
        user, n = _user(uow, lg.username, lg.display_name, _org(orgs, lg.home))
        changed += n + _grant(uow, user.id, lg.role, _org(orgs, lg.over))
        logins.append(
            {
                "username": lg.username,
                "password": people.DEMO_PASSWORD,
                "role": lg.role,
                "org": names.get(user.org_id, ""),
            }
        )
        if lg.role == "grid_worker":
            workers["xuanwu"] = user.id
    for i, (key, entry) in enumerate(orgs["districts"].items()):
        if key in workers:
            continue
        name = people.SURNAMES[i * 3 % len(people.SURNAMES)] + "网格"
        user, n = _user(uow, f"grid_{key}", name, entry["government"])
        changed += n + _grant(uow, user.id, "grid_worker", entry["government"])
        workers[key] = user.id
    token = s.scalar(select(ApiToken).where(ApiToken.key == TOKEN_KEY))
    gateway = orgs["city_management"]
    if token is None:
        token, _ = auth.create_token(
            uow, TokenIn(name=TOKEN_NAME, org_id=gateway, roles=["cityops_channel"], days=3650)
        )
        # a fixed, documented secret instead of the random one, so every load prints the same key
        token.key, token.secret_hash = TOKEN_KEY, keyed_digest(uow.secret, TOKEN_SECRET)
        changed += 1
    usable = (
        token.revoked_at is None
        and token.expires_at > utcnow()
        and token.secret_hash == keyed_digest(uow.secret, TOKEN_SECRET)
    )
    shown = {
        "name": TOKEN_NAME,
        "token": f"zc_{TOKEN_KEY}_{TOKEN_SECRET}",
        "org": names.get(gateway, ""),
        "roles": ["cityops_channel"],
        "usable": usable,
    }
    return logins, workers, shown, changed


def _citizen(uow: UnitOfWork, orgs: dict[str, Any]) -> tuple[Actor | None, int]:
    """The demo `citizen` (the approvals demo's applicant) reports through the app: it may, and follows."""
    user = uow.session.scalar(select(User).where(User.username == "citizen", User.party_id.is_not(None)))
    if user is None:
        return None, 0
    made = _grant(uow, user.id, "city_reporter", orgs["city"])
    return Actor(kind="user", name=user.username, user_id=user.id), made


# --- the cases -------------------------------------------------------------------------------------------


@dataclass
class Story:
    n: int
    channel: str
    category: str
    grid: int  # index in grid_specs()
    fx: float
    fy: float
    days_ago: int
    minute: int  # of the day it was reported (Asia/Shanghai)
    state: str  # a status of vocab.STATUSES, or one of demo_data.EXTRA
    seed: int
    duplicate: str | None = None  # a second channel that reports the same thing soon after

    @property
    def key(self) -> str:
        return f"{KEY}{self.n:04d}"


AGES = {
    "reported": (0, 1),
    "registered": (0, 1),
    "cancelled": (0, 29),
    "dispatched": (0, 2),
    "handling": (1, 3),
    "handled": (1, 4),
    "returned": (1, 5),
    "disputed": (2, 6),
    "rework": (2, 6),
    "closed": (3, 29),
    "evaluated": (5, 29),
    "extension_pending": (2, 5),
    "extension_granted": (3, 8),
    "extension_refused": (3, 8),
    "overdue": (9, 20),
    "overdue_registered": (4, 8),
    "reworked_closed": (6, 29),
}
EXTRA_CHANNELS = {
    "extension_pending": ("hotline", "grid", "sensor"),
    "extension_granted": ("grid", "video", "hotline"),
    "extension_refused": ("hotline", "drone"),
    "overdue": ("hotline", "grid", "sensor", "app", "video"),
    "overdue_registered": ("grid", "drone", "open311"),
    "reworked_closed": ("grid", "hotline", "video", "app"),
}


def stories() -> list[Story]:
    """The demo's cases, the same for every load (a fixed seed), oldest first: one per channel and status,
    the extra stories (extensions, overdue, closed after rework), then a month of everyday ones."""
    rnd = random.Random(SEED)
    specs = grid_specs()
    everything = [categories.key_of(c.kind, c.code) for c in data.CLASSES]
    plan: list[tuple[str, str, int | None]] = [(c, s, None) for c in vocab.CHANNELS for s in data.STATES]
    plan += [(c, s, None) for s, chans in EXTRA_CHANNELS.items() for c in chans]
    channels = [
        c
        for c, w in (
            ("hotline", 9),
            ("grid", 9),
            ("sensor", 2),
            ("drone", 1),
            ("video", 3),
            ("open311", 2),
            ("app", 3),
        )
        for _ in range(w)
    ]
    for _ in range(RANDOM_CASES):
        age = rnd.randrange(DAYS)
        if age <= 1:
            state = rnd.choice(("reported", "registered", "registered", "dispatched", "cancelled"))
        elif age <= 5:
            state = rnd.choice(
                ("dispatched", "handling", "handling", "handled", "closed", "returned", "rework")
            )
        else:
            state = rnd.choice(("evaluated",) * 5 + ("closed",) * 3 + ("cancelled", "reworked_closed"))
        plan.append((rnd.choice(channels), state, age))
    out = []
    for i, (channel, state, age) in enumerate(plan):
        lo, hi = AGES[state]
        pool = data.CHANNEL_CLASSES.get(channel, everything)
        out.append(
            Story(
                n=i + 1,
                channel=channel,
                category=rnd.choice(pool),
                grid=_weighted_grid(rnd, specs),
                fx=rnd.random(),
                fy=rnd.random(),
                days_ago=age if age is not None else rnd.randint(lo, hi),
                minute=rnd.randrange(7 * 60, 22 * 60),
                state=state,
                seed=rnd.randrange(1 << 30),
                duplicate=rnd.choice(("app", "hotline", "grid")) if rnd.random() < 0.07 else None,
            )
        )
    out.sort(key=lambda st: (-st.days_ago, st.minute, st.n))
    return out


def _weighted_grid(rnd: random.Random, specs: list[GridSpec]) -> int:
    """A grid, the central districts more often (more people, more cases)."""
    busy = ("xuanwu", "qinhuai", "gulou", "jianye")
    while True:
        i = rnd.randrange(len(specs))
        if specs[i].district in busy or rnd.random() < 0.45:
            return i


def _png(rgb: tuple[int, int, int], w: int = 64, h: int = 48) -> bytes:
    """A small PNG (a colour gradient): the demo's stand-in for a photo."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((min(255, rgb[0] + y), min(255, rgb[1] + x), rgb[2])) for x in range(w))
        for y in range(h)
    )

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTOS = {"report": _png((150, 120, 90)), "before": _png((120, 90, 60)), "after": _png((60, 150, 80))}


def _report_in(st: Story, spec: GridSpec, at: dt.datetime, channel: str, rnd: random.Random) -> ReportIn:
    cls = next(c for c in data.CLASSES if categories.key_of(c.kind, c.code) == st.category)
    lng, lat = spec.point(st.fx, st.fy)
    county = next(code for code, v in city.DISTRICTS.items() if v[1] == spec.district)
    address = f"{city.DISTRICTS[county][0]}{rnd.choice(data.ROADS[county])}{rnd.randint(1, 300)}号附近"
    text, reporter, hotline = cls.problem, None, None
    if channel in data.DEVICES:
        label, prefix = data.DEVICES[channel]
        device = f"{prefix}-{county}-{rnd.randint(1, 400):04d}"
        reading = data.SENSOR_TEXT.get(st.category, "设备告警")
        text = (
            f"{label}告警：{reading}"
            if channel == "sensor"
            else f"{label}：识别到“{cls.name}”，置信度 {rnd.uniform(0.82, 0.98):.2f}。{cls.problem}"
        )
        reporter = ReporterIn(name=label, external_id=device)
    elif channel == "hotline":
        name = rnd.choice(people.SURNAMES) + rnd.choice(data.GIVEN)
        phone = rnd.choice(people.MOBILE_PREFIXES) + f"{rnd.randrange(10**8):08d}"
        hotline = HotlineIn(
            work_order_no=f"NJ{at.astimezone(ZONE):%Y%m%d}{st.n:05d}", caller_name=name, caller_phone=phone
        )
        text = f"市民来电反映：{address}{cls.problem}，请尽快处理。"
    elif channel == "open311":
        reporter = ReporterIn(name="随手拍用户", external_id=f"open311-{st.n:05d}")
        text = f"{cls.problem}（随手拍）"
    elif channel == "grid":
        text = f"网格员巡查发现：{cls.problem}"
    return ReportIn(
        category=st.category,
        location=LocationIn(lng=lng, lat=lat, crs="wgs84"),
        address=address,
        description=text,
        reporter=reporter,
        hotline=hotline,
        reported_at=at,
    )


def _steps(st: Story, cls: data.Cls, rnd: random.Random) -> list[tuple[str, dict, int]]:
    """(action or photo:<stage>, the action's body, working days after the step before) for the story."""
    reg = [("register", {}, rnd.choice((0, 0, 1)))]
    dispatch = [("dispatch", {}, rnd.choice((0, 0, 1)))]
    accept = [("accept", {}, rnd.choice((0, 1)))]
    if rnd.random() < 0.3:  # some departments take a photo before they start
        accept.append(("photo:before", {}, 0))
    late = rnd.random() < 0.15
    work = cls.handle_days + rnd.randint(1, 3) if late else rnd.randint(0, max(cls.handle_days - 1, 0))
    feedback = [("photo:after", {}, work), ("feedback", {"note": "已按结案标准处置完毕"}, 0)]
    verify = [("verify", {"note": "现场核查符合结案标准"}, rnd.choice((0, 1)))]
    evaluation = rnd.choice(("excellent", "excellent", "good", "good", "good", "poor"))
    evaluate = [("evaluate", {"evaluation": evaluation}, rnd.choice((0, 1, 2)))]
    reject = [("reject", {"reason": rnd.choice(data.REJECT_REASONS)}, 1)]
    s = st.state
    if s == "reported":
        return []
    if s == "cancelled":
        return [("cancel", {"reason": rnd.choice(data.CANCEL_REASONS)}, rnd.choice((0, 1)))]
    if s in ("registered", "overdue_registered"):
        return reg
    if s == "dispatched":
        return reg + dispatch
    if s in ("handling", "overdue"):
        return reg + dispatch + accept
    if s == "handled":
        return reg + dispatch + accept + feedback
    if s == "returned":
        return reg + dispatch + [("return", {"reason": rnd.choice(data.RETURN_REASONS)}, rnd.choice((0, 1)))]
    if s == "disputed":
        return reg + dispatch + accept + [("dispute", {"reason": rnd.choice(data.DISPUTE_REASONS)}, 1)]
    if s == "rework":
        return reg + dispatch + accept + feedback + reject
    if s.startswith("extension"):
        ask = [("extend", {"days": rnd.choice((2, 3, 5)), "reason": "需协调产权单位，申请延期"}, 1)]
        if s == "extension_pending":
            return reg + dispatch + accept + ask
        decide = [
            (
                "extend",
                {
                    "approve": s == "extension_granted",
                    "reason": "同意延期" if s == "extension_granted" else "时限内可以完成，不同意延期",
                },
                0,
            )
        ]
        return reg + dispatch + accept + ask + decide
    closing = reg + dispatch + accept + feedback
    if s == "reworked_closed":
        closing += reject + [("accept", {}, 0), ("photo:after", {}, 1), ("feedback", {"note": "已返工"}, 0)]
    closing += verify
    if s in ("evaluated", "reworked_closed"):
        closing += evaluate
    if st.channel == "hotline" and s in ("closed", "evaluated", "reworked_closed") and rnd.random() < 0.8:
        score = rnd.choice((5, 5, 5, 4, 4, 3, 2))
        closing += [("callback", {"satisfaction": score, "note": rnd.choice(data.CALLBACK_NOTES)}, 1)]
    return closing


def _play(
    uow: UnitOfWork,
    st: Story,
    specs: list[GridSpec],
    today: dt.date,
    orgs: dict[str, Any],
    citizen: Actor | None,
) -> None:
    rnd = random.Random(st.seed)
    day = today - dt.timedelta(days=st.days_ago)
    at = dt.datetime.combine(day, dt.time(st.minute // 60, st.minute % 60), ZONE).astimezone(dt.UTC)
    at = min(at, utcnow() - dt.timedelta(minutes=5))
    spec = specs[st.grid]
    body = _report_in(st, spec, at, st.channel, rnd)
    reporter_uow = uow
    if st.channel == "app" and citizen is not None:
        # the citizen reports (and so follows the case) in the same transaction as the demo's steps
        reporter_uow = UnitOfWork(session=uow.session, actor=citizen, secret=uow.secret)
    out = intake.report(reporter_uow, body, channel=st.channel, today=day, idempotency_key=st.key)
    if reporter_uow is not uow:  # its audit records are written with the transaction's
        uow.entries.extend(reporter_uow.entries)
        uow.audited += reporter_uow.audited
    if out.merged:  # it met an earlier story's open case: that story's steps are enough
        return
    if st.duplicate:
        again = _report_in(st, spec, at + dt.timedelta(hours=rnd.randint(1, 5)), st.duplicate, rnd)
        again.location.lng += 0.0001  # about 10 m east
        intake.report(uow, again, channel=st.duplicate, today=day, idempotency_key=st.key + "-dup")
    if st.channel in ("grid", "drone", "video"):  # grid workers' photos, the detections' frames
        photos.add(uow, out.case_id, "report", io.BytesIO(PHOTOS["report"]), "report.png", MAX_PHOTO)
    cls = next(c for c in data.CLASSES if categories.key_of(c.kind, c.code) == st.category)
    on = day
    for action, args, after in _steps(st, cls, rnd):
        on = min(on + dt.timedelta(days=after), today)
        if action.startswith("photo:"):
            stage = action.split(":")[1]
            photos.add(uow, out.case_id, stage, io.BytesIO(PHOTOS[stage]), f"{stage}.png", MAX_PHOTO)
            continue
        loop.step(uow, out.case_id, action, ActionIn(**args), on)


def _done(db: Database) -> set[str]:
    with db.read() as s:
        tokens = s.scalars(select(Reporter.client_token).where(Reporter.client_token.like(f"%|{KEY}%")))
        return {t.split("|", 1)[1] for t in tokens if t}


# --- load ------------------------------------------------------------------------------------------------


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    today = shanghai_today()
    specs = grid_specs()
    with unit_of_work(db, ACTOR) as uow:
        logins, workers, token, made_accounts = _accounts(uow, orgs)
        citizen, granted = _citizen(uow, orgs)
        made_accounts += granted
    with unit_of_work(db, ACTOR) as uow:
        made_grid = _grid(uow, orgs, specs, workers)
    with unit_of_work(db, ACTOR) as uow:
        made_classes = _classes(uow, orgs)
    done = _done(db)
    todo = [st for st in stories() if st.key not in done]
    for st in todo:
        with unit_of_work(db, ACTOR) as uow:
            _play(uow, st, specs, today, orgs, citizen)
    if todo:  # what the sweep job would do within ten minutes; only in the load that made the cases
        with unit_of_work(db, ACTOR) as uow:
            loop.sweep(uow, today)
    info["logins"].extend(logins)
    info["tokens"].append(token)
    info["created"].update(
        {
            "cityops_accounts": made_accounts,
            "cityops_grid": made_grid,
            "cityops_categories": made_classes,
            "cityops_cases": len(todo),
        }
    )
    info["cityops"] = summary(db) | {
        "open311_api_key": token["token"],
        "open311_url": f"{info.get('url', '')}/open311/v2",
        "grid_worker": {
            "username": "gridworker",
            "password": people.DEMO_PASSWORD,
            "grids": sum(1 for g in specs if g.district == "xuanwu"),
        },
    }


def summary(db: Database) -> dict[str, Any]:
    """What the city operations demo holds, for `demo load --json`."""
    with db.read() as s:
        count = select(func.count())
        grids = s.scalar(count.select_from(Grid)) or 0
        districts = s.scalar(select(func.count(func.distinct(func.substr(Grid.code, 1, 6))))) or 0
        classes = s.scalar(count.select_from(Category)) or 0
        rules = s.scalar(count.select_from(RouteRule)) or 0
        by_status = dict(s.execute(select(Case.status, func.count()).group_by(Case.status)).all())
        by_channel = dict(s.execute(select(Case.channel, func.count()).group_by(Case.channel)).all())
        escalated = s.scalar(count.select_from(Case).where(Case.escalated_at.is_not(None))) or 0
        reports = s.scalar(count.select_from(Reporter)) or 0
    return {
        "districts": districts,
        "grids": grids,
        "categories": classes,
        "rules": rules,
        "cases": sum(by_status.values()),
        "reports": reports,
        "by_status": dict(sorted(by_status.items())),
        "by_channel": dict(sorted(by_channel.items())),
        "escalated": escalated,
    }

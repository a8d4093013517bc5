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

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from zhicheng.cityops import categories, loop, services
from zhicheng.cityops import demo_data as data
from zhicheng.cityops.demo_cases import _done, _play, stories
from zhicheng.cityops.demo_data import GridSpec, grid_specs
from zhicheng.cityops.models import Case, Category, Grid, GridDepartment, GridWorker, Reporter, RouteRule
from zhicheng.cityops.schemas import CategoryIn, RuleIn
from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import ApiToken, User
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, Database, UnitOfWork, unit_of_work, utcnow
from zhicheng.core.orgs.models import Org
from zhicheng.demo import people
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
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

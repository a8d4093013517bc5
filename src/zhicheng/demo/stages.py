"""The steps of `demo load`, each run inside one unit of work. Every step looks before it writes, so a second
run finds everything in place and writes nothing (no audit record either)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import ApiToken, User
from zhicheng.core.auth.schemas import GrantIn, TokenIn, UserIn
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.orgs import services as orgs
from zhicheng.core.orgs.models import Division, Org, Party
from zhicheng.core.orgs.realname import RealNameVerifier
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn, PartyIn
from zhicheng.demo import city, codes, people

Step = Callable[[], None]


def divisions(uow: UnitOfWork, step: Step) -> int:
    """Province, city, districts, streets and communities; returns how many were created."""
    have = set(uow.session.scalars(select(Division.code)))
    created = 0
    for div in city.divisions():
        if div.code not in have:
            orgs.create_division(uow, DivisionIn(code=div.code, name=div.name, parent_code=div.parent))
            created += 1
        step()
    return created


class _Orgs:
    """Finds an organization by name or creates it with a credit code derived from that name."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.by_name = {o.name: o for o in uow.session.scalars(select(Org))}
        self.created = 0

    def ensure(
        self,
        name: str,
        kind: str,
        division: str,
        parent: Org | None,
        line: Org | None = None,
        short: str | None = None,
    ) -> Org:
        found = self.by_name.get(name)
        if found is not None:  # already there (an earlier run, or an operator made it): leave it as it is
            return found
        prefix = codes.INSTITUTION if kind == "institution" else codes.ORGAN
        org = orgs.create_org(
            self.uow,
            OrgIn(
                name=name,
                short_name=short,
                kind=kind,
                division_code=division,  # type: ignore[arg-type]
                parent_id=parent.id if parent else None,
                line_parent_id=line.id if line else None,
                credit_code=codes.credit_code(prefix, division, name),
            ),
        )
        self.by_name[name] = org
        self.created += 1
        return org


def governments(uow: UnitOfWork, step: Step) -> tuple[dict[str, Any], int]:
    """The province, the city and its 委办局, every district and its departments (条 line to the city's)."""
    made = _Orgs(uow)
    province = made.ensure(
        f"{city.PROVINCE[1]}人民政府", "government", city.PROVINCE[0], None, short="省政府"
    )
    town = made.ensure(f"{city.CITY[1]}人民政府", "government", city.CITY[0], province, short="市政府")
    step()
    info: dict[str, Any] = {"province": province.id, "city": town.id}
    depts: dict[str, Org] = {}
    for d in city.CITY_DEPARTMENTS:
        parent = depts[d.parent] if d.parent else town
        depts[d.key] = made.ensure(d.name, d.kind, city.CITY[0], parent, short=d.short)
        info[d.key] = depts[d.key].id
        step()
    districts: dict[str, dict[str, Any]] = {}
    for code, (name, key, _streets) in city.DISTRICTS.items():
        gov = made.ensure(f"{name}人民政府", "government", code, town, short=f"{name}政府")
        entry: dict[str, Any] = {"code": code, "name": name, "government": gov.id}
        for dkey, pattern, line in city.DISTRICT_DEPARTMENTS:
            dept_name = city.district_department_name(pattern, name)
            entry[dkey] = made.ensure(dept_name, "department", code, gov, line=depts[line]).id
        districts[key] = entry
        step()
    info["districts"] = districts
    return info, made.created


def parties(uow: UnitOfWork, verifier: RealNameVerifier, step: Step) -> tuple[dict[str, int], int]:
    """Citizens and enterprises, registered and verified through the real-name interface."""
    have = {(k, n) for k, n in uow.session.execute(select(Party.kind, Party.id_number))}
    created = 0
    counts = {"citizens": 0, "enterprises": 0}
    for p in [*people.citizens(), *people.enterprises()]:
        if (p.kind, p.id_number) not in have:
            orgs.register_party(
                uow, PartyIn(kind=p.kind, id_number=p.id_number, name=p.name, phone=p.phone), verifier
            )  # type: ignore[arg-type]
            created += 1
        counts["citizens" if p.kind == "citizen" else "enterprises"] += 1
        step()
    return counts, created


def _org_id(org_ids: dict[str, Any], key: str | None) -> int | None:
    if key is None:
        return None
    if key in org_ids["districts"]:
        return org_ids["districts"][key]["government"]
    return org_ids[key]



def accounts(uow: UnitOfWork, org_ids: dict[str, Any], step: Step) -> tuple[list[dict], list[dict], int]:
    """A user for every built-in role and one with none; the consumer system's token.

    A demo user that exists already is brought back to what the demo prints (password, active, role), so the
    printed logins always work; anything else about it is left alone.
    """
    s, changed = uow.session, 0
    names = dict(s.execute(select(Org.id, Org.name)).all())
    logins = []
    for lg in people.LOGINS:
        org_id = _org_id(org_ids, lg.org)
        user = s.scalar(select(User).where(User.username == lg.username))
        if user is None:
            user = auth.create_user(
                uow,
                UserIn(
                    username=lg.username,
                    display_name=lg.display_name,
                    password=people.DEMO_PASSWORD,
                    org_id=org_id,
                ),
            )
            changed += 1
        else:
            if not auth.check_password(user.password_hash, people.DEMO_PASSWORD):
                auth.set_password(uow, user.id, people.DEMO_PASSWORD)
                changed += 1
            if not user.active:
                auth.set_active(uow, user.id, True)
                changed += 1
        if lg.role and org_id is not None:
            before = uow.audited
            auth.grant_role(uow, user.id, GrantIn(role=lg.role, org_id=org_id))
            changed += uow.audited - before
        logins.append(
            {
                "username": lg.username,
                "password": people.DEMO_PASSWORD,
                "role": lg.role or "",
                "org": names.get(user.org_id, "") if user.org_id else "",
            }
        )
        step()
    t = people.TOKEN
    token_org = _org_id(org_ids, t.org)
    assert token_org is not None
    token = s.scalar(select(ApiToken).where(ApiToken.key == people.TOKEN_KEY))
    if token is None:
        data = TokenIn(name=t.name, org_id=token_org, roles=list(t.roles), days=t.days)
        token, _ = auth.create_token(uow, data)
        # a fixed, documented secret instead of the random one, so every run prints the same token
        token.key, token.secret_hash = people.TOKEN_KEY, keyed_digest(uow.secret, people.TOKEN_SECRET)
        changed += 1
    step()
    # an operator may have revoked it, or changed ZHICHENG_SECRET_KEY (the digest's key) since the first load:
    # say so rather than print a token that will be refused
    usable = (
        token.revoked_at is None
        and token.expires_at > utcnow()
        and token.secret_hash == keyed_digest(uow.secret, people.TOKEN_SECRET)
    )
    tokens = [
        {
            "name": t.name,
            "token": t.raw,
            "org": names.get(token_org, ""),
            "roles": list(t.roles),
            "usable": usable,
        }
    ]
    return logins, tokens, changed

from __future__ import annotations

from fastapi import APIRouter, Query

from zhicheng.core.auth import permissions as P
from zhicheng.core.db import unit_of_work
from zhicheng.core.orgs import queries, services
from zhicheng.core.orgs.realname import verifier
from zhicheng.core.orgs.schemas import DivisionIn, DivisionOut, OrgIn, OrgOut, PartyIn, PartyOut
from zhicheng.web.deps import DB, Conf, Me, Reader, require
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1", tags=["orgs"])


@router.get("/divisions", response_model=list[DivisionOut])
@access(P.ORGS_READ)
def list_divisions(s: Reader, parent: str | None = None, level: str | None = None) -> list:
    return queries.divisions(s, parent, level)


@router.post("/divisions", response_model=DivisionOut, status_code=201)
@access(P.ORGS_MANAGE)
def create_division(body: DivisionIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        return services.create_division(uow, body)


@router.get("/orgs", response_model=list[OrgOut])
@access(P.ORGS_READ)
def list_orgs(
    s: Reader,
    me: Me,
    q: str | None = None,
    division: str | None = None,
    kind: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    after: int | None = None,
) -> list:
    return queries.orgs(s, me.paths(P.ORGS_READ), q, division, kind, limit, after)


@router.get("/orgs/{org_id}", response_model=OrgOut)
@access(P.ORGS_READ)
def get_org(org_id: int, s: Reader, me: Me) -> object:
    org = queries.org(s, org_id)
    require(me, P.ORGS_READ, org.path)
    return org


@router.post("/orgs", response_model=OrgOut, status_code=201)
@access(P.ORGS_MANAGE)
def create_org(body: OrgIn, db: DB, me: Me) -> object:
    with unit_of_work(db, me.actor) as uow:
        if body.parent_id is not None:
            require(me, P.ORGS_MANAGE, queries.org(uow.session, body.parent_id).path)
        else:
            require(me, "*", None)  # a new top-level government needs the administrator
        return services.create_org(uow, body)


@router.post("/parties", response_model=PartyOut, status_code=201)
@access(P.PARTIES_MANAGE)
def register_party(body: PartyIn, db: DB, me: Me, conf: Conf) -> object:
    with unit_of_work(db, me.actor) as uow:
        return services.register_party(uow, body, verifier(conf.realname_provider))

"""JSON routes of categories and routing rules under /api/v1/cityops. Reading needs cityops.read; writing
needs cityops.manage over the organization of every grid of the city (categories and rules are one list for
the whole city, so a district's manager cannot change them)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from zhicheng.cityops import categories
from zhicheng.cityops.models import Category, Grid, RouteRule
from zhicheng.cityops.permissions import CITYOPS_MANAGE, CITYOPS_READ
from zhicheng.cityops.schemas import CategoryImport, CategoryIn, CategoryOut, ImportResult, RuleIn, RuleOut
from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import unit_of_work
from zhicheng.core.errors import Forbidden
from zhicheng.core.orgs.models import Org
from zhicheng.web.deps import DB, Me, Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/cityops", tags=["cityops"])


def _city_wide(s: object, me: Principal) -> None:
    paths = s.scalars(select(Org.path).join(Grid, Grid.org_id == Org.id).distinct())  # type: ignore[attr-defined]
    if not all(me.can(CITYOPS_MANAGE, p) for p in paths):
        raise Forbidden(
            "类别与派遣规则是全市的，须对全市网格有管理权限",
            "categories and routing rules are the whole city's: manage the whole grid to change them",
        )


@router.get("/categories", response_model=list[CategoryOut])
@access(CITYOPS_READ)
def list_categories(s: Reader, kind: str | None = None, active: bool | None = None) -> list[dict]:
    stmt = select(Category).order_by(Category.kind, Category.code)
    if kind:
        stmt = stmt.where(Category.kind == kind)
    if active is not None:
        stmt = stmt.where(Category.active.is_(active))
    return [categories.shown(c) for c in s.scalars(stmt)]


@router.post("/categories", response_model=CategoryOut, status_code=201)
@access(CITYOPS_MANAGE)
def create_category(body: CategoryIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        _city_wide(uow.session, me)
        return categories.shown(categories.create(uow, body))


@router.put("/categories/{category_id}", response_model=CategoryOut)
@access(CITYOPS_MANAGE)
def update_category(category_id: int, body: CategoryIn, db: DB, me: Me) -> dict:
    with unit_of_work(db, me.actor) as uow:
        _city_wide(uow.session, me)
        return categories.shown(categories.update(uow, category_id, body))


@router.post("/categories/import", response_model=ImportResult)
@access(CITYOPS_MANAGE)
def import_categories(body: CategoryImport, db: DB, me: Me) -> dict:
    """Create or update categories (by kind and code) and set routing rules, all or nothing."""
    with unit_of_work(db, me.actor) as uow:
        _city_wide(uow.session, me)
        return categories.import_all(uow, body)


@router.get("/rules", response_model=list[RuleOut])
@access(CITYOPS_READ)
def list_rules(s: Reader) -> list[dict]:
    keys = {
        i: categories.key_of(k, c) for i, k, c in s.execute(select(Category.id, Category.kind, Category.code))
    }
    rows = s.scalars(select(RouteRule).order_by(RouteRule.area, RouteRule.id))
    return [categories.rule_shown(r, keys) for r in rows]


@router.put("/rules", response_model=RuleOut)
@access(CITYOPS_MANAGE)
def set_rule(body: RuleIn, db: DB, me: Me) -> dict:
    """Add the rule for (category, area) or change its department."""
    with unit_of_work(db, me.actor) as uow:
        _city_wide(uow.session, me)
        row = categories.set_rule(uow, body)
        return categories.rule_shown(row, {row.category_id: body.category} if row.category_id else {})


@router.delete("/rules/{rule_id}", status_code=204)
@access(CITYOPS_MANAGE)
def delete_rule(rule_id: int, db: DB, me: Me) -> None:
    with unit_of_work(db, me.actor) as uow:
        _city_wide(uow.session, me)
        categories.delete_rule(uow, rule_id)

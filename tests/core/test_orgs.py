"""Divisions, organizations (条 and 块) and parties with checksum-valid codes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import personas
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.errors import Conflict, Invalid
from zhicheng.core.orgs import codes, services
from zhicheng.core.orgs.models import Org, Party
from zhicheng.core.orgs.realname import verifier
from zhicheng.core.orgs.schemas import DivisionIn, OrgIn, PartyIn

ME = Actor(kind="cli", name="tester")
CITIZEN = "11010519491231002X"  # the GB 11643 example number
ENTERPRISE = "91320100MA1MXXXX1L"  # recomputed below to carry a valid check character


def _valid_uscc(body17: str) -> str:
    from stdnum.cn import uscc

    return body17 + uscc.calc_check_digit(body17)


@pytest.mark.parametrize(
    "code,level",
    [
        ("320000", "province"),
        ("320100", "prefecture"),
        ("320102", "county"),
        ("320102002", "street"),
        ("320102002003", "community"),
    ],
)
def test_division_levels(code: str, level: str) -> None:
    assert codes.division_level(code) == level


@pytest.mark.parametrize("code", ["990000", "3201", "32010a", "3201020021", ""])
def test_bad_division_codes(code: str) -> None:
    with pytest.raises(Invalid):
        codes.division_level(code)


def test_division_must_sit_under_its_parent(db) -> None:  # noqa: ANN001
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.create_division(uow, DivisionIn(code="320205", name="错位区", parent_code="320100"))
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.create_division(uow, DivisionIn(code="320102003", name="跳级街道", parent_code="320100"))
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        services.create_division(uow, DivisionIn(code="320102", name="重复", parent_code="320100"))


def test_org_path_tracks_the_block_tree_and_moves(db) -> None:  # noqa: ANN001
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        org = services.create_org(
            uow, OrgIn(name="玄武区数据局", kind="department", division_code="320102", parent_id=w.district)
        )
        oid = org.id
    with db.read() as s:
        district = s.get(Org, w.district)
        assert s.get(Org, oid).path == f"{district.path}{oid}/"
    with unit_of_work(db, ME) as uow:
        services.move_org(uow, oid, w.other_district)
    with db.read() as s:
        assert s.get(Org, oid).path.startswith(s.get(Org, w.other_district).path)
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.move_org(uow, w.city, w.district)  # a city cannot move under its own district


def test_department_needs_a_parent_and_a_valid_credit_code(db) -> None:  # noqa: ANN001
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.create_org(uow, OrgIn(name="无主局", kind="department", division_code="320100"))
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.create_org(
            uow,
            OrgIn(
                name="南京市教育局",
                kind="department",
                division_code="320100",
                parent_id=personas.WORLD.city,
                credit_code="11320100000000000X",
            ),
        )


def test_citizen_registration_validates_and_verifies(db) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        party = services.register_party(
            uow, PartyIn(kind="citizen", id_number=CITIZEN.lower(), name="张三"), verifier("demo")
        )
        pid = party.id
    with db.read() as s:
        p = s.get(Party, pid)
        assert p.id_number == CITIZEN and p.verified_by == "demo" and p.verified_at is not None
        change = s.scalar(select(AuditRecord.change).where(AuditRecord.subject == f"party:{pid}"))
    assert CITIZEN not in change and "002X" in change  # the trail keeps only the tail of the number


def test_bad_numbers_and_failed_verification_write_nothing(db) -> None:  # noqa: ANN001
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.register_party(
            uow, PartyIn(kind="citizen", id_number="110105194912310021", name="张三"), verifier("demo")
        )
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.register_party(
            uow, PartyIn(kind="citizen", id_number=CITIZEN, name="假名字"), verifier("demo")
        )
    with db.read() as s:
        assert s.scalar(select(Party).where(Party.id_number == CITIZEN)) is None


def test_enterprise_by_credit_code(db) -> None:  # noqa: ANN001
    number = _valid_uscc("91320100MA1MXXXX1")
    with unit_of_work(db, ME) as uow:
        assert services.register_party(
            uow, PartyIn(kind="enterprise", id_number=number, name="南京智城科技有限公司"), verifier("demo")
        ).verified_at
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        services.register_party(
            uow,
            PartyIn(
                kind="enterprise",
                id_number=number[:-1] + ("0" if number[-1] != "0" else "1"),
                name="伪造公司",
            ),
            verifier("demo"),
        )


def test_party_api_refuses_clerk_and_takes_admin(as_user) -> None:  # noqa: ANN001
    body = {"kind": "citizen", "id_number": CITIZEN, "name": "张三"}
    assert as_user("clerk").send("POST", "/api/v1/parties", json=body).status_code == 403
    r = as_user("cityadmin").send("POST", "/api/v1/parties", json=body)
    assert r.status_code == 201 and r.json()["verified_by"] == "demo"

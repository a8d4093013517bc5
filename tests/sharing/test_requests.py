"""Sharing requests and grants: the Shanxi 2024 steps on working-day clocks, who may act, disputes,
escalation, revocation, and the grant lookup the exchange API will use."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import zhicheng.app
import zhicheng.sharing.permissions  # noqa: F401 - the roles must carry sharing.* before the test DB is built
from tests import personas
from zhicheng.catalog import services as catalog
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.calendar.models import Clock
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.errors import Conflict, Invalid
from zhicheng.core.jobs.registry import REGISTRY
from zhicheng.sharing import queries, services
from zhicheng.sharing.schemas import RequestIn

ME = Actor(kind="cli", name="tester")
NATIONAL_DAY_EVE = dt.date(2026, 9, 30)  # 10-01..10-07 are holidays; 10-10 (Saturday) is a workday
URL = "/api/v1/sharing"


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    """Classes, three resources of 南京市数据局 and a data authority reviewer over the city."""
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, name in [("1", "基础信息资源"), ("101", "法人基础信息"), ("101001", "企业登记")]:
            catalog.create_class(uow, ClassIn(code=code, name=name))
        items = [
            {"name": "统一社会信用代码", "data_type": "字符型"},
            {"name": "企业名称", "data_type": "字符型"},
            {"name": "法定代表人", "data_type": "字符型", "sensitivity": "姓名", "share_type": "有条件共享"},
            {"name": "内部评分", "data_type": "整数型", "share_type": "不予共享"},
        ]
        base = {
            "class_code": "101001",
            "provider_org_id": w.data_bureau,
            "format": "数据库",
            "update_cycle": "每日",
            "share_basis": "《政务数据共享管理办法》第十条",
            "items": items,
        }
        open_ = catalog.create_resource(
            uow, ResourceIn(name="企业登记基础信息", share_type="无条件共享", **base)
        )
        cond = catalog.create_resource(
            uow,
            ResourceIn(
                name="企业信用评价信息", share_type="有条件共享", share_condition="仅限监管使用", **base
            ),
        )
        closed = catalog.create_resource(
            uow, ResourceIn(name="企业涉密信息", share_type="不予共享", **{**base, "items": items[:1]})
        )
        user = auth.create_user(
            uow,
            UserIn(
                username="authority", display_name="孙审核", password=personas.PASSWORD, org_id=w.data_bureau
            ),
        )
        auth.grant_role(uow, user.id, GrantIn(role="data_authority", org_id=w.city))
    return {"open": open_.id, "cond": cond.id, "closed": closed.id}


def body(resource_id: int, start: dt.date, **over) -> dict:  # noqa: ANN003
    b = {
        "resource_id": resource_id,
        "purpose": "市场主体登记事中事后监管",
        "scenario": "企业开办一件事中核验企业信息",
        "system_name": "南京市市场监管综合业务系统",
        "items": ["统一社会信用代码", "企业名称"],
        "valid_from": start.isoformat(),
        "valid_until": (start + dt.timedelta(days=365)).isoformat(),
    }
    b.update(over)
    return b


def submit(db, resource_id: int, on: dt.date = NATIONAL_DAY_EVE, **over):  # noqa: ANN001, ANN003, ANN201
    with unit_of_work(db, ME) as uow:
        data = RequestIn(**body(resource_id, on + dt.timedelta(days=1), **over))
        return services.submit(uow, data, personas.WORLD.market, today=on)


def due(db, req) -> dt.date:  # noqa: ANN001
    with db.read() as s:
        return s.get(Clock, s.get(type(req), req.id).clock_id).due_on


def tags(db, subject: str) -> list[str]:  # noqa: ANN001
    with db.read() as s:
        return list(
            s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == subject).order_by(AuditRecord.id))
        )


# --- deadlines on the working-day calendar ------------------------------------------------------------------


def test_deadlines_follow_the_working_day_calendar(db, world) -> None:  # noqa: ANN001
    # an unconditional resource, but its 法定代表人 item is 有条件: the request takes the stricter path
    req = submit(db, world["open"], items=["企业名称", "法定代表人"])
    assert req.share_type == "conditional"
    # 2 working days after 2026-09-30: the National Day week does not count → 10-08, 10-09
    assert due(db, req) == dt.date(2026, 10, 9)
    with db.read() as s:
        shown = queries.shown(s, queries.request(s, req.id), today=dt.date(2026, 10, 8))
    assert (shown["remaining_workdays"], shown["clock_status"]) == (1, "warning")
    with unit_of_work(db, ME) as uow:
        services.review(uow, req.id, True, "", today=dt.date(2026, 10, 9))
    # the provider's 5 working days: 10-10 (调休 Saturday), 10-12, 13, 14, 15
    assert due(db, req) == dt.date(2026, 10, 15)
    with db.read() as s:
        shown = queries.shown(s, queries.request(s, req.id), today=dt.date(2026, 10, 16))
    assert (shown["status"], shown["clock_status"], shown["remaining_workdays"]) == (
        "awaiting_provider",
        "overdue",
        -1,
    )


def test_escalation_marks_overdue_steps_once(db, world) -> None:  # noqa: ANN001
    late = submit(db, world["open"])
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 9)) == 0  # due that day: not late yet
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 10)) == 1
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow, today=dt.date(2026, 10, 12)) == 0  # idempotent
    assert tags(db, f"request:{late.id}").count("sharing:request:escalate") == 1
    with db.read() as s:
        assert queries.request(s, late.id).escalated_at is not None
        # the escalated request shows in the data authority's view
        seen = queries.requests_in_view(s, "review", ["/"], today=dt.date(2026, 10, 12))
        assert [r["id"] for r in seen] == [late.id]
    import zhicheng.sharing.jobs  # noqa: F401 - load_modules() does so once the module is in app.MODULES

    assert REGISTRY.get("sharing.escalate").every == 600


# --- the rules of a request ---------------------------------------------------------------------------------


def test_what_cannot_be_requested(db, world) -> None:  # noqa: ANN001
    with pytest.raises(Invalid, match="政务数据共享管理办法"):
        submit(db, world["closed"], items=["统一社会信用代码"])
    with pytest.raises(Invalid, match="内部评分"):
        submit(db, world["open"], items=["企业名称", "内部评分"])
    with pytest.raises(Invalid, match="不存在的项"):
        submit(db, world["open"], items=["不存在的项"])
    start = NATIONAL_DAY_EVE + dt.timedelta(days=1)
    with pytest.raises(Invalid, match="at most 3 years"):
        submit(db, world["open"], valid_until=dt.date(2029, 10, 2).isoformat())
    with pytest.raises(Invalid, match="cannot begin before"):
        submit(db, world["open"], valid_from=NATIONAL_DAY_EVE.replace(day=1).isoformat())
    submit(db, world["open"], valid_until=start.replace(year=2029).isoformat())  # exactly 3 years is fine
    with pytest.raises(Conflict):
        submit(db, world["open"])  # one open request per department and resource


def test_two_reviewers_at_once_one_wins(db, world) -> None:  # noqa: ANN001
    req = submit(db, world["cond"])
    with unit_of_work(db, ME) as first:
        stale = queries.request(first.session, req.id)
        assert stale.status == "submitted"  # reviewer 1 has read it ...
        with unit_of_work(db, Actor(kind="cli", name="reviewer-2")) as second:
            services.review(
                second, req.id, False, "申请用途与资源共享条件不符"
            )  # ... reviewer 2 commits first
        with pytest.raises(Conflict):
            services.review(first, req.id, True, "")
    with db.read() as s:
        assert queries.request(s, req.id).status == "rejected"


# --- the flows through the API, with the personas -----------------------------------------------------------


def test_unconditional_request_is_granted_after_review(db, world, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    clerk, authority = as_user("clerk"), as_user("authority")
    r = clerk.send("POST", f"{URL}/requests", json=body(world["open"], today))
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["status"], req["consumer_org_id"], req["share_type"]) == (
        "submitted",
        personas.WORLD.market,
        "unconditional",
    )
    assert req["remaining_workdays"] is not None and req["due_on"]
    assert [x["id"] for x in authority.get(f"{URL}/requests?view=review").json()] == [req["id"]]
    assert (
        authority.send("POST", f"{URL}/requests/{req['id']}/review", json={"approve": True}).json()["status"]
        == "granted"
    )
    assert clerk.send("POST", f"{URL}/requests/{req['id']}/review", json={"approve": True}).status_code == 403
    again = authority.send("POST", f"{URL}/requests/{req['id']}/review", json={"approve": True})
    assert again.status_code == 409
    shown = clerk.get(f"{URL}/requests/{req['id']}").json()
    assert shown["grant_id"] and shown["remaining_workdays"] is None
    grants = clerk.get(f"{URL}/grants").json()
    assert [(g["id"], g["items"]) for g in grants] == [(shown["grant_id"], ["统一社会信用代码", "企业名称"])]
    with db.read() as s:
        found = queries.active_grant(s, personas.WORLD.market, world["open"], today)
        assert found is not None and found.items == ["统一社会信用代码", "企业名称"]
        assert (
            queries.active_grant(s, personas.WORLD.market, world["open"], today + dt.timedelta(days=400))
            is None
        )
        assert queries.active_grant(s, personas.WORLD.data_bureau, world["open"], today) is None
    assert tags(db, f"request:{req['id']}") == ["sharing:request:submit", "sharing:request:approve"]


def test_conditional_refusal_dispute_and_settlement(db, world, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("cityadmin")
    req = clerk.send("POST", f"{URL}/requests", json=body(world["cond"], today)).json()
    rid = req["id"]
    assert provider.send("POST", f"{URL}/requests/{rid}/decide", json={"grant": True}).status_code == 409
    r = authority.send("POST", f"{URL}/requests/{rid}/review", json={"approve": True, "reason": "用途合规"})
    assert r.json()["status"] == "awaiting_provider" and r.json()["remaining_workdays"] is not None
    assert [x["id"] for x in provider.get(f"{URL}/requests?view=decide").json()] == [rid]
    assert (
        as_user("district_admin")
        .send("POST", f"{URL}/requests/{rid}/decide", json={"grant": True})
        .status_code
        == 403
    )
    short = provider.send("POST", f"{URL}/requests/{rid}/decide", json={"grant": False, "reason": "不行"})
    assert short.status_code == 422
    refusal = "该资源含法定代表人信息，申请用途未说明必要性"
    r = provider.send("POST", f"{URL}/requests/{rid}/decide", json={"grant": False, "reason": refusal})
    assert (r.json()["status"], r.json()["decision_reason"]) == ("refused", refusal)
    r = clerk.send("POST", f"{URL}/requests/{rid}/dispute", json={"reason": "监管法规明确要求核验法定代表人"})
    assert r.json()["status"] == "disputed"
    assert [x["id"] for x in authority.get(f"{URL}/requests?view=review").json()] == [rid]
    r = authority.send(
        "POST",
        f"{URL}/requests/{rid}/settle",
        json={"upheld": True, "reason": "依监管职责确有必要，予以共享"},
    )
    assert r.json()["status"] == "granted" and r.json()["grant_id"]
    assert tags(db, f"request:{rid}") == [
        "sharing:request:submit",
        "sharing:request:approve",
        "sharing:request:refuse",
        "sharing:request:dispute",
        "sharing:request:settle",
    ]


def test_dismissed_dispute_stays_refused_and_rejection_needs_reasons(db, world, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("cityadmin")
    rid = clerk.send("POST", f"{URL}/requests", json=body(world["cond"], today)).json()["id"]
    authority.send("POST", f"{URL}/requests/{rid}/review", json={"approve": True})
    provider.send(
        "POST", f"{URL}/requests/{rid}/decide", json={"grant": False, "reason": "申请用途超出共享条件范围"}
    )
    clerk.send("POST", f"{URL}/requests/{rid}/dispute", json={"reason": "用途属于监管范围，请复核"})
    r = authority.send(
        "POST",
        f"{URL}/requests/{rid}/settle",
        json={"upheld": False, "reason": "提供方理由成立，维持不予共享"},
    )
    assert (r.json()["status"], r.json()["grant_id"]) == ("refused", None)
    other = clerk.send("POST", f"{URL}/requests", json=body(world["open"], today)).json()["id"]
    no_reason = authority.send("POST", f"{URL}/requests/{other}/review", json={"approve": False})
    assert no_reason.status_code == 422
    assert (
        clerk.send(
            "POST", f"{URL}/requests/{other}/dispute", json={"reason": "尚未被拒绝就提出争议"}
        ).status_code
        == 409
    )


def test_revoke(db, world, as_user) -> None:  # noqa: ANN001
    today = shanghai_today()
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("cityadmin")
    rid = clerk.send("POST", f"{URL}/requests", json=body(world["open"], today)).json()["id"]
    gid = authority.send("POST", f"{URL}/requests/{rid}/review", json={"approve": True}).json()["grant_id"]
    assert [g["id"] for g in provider.get(f"{URL}/grants?view=provided").json()] == [gid]
    reason = {"reason": "消费方系统发生数据泄露，暂停共享"}
    assert clerk.send("POST", f"{URL}/grants/{gid}/revoke", json=reason).status_code == 403
    r = provider.send("POST", f"{URL}/grants/{gid}/revoke", json=reason)
    assert (r.json()["status"], r.json()["revoke_reason"]) == ("revoked", reason["reason"])
    assert authority.send("POST", f"{URL}/grants/{gid}/revoke", json=reason).status_code == 409
    with db.read() as s:
        assert queries.active_grant(s, personas.WORLD.market, world["open"], today) is None
    assert tags(db, f"grant:{gid}") == ["sharing:grant:create", "sharing:grant:revoke"]


def test_refused_callers(db, world, as_user, client) -> None:  # noqa: ANN001
    today = shanghai_today()
    closed = as_user("clerk").send(
        "POST", f"{URL}/requests", json=body(world["closed"], today, items=["统一社会信用代码"])
    )
    assert closed.status_code == 422 and "政务数据共享管理办法" in closed.text
    item = as_user("clerk").send(
        "POST", f"{URL}/requests", json=body(world["open"], today, items=["内部评分"])
    )
    assert item.status_code == 422
    rid = as_user("clerk").send("POST", f"{URL}/requests", json=body(world["open"], today)).json()["id"]
    outsider = as_user("outsider")
    assert outsider.get(f"{URL}/requests").status_code == 403
    assert outsider.get(f"{URL}/requests/{rid}").status_code == 403
    assert outsider.send("POST", f"{URL}/requests", json=body(world["open"], today)).status_code == 403
    assert client.get(f"{URL}/requests").status_code == 401
    # a clerk of another department may not apply in the market bureau's name or read its request
    assert as_user("district_admin").get(f"{URL}/requests/{rid}").status_code == 403
    assert as_user("clerk").get(f"{URL}/requests?view=review").status_code == 403

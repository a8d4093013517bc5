"""The sharing console: a clerk applies through the form, the data authority finds it in the inbox and
approves, the provider grants a 有条件 request, both sides see the grant; errors re-render readably; the
outsider and the wrong department are refused."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import zhicheng.sharing.permissions  # noqa: F401 - the roles must carry sharing.* before the test DB is built
from tests import personas
from zhicheng.catalog import services as catalog
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.calendar.clock import today as shanghai_today
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.sharing import queries, services
from zhicheng.sharing.schemas import RequestIn

ME = Actor(kind="cli", name="tester")
REFUSAL = "该资源含法定代表人信息，申请用途未说明必要性"


@pytest.fixture
def world(db) -> dict:  # noqa: ANN001
    """Classes, an unconditional and a conditional resource of 南京市数据局, a city data authority."""
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, name in [("1", "基础信息资源"), ("101", "法人基础信息"), ("101001", "企业登记")]:
            catalog.create_class(uow, ClassIn(code=code, name=name))
        items = [
            {"name": "统一社会信用代码", "data_type": "字符型"},
            {"name": "企业名称", "data_type": "字符型"},
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
        user = auth.create_user(
            uow,
            UserIn(
                username="authority", display_name="孙审核", password=personas.PASSWORD, org_id=w.data_bureau
            ),
        )
        auth.grant_role(uow, user.id, GrantIn(role="data_authority", org_id=w.city))
    return {"open": open_.id, "cond": cond.id}


def form(resource_id: int, **over) -> dict:  # noqa: ANN003
    start = shanghai_today()
    data = {
        "resource_id": str(resource_id),
        "items": ["统一社会信用代码", "企业名称"],
        "purpose": "市场主体登记事中事后监管",
        "scenario": "企业开办一件事中核验企业信息",
        "system_name": "南京市市场监管综合业务系统",
        "valid_from": start.isoformat(),
        "valid_until": (start + dt.timedelta(days=365)).isoformat(),
    }
    data.update(over)
    return data


def apply(clerk, resource_id: int) -> int:  # noqa: ANN001
    r = clerk.form("/sharing/requests/new", form(resource_id))
    assert r.status_code == 303, r.text
    return int(re.fullmatch(r"/sharing/requests/(\d+)", r.headers["location"]).group(1))


def rows(html: str, testid: str) -> list[int]:
    """The request ids of a table, in the order shown."""
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return [int(x) for x in re.findall(r'data-request="(\d+)"', table)]


def test_form_shows_items_and_closed_ones_disabled(world, as_user) -> None:  # noqa: ANN001
    page = as_user("clerk").get(f"/sharing/requests/new?resource={world['open']}")
    assert page.status_code == 200
    assert "企业登记基础信息" in page.text and "南京市数据局" in page.text
    closed = re.search(r'<input type="checkbox" name="items" value="内部评分"[^>]*>', page.text).group(0)
    assert "disabled" in closed
    assert "政务数据共享管理办法" in page.text  # the reason it is not shared
    missing = as_user("clerk").get("/sharing/requests/new")
    assert missing.status_code == 404 and "请先在数据资源目录中选择" in missing.text


def test_unconditional_walk(db, world, as_user) -> None:  # noqa: ANN001
    clerk, authority = as_user("clerk"), as_user("authority")
    rid = apply(clerk, world["open"])
    shown = clerk.get(f"/sharing/requests/{rid}")
    assert "已提交共享申请" in shown.text and "提交申请" in shown.text and "待审核" in shown.text
    assert 'data-testid="form-review"' not in shown.text  # the clerk may not review
    assert rows(clerk.get("/sharing/requests").text, "requests") == [rid]

    inbox = authority.get("/sharing/inbox")
    assert inbox.status_code == 200 and rows(inbox.text, "inbox-review") == [rid]
    assert 'data-status="ok"' in inbox.text or 'data-status="warning"' in inbox.text
    page = authority.get(f"/sharing/requests/{rid}")
    assert 'data-testid="form-review"' in page.text
    r = authority.form(f"/sharing/requests/{rid}/review", {"approve": "1", "reason": "用途合规"})
    assert (r.status_code, r.headers["location"]) == (303, f"/sharing/requests/{rid}")
    done = authority.get(r.headers["location"])
    timeline = done.text.split('data-testid="timeline"')[1]
    assert "审核通过" in timeline and "user:authority" in timeline and "已授权" in done.text
    assert rows(authority.get("/sharing/inbox").text, "inbox-review") == []

    # acting again on a request someone already handled: 409, readable
    again = authority.form(
        f"/sharing/requests/{rid}/review", {"approve": "0", "reason": "审核不通过的理由写足十个字"}
    )
    assert again.status_code == 409 and "已被他人处理，请刷新" in again.text

    grants = clerk.get("/sharing/grants")
    assert "企业登记基础信息" in grants.text and "统一社会信用代码、企业名称" in grants.text
    provided = as_user("cityadmin").get("/sharing/grants")
    assert 'data-testid="grants-provided"' in provided.text and "南京市市场监督管理局" in provided.text


def test_conditional_walk_with_refusal_dispute_and_grant(db, world, as_user) -> None:  # noqa: ANN001
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("cityadmin")
    rid = apply(clerk, world["cond"])
    authority.form(f"/sharing/requests/{rid}/review", {"approve": "1", "reason": ""})
    inbox = provider.get("/sharing/inbox")
    assert rows(inbox.text, "inbox-decide") == [rid]
    # too short a refusal re-renders with the message and what was typed
    short = provider.form(f"/sharing/requests/{rid}/decide", {"grant": "0", "reason": "不行"})
    assert short.status_code == 422 and "至少 10 个字" in short.text and ">不行</textarea>" in short.text
    r = provider.form(f"/sharing/requests/{rid}/decide", {"grant": "0", "reason": REFUSAL})
    assert r.status_code == 303
    page = clerk.get(f"/sharing/requests/{rid}")
    assert (
        "提供方不予共享" in page.text and REFUSAL in page.text and 'data-testid="form-dispute"' in page.text
    )
    clerk.form(f"/sharing/requests/{rid}/dispute", {"reason": "监管法规明确要求核验法定代表人"})
    assert rows(authority.get("/sharing/inbox").text, "inbox-review") == [rid]
    r = authority.form(
        f"/sharing/requests/{rid}/settle", {"upheld": "1", "reason": "依监管职责确有必要，予以共享"}
    )
    assert r.status_code == 303
    final = clerk.get(f"/sharing/requests/{rid}").text
    for step in ["提交申请", "审核通过", "提供方不予共享", "提出争议", "争议成立，予以共享"]:
        assert step in final
    assert 'data-testid="grant-link"' in final
    with db.read() as s:
        assert queries.active_grant(s, personas.WORLD.market, world["cond"]) is not None


def test_provider_grants_and_revokes(db, world, as_user) -> None:  # noqa: ANN001
    clerk, authority, provider = as_user("clerk"), as_user("authority"), as_user("cityadmin")
    rid = apply(clerk, world["cond"])
    authority.form(f"/sharing/requests/{rid}/review", {"approve": "1"})
    assert provider.form(f"/sharing/requests/{rid}/decide", {"grant": "1"}).status_code == 303
    with db.read() as s:
        gid = queries.shown(s, queries.request(s, rid))["grant_id"]
    assert f'data-grant="{gid}"' in clerk.get("/sharing/grants").text
    page = provider.get("/sharing/grants").text
    assert f'data-testid="revoke-{gid}"' in page
    assert f'data-testid="revoke-{gid}"' not in clerk.get("/sharing/grants").text
    assert (
        clerk.form(f"/sharing/grants/{gid}/revoke", {"reason": "消费方系统发生数据泄露"}).status_code == 403
    )
    short = provider.form(f"/sharing/grants/{gid}/revoke", {"reason": "泄露"})
    assert short.status_code == 422 and "至少 10 个字" in short.text
    r = provider.form(f"/sharing/grants/{gid}/revoke", {"reason": "消费方系统发生数据泄露，暂停共享"})
    assert r.status_code == 303
    assert "已吊销" in clerk.get("/sharing/grants").text
    with db.read() as s:
        assert queries.active_grant(s, personas.WORLD.market, world["cond"]) is None


def test_form_errors_rerender(world, as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    none = clerk.form("/sharing/requests/new", form(world["open"], items=[]))
    assert none.status_code == 422 and "请至少选择一项" in none.text
    assert "市场主体登记事中事后监管" in none.text  # what was typed survives
    closed = clerk.form("/sharing/requests/new", form(world["open"], items=["内部评分"]))
    assert closed.status_code == 422 and "信息项不予共享" in closed.text
    late = clerk.form("/sharing/requests/new", form(world["open"], valid_from="2020-01-01"))
    assert late.status_code == 422 and "不能早于申请日" in late.text
    apply(clerk, world["open"])
    twice = clerk.form("/sharing/requests/new", form(world["open"]))
    assert twice.status_code == 409 and "已有办理中的申请" in twice.text


def test_outsiders_and_other_departments_are_refused(db, world, as_user) -> None:  # noqa: ANN001
    rid = apply(as_user("clerk"), world["cond"])
    outsider = as_user("outsider")
    for url in ["/sharing/requests", "/sharing/inbox", "/sharing/grants", f"/sharing/requests/{rid}",
                f"/sharing/requests/new?resource={world['open']}"]:  # fmt: skip
        assert outsider.get(url).status_code == 403, url
    for url, data in [
        ("/sharing/requests/new", form(world["open"])),
        (f"/sharing/requests/{rid}/review", {"approve": "1"}),
        (f"/sharing/requests/{rid}/decide", {"grant": "1"}),
        (f"/sharing/requests/{rid}/dispute", {"reason": "一个足够长的争议理由"}),
        (f"/sharing/requests/{rid}/settle", {"upheld": "1", "reason": "一个足够长的处理意见"}),
        ("/sharing/grants/1/revoke", {"reason": "一个足够长的撤销理由"}),
    ]:
        assert outsider.form(url, data).status_code == 403, url
    district = as_user("district_admin")
    assert district.get(f"/sharing/requests/{rid}").status_code == 403
    with unit_of_work(db, ME) as uow:
        services.review(uow, rid, True, "")
    # a provider outside the resource's department may not decide
    assert district.form(f"/sharing/requests/{rid}/decide", {"grant": "1"}).status_code == 403
    # a clerk may not review: the route's permission
    assert as_user("clerk").form(f"/sharing/requests/{rid}/review", {"approve": "1"}).status_code == 403
    assert "您没有审核或答复共享申请的权限" in as_user("clerk").get("/sharing/inbox").text


def test_inbox_puts_the_most_urgent_first_with_overdue_and_escalated_marks(db, world, as_user) -> None:  # noqa: ANN001
    fresh = apply(as_user("clerk"), world["open"])
    past = shanghai_today() - dt.timedelta(days=20)  # its 2 working days ran out long ago
    with unit_of_work(db, ME) as uow:
        data = RequestIn.model_validate({**form(world["cond"]), "valid_from": past.isoformat()})
        late = services.submit(uow, data, personas.WORLD.market, today=past).id
    with unit_of_work(db, ME) as uow:
        assert services.escalate_overdue(uow) == 1
    html = as_user("authority").get("/sharing/inbox").text
    assert rows(html, "inbox-review") == [late, fresh]
    first = html.split(f'data-request="{late}"')[1].split("</tr>")[0]
    assert 'data-status="overdue"' in first and "已超期" in first and 'data-testid="escalated"' in first
    second = html.split(f'data-request="{fresh}"')[1].split("</tr>")[0]
    assert 'data-testid="escalated"' not in second and 'data-status="overdue"' not in second

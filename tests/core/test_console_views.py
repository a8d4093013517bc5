"""The console pages of organizations, divisions, users, tokens and the audit trail, spoken as the personas:
each renders for those allowed and refuses the others; a bad form re-renders with a readable message and a
4xx status and writes nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from tests import personas
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth.models import ApiToken, RoleGrant, User
from zhicheng.core.db import Actor, unit_of_work
from zhicheng.core.orgs.models import Division, Org

W = lambda: personas.WORLD  # noqa: E731 - set once the session's database is built
GOOD_CREDIT = "12320100MB12345677"


def _count(db, model, *where) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _user(db, username: str) -> User:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(User).where(User.username == username))


def _alert(html: str) -> str:
    return html.split('role="alert"')[1].split("</div>")[0] if 'role="alert"' in html else ""


# --- organizations ------------------------------------------------------------------------------------


def test_org_list_is_scoped_and_filterable(as_user) -> None:  # noqa: ANN001
    admin = as_user("admin").get("/orgs")
    assert admin.status_code == 200
    assert "南京市市场监督管理局" in admin.text and "江苏省人民政府" in admin.text
    # the 条 line parent of the district's market bureau is named in its row
    row = admin.text.split("玄武区市场监督管理局")[1].split("</tr>")[0]
    assert "玄武区人民政府" in row and "南京市市场监督管理局" in row
    narrowed = as_user("admin").get("/orgs", params={"q": "市场"})
    assert "南京市数据局" not in narrowed.text and "玄武区市场监督管理局" in narrowed.text
    by_division = as_user("admin").get("/orgs", params={"division": "320102"})
    assert "玄武区人民政府" in by_division.text and "秦淮区人民政府" not in by_division.text
    gov = as_user("admin").get("/orgs", params={"kind": "government"})
    assert "南京市人民政府" in gov.text and "南京市数据局" not in gov.text
    district = as_user("district_admin").get("/orgs")
    assert "玄武区市场监督管理局" in district.text and "秦淮区人民政府" not in district.text


def test_org_list_bad_filter_is_a_readable_422(as_user) -> None:  # noqa: ANN001
    r = as_user("admin").get("/orgs", params={"division": "99"})
    assert r.status_code == 422 and "行政区划代码无效" in _alert(r.text)


def test_org_detail_shows_children_and_users_within_scope(as_user) -> None:  # noqa: ANN001
    r = as_user("cityadmin").get(f"/orgs/{W().city}")
    assert r.status_code == 200
    assert "南京市数据局" in r.text and "李市管" in r.text
    assert "玄武区市场监督管理局" not in r.text.split("children")[1]  # a grandchild, not a child
    assert as_user("district_admin").get(f"/orgs/{W().city}").status_code == 403
    assert as_user("cityadmin").get("/orgs/999999").status_code == 404


def test_org_pages_refuse_the_wrong_persona(as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    assert clerk.get("/orgs").status_code == 200
    assert clerk.get("/orgs/new").status_code == 403
    assert (
        clerk.form(
            "/orgs/new",
            {"name": "某局", "kind": "department", "parent_id": str(W().market), "division_code": "320100"},
        ).status_code
        == 403
    )
    assert as_user("outsider").get("/orgs").status_code == 403


def test_create_org_redirects_with_a_flash_and_is_audited(as_user, db) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    r = c.form(
        "/orgs/new",
        {
            "name": "南京市城市管理局",
            "kind": "department",
            "parent_id": str(W().city),
            "division_code": "320100",
            "credit_code": GOOD_CREDIT.lower(),
        },
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "已创建机构：南京市城市管理局" in page.text and GOOD_CREDIT in page.text
    with db.read() as s:
        org = s.scalar(select(Org).where(Org.name == "南京市城市管理局"))
        assert org.path.startswith(f"/{W().province}/{W().city}/")
        tags = s.scalars(select(AuditRecord.tag).where(AuditRecord.subject == f"org:{org.id}")).all()
    assert tags == ["orgs:org:create"]
    assert "已创建机构" not in c.get("/orgs").text  # the flash shows once


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"credit_code": "91320100MA1ABCDE00"}, 422, "统一社会信用代码无效"),
        ({"credit_code": GOOD_CREDIT, "name": "X"}, 422, "名称：至少 2 个字符"),
        ({"parent_id": ""}, 422, "请选择上级机构"),
        ({"division_code": "329999"}, 422, "区划 329999 不存在"),
        ({"kind": "company"}, 422, "类型：取值无效"),
        ({"parent_id": "abc"}, 422, "上级机构应为数字"),
    ],
)
def test_bad_org_form_rerenders_and_writes_nothing(as_user, db, fields, status, message) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    before = (_count(db, Org), _count(db, AuditRecord))
    form = {
        "name": "南京市测试局",
        "kind": "department",
        "parent_id": str(W().city),
        "division_code": "320100",
        **fields,
    }
    r = c.form("/orgs/new", form)
    assert r.status_code == status and message in _alert(r.text)
    assert 'value="南京市测试局"' in r.text or fields.get("name")  # what was typed is kept
    assert (_count(db, Org), _count(db, AuditRecord)) == before


def test_org_form_conflicts_and_scope(as_user, db) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    base = {
        "kind": "department",
        "parent_id": str(W().city),
        "division_code": "320100",
        "credit_code": GOOD_CREDIT,
    }
    assert c.form("/orgs/new", {**base, "name": "甲局"}).status_code == 303
    r = c.form("/orgs/new", {**base, "name": "乙局"})
    assert r.status_code == 409 and "已被使用" in _alert(r.text)
    r = as_user("district_admin").form("/orgs/new", {**base, "name": "丙局", "credit_code": ""})
    assert r.status_code == 403 and "无权" in _alert(r.text)
    assert _count(db, Org, Org.name.in_(["乙局", "丙局"])) == 0


def test_form_errors_follow_the_language(as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    c.get("/lang/en")
    r = c.form(
        "/orgs/new",
        {"name": "X", "kind": "department", "parent_id": str(W().city), "division_code": "320100"},
    )
    assert r.status_code == 422 and "name: String should have at least 2 characters" in _alert(r.text)
    assert ">Organizations<" in r.text and "Unified social credit code" in r.text


# --- divisions ----------------------------------------------------------------------------------------


def test_division_tree_and_filters(as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    r = c.get("/divisions")
    assert r.status_code == 200
    order = [r.text.index(n) for n in ("江苏省", "南京市", "玄武区", "梅园新村街道", "秦淮区")]
    assert order == sorted(order)  # tree order: the street sits under its district, before the next district
    assert 'action="/divisions"' not in r.text.split("</table>")[1]  # no add form for a reader
    found = c.get("/divisions", params={"q": "梅园"})
    assert "梅园新村街道" in found.text and "玄武区" in found.text and "秦淮区" not in found.text
    shallow = c.get("/divisions", params={"level": "prefecture"})
    assert "南京市" in shallow.text and "玄武区" not in shallow.text
    assert as_user("outsider").get("/divisions").status_code == 403


def test_add_division_and_its_errors(as_user, db) -> None:  # noqa: ANN001
    c = as_user("admin")
    r = c.form("/divisions", {"code": "320102003", "name": "新街口街道", "parent_code": "320102"})
    assert r.status_code == 303 and "新街口街道" in c.get(r.headers["location"]).text
    before = _count(db, Division), _count(db, AuditRecord)
    for form, status, message in [
        ({"code": "320102003", "name": "重复", "parent_code": "320102"}, 409, "已存在"),
        ({"code": "320104001", "name": "错位", "parent_code": "320102"}, 422, "不属于"),
        ({"code": "3201", "name": "短", "parent_code": "320100"}, 422, "区划代码：应为 6、9 或 12 位数字"),
    ]:
        r = c.form("/divisions", form)
        assert r.status_code == status and message in _alert(r.text), form
    assert (_count(db, Division), _count(db, AuditRecord)) == before
    assert (
        as_user("clerk")
        .form("/divisions", {"code": "320102004", "name": "x", "parent_code": "320102"})
        .status_code
        == 403
    )


# --- users --------------------------------------------------------------------------------------------


def test_user_list_is_scoped_and_filterable(as_user) -> None:  # noqa: ANN001
    r = as_user("cityadmin").get("/users")
    assert r.status_code == 200 and "陈经办" in r.text and "王管理" not in r.text
    assert "陈经办" not in as_user("cityadmin").get("/users", params={"q": "zhou"}).text
    only = as_user("cityadmin").get("/users", params={"org": str(W().district)})
    assert "周区管" in only.text and "陈经办" not in only.text
    assert as_user("district_admin").get("/users", params={"org": str(W().city)}).status_code == 403
    assert as_user("clerk").get("/users").status_code == 403
    assert as_user("auditor").get("/users/new").status_code == 403  # reading users is not managing them


def test_create_user_then_grant_and_revoke(as_user, db) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    r = c.form(
        "/users/new",
        {
            "username": "xu.ming",
            "display_name": "徐明",
            "password": "Xu-pass-2026",
            "password2": "Xu-pass-2026",
            "org_id": str(W().market),
        },
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "已创建用户：xu.ming" in page.text and "徐明" in page.text and "尚未授予任何角色" in page.text
    uid = _user(db, "xu.ming").id
    r = c.form(f"/users/{uid}/grants", {"role": "clerk", "org_id": str(W().market)})
    assert r.status_code == 303
    grants = c.get(f"/users/{uid}").text.split('data-testid="grants"')[1].split("</table>")[0]
    assert "业务经办人" in grants and "南京市市场监督管理局" in grants
    with db.read() as s:
        gid = s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == uid))
    assert c.form(f"/users/{uid}/grants/{gid}/revoke", {}).status_code == 303
    assert _count(db, RoleGrant, RoleGrant.user_id == uid) == 0
    with db.read() as s:
        tags = s.scalars(
            select(AuditRecord.tag).where(AuditRecord.subject == f"user:{uid}").order_by(AuditRecord.id)
        ).all()
    assert tags == ["auth:user:create", "auth:grant:create", "auth:grant:revoke"]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"username": "Bad Name"}, 422, "用户名：只能包含小写字母、数字和 _ . -"),
        ({"password": "short", "password2": "short"}, 422, "密码：至少 8 个字符"),
        ({"password2": "Other-pass-2026"}, 422, "两次输入的密码不一致"),
        ({"username": "clerk"}, 409, "用户名 clerk 已存在"),
        ({"org_id": ""}, 422, "请选择所属机构"),
        ({"org_id": "999999"}, 422, "机构 999999 不存在"),
    ],
)
def test_bad_user_form_rerenders_and_writes_nothing(as_user, db, fields, status, message) -> None:  # noqa: ANN001
    c = as_user("cityadmin")  # logging in is audited too: count after it
    before = (_count(db, User), _count(db, AuditRecord))
    form = {
        "username": "new.one",
        "display_name": "新人",
        "password": "New-pass-2026",
        "password2": "New-pass-2026",
        "org_id": str(W().market),
        **fields,
    }
    r = c.form("/users/new", form)
    assert r.status_code == status and message in _alert(r.text)
    assert (_count(db, User), _count(db, AuditRecord)) == before


def test_user_pages_respect_the_subtree(as_user, db) -> None:  # noqa: ANN001
    outsider, admin = _user(db, "outsider"), _user(db, "admin")
    city = as_user("cityadmin")
    assert city.get(f"/users/{admin.id}").status_code == 403  # above the city
    assert city.get(f"/users/{outsider.id}").status_code == 403  # no org: the administrator's alone
    assert as_user("admin").get(f"/users/{outsider.id}").status_code == 200
    r = as_user("district_admin").form(
        "/users/new",
        {
            "username": "d.one",
            "display_name": "区外",
            "password": "New-pass-2026",
            "password2": "New-pass-2026",
            "org_id": str(W().market),
        },
    )
    assert r.status_code == 403 and _user(db, "d.one") is None


def test_managers_cannot_hand_out_or_take_over_more_than_they_hold(as_user, db) -> None:  # noqa: ANN001
    clerk, auditor = _user(db, "clerk"), _user(db, "auditor")
    city, district = as_user("cityadmin"), as_user("district_admin")
    before = _count(db, RoleGrant), _count(db, AuditRecord)
    r = city.form(f"/users/{clerk.id}/grants", {"role": "auditor", "org_id": str(W().market)})
    assert r.status_code == 403 and "无权" in _alert(r.text)  # cityadmin lacks audit.read
    r = district.form(f"/users/{clerk.id}/grants", {"role": "clerk", "org_id": str(W().district)})
    assert r.status_code == 403  # the clerk is outside the district
    r = city.form(f"/users/{auditor.id}/password", {"password": "Taken-over-1", "password2": "Taken-over-1"})
    assert r.status_code == 403  # the auditor holds powers cityadmin lacks
    assert city.form(f"/users/{auditor.id}/active", {"active": "0"}).status_code == 403
    assert (_count(db, RoleGrant), _count(db, AuditRecord)) == before
    r = city.form(f"/users/{clerk.id}/grants", {"role": "org_admin", "org_id": str(W().district)})
    assert r.status_code == 303


def test_deactivate_and_reset_password(as_user, db) -> None:  # noqa: ANN001
    clerk = _user(db, "clerk")
    city = as_user("cityadmin")
    r = city.form(f"/users/{clerk.id}/password", {"password": "Short1", "password2": "Short1"})
    assert r.status_code == 422 and "密码至少 8 位" in _alert(r.text)
    r = city.form(
        f"/users/{clerk.id}/password", {"password": "Clerk-new-2026", "password2": "Clerk-new-2027"}
    )
    assert r.status_code == 422 and "不一致" in _alert(r.text)
    assert (
        city.form(
            f"/users/{clerk.id}/password", {"password": "Clerk-new-2026", "password2": "Clerk-new-2026"}
        ).status_code
        == 303
    )
    assert as_user("clerk", "Clerk-new-2026").get("/").status_code == 200
    assert city.form(f"/users/{clerk.id}/active", {"active": "0"}).status_code == 303
    assert "停用" in city.get(f"/users/{clerk.id}").text.split('data-testid="user-state"')[1][:80]
    assert _user(db, "clerk").active is False
    me = _user(db, "cityadmin")
    r = city.form(f"/users/{me.id}/active", {"active": "0"})
    assert r.status_code == 409 and "不能停用自己的账号" in _alert(r.text)


# --- tokens -------------------------------------------------------------------------------------------


def test_token_page_create_once_and_revoke(as_user, app, db) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    c = as_user("cityadmin")
    listing = c.get("/tokens")
    assert listing.status_code == 200 and "数据共享交换系统" in listing.text
    r = c.form(
        "/tokens",
        {"name": "网格化管理系统", "org_id": str(W().data_bureau), "roles": ["clerk"], "days": "30"},
    )
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    secret = r.text.split('data-testid="secret"')[1].split(">")[1].split("<")[0]
    assert secret.startswith("zc_") and "唯一一次显示" in r.text
    assert secret not in c.get("/tokens").text
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as system:
        assert system.get("/api/v1/me").json()["name"] == "网格化管理系统"
        with db.read() as s:
            tid = s.scalar(select(ApiToken.id).where(ApiToken.name == "网格化管理系统"))
        r = c.form(f"/tokens/{tid}/revoke", {})
        assert r.status_code == 303 and "已吊销令牌" in c.get("/tokens").text
        assert system.get("/api/v1/me").status_code == 401
    revoked = c.get("/tokens", params={"state": "revoked"}).text
    assert "网格化管理系统" in revoked and "数据共享交换系统" not in revoked


def test_token_form_errors_write_nothing(as_user, db) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    before = _count(db, ApiToken), _count(db, AuditRecord)
    r = c.form("/tokens", {"name": "无角色", "org_id": str(W().data_bureau), "days": "30"})
    assert r.status_code == 422 and "角色：至少选择 1 项" in _alert(r.text)
    r = c.form(
        "/tokens", {"name": "过长", "org_id": str(W().data_bureau), "roles": ["clerk"], "days": "99999"}
    )
    assert r.status_code == 422 and "有效天数：不能大于 3650" in _alert(r.text)
    r = c.form("/tokens", {"name": "审计", "org_id": str(W().data_bureau), "roles": ["auditor"]})
    assert r.status_code == 403
    assert (_count(db, ApiToken), _count(db, AuditRecord)) == before
    assert as_user("auditor").get("/tokens").status_code == 403
    assert as_user("district_admin").form("/tokens/1/revoke", {}).status_code == 403


# --- audit --------------------------------------------------------------------------------------------


def _touch(db, n: int, tag: str = "test:thing:touch") -> None:  # noqa: ANN001
    for i in range(n):
        with unit_of_work(db, Actor(kind="cli", name="tester")) as uow:
            uow.record(tag, f"thing:{i}", {"i": i, "名称": "测试"})


def test_audit_list_filters_and_pages(as_user, db) -> None:  # noqa: ANN001
    _touch(db, 60)
    c = as_user("auditor")
    first = c.get("/audit", params={"tag": "test:"})
    assert first.status_code == 200
    subjects = first.text.count("/audit?subject=thing%3A")
    assert subjects == 50 and "thing:59" in first.text and "&#34;名称&#34;: &#34;测试&#34;" in first.text
    older = first.text.split('data-testid="older" style="margin-left:16px" href="')[1].split('"')[0]
    second = c.get(older.replace("&amp;", "&"))
    assert second.text.count("/audit?subject=thing%3A") == 10 and "thing:0<" in second.text
    assert "thing:59" not in second.text and 'data-testid="older"' not in second.text
    auth_only = c.get("/audit", params={"tag": "auth:"}).text
    tags = [t.split(">")[1].split("<")[0] for t in auth_only.split('data-testid="tag"><a href')[1:]]
    assert tags and all(t.startswith("auth:") for t in tags)
    exact = c.get("/audit", params={"tag": "auth:session:login"}).text
    assert "auth:user:create" not in exact and "auth:session:login" in exact
    assert c.get("/audit", params={"subject": "thing:7"}).text.count("/audit?subject=thing%3A") == 1
    mixed = c.get("/audit", params={"actor": "cli:tester", "tag": "auth:"}).text
    assert mixed.count('data-testid="tag"><a') == 0 and "没有符合条件的记录" in mixed


def test_audit_dates_are_shanghai_days(as_user, db) -> None:  # noqa: ANN001
    _touch(db, 1, "test:day:touch")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    c = as_user("auditor")
    assert "test:day:touch" in c.get("/audit", params={"since": str(today), "until": str(today)}).text
    yesterday = str(today - dt.timedelta(days=1))
    assert "test:day:touch" not in c.get("/audit", params={"until": yesterday}).text
    r = c.get("/audit", params={"since": "2026-13-01"})
    assert r.status_code == 422 and "开始日期应为 年-月-日" in _alert(r.text)
    r = c.get("/audit", params={"since": str(today), "until": yesterday})
    assert r.status_code == 422 and "开始日期晚于结束日期" in _alert(r.text)
    assert c.get("/audit", params={"cursor": "not-a-cursor!"}).status_code == 422


def test_verify_seals_then_names_the_first_bad_record(as_user, db) -> None:  # noqa: ANN001
    _touch(db, 5)
    c = as_user("auditor")
    assert "待封存" in c.get("/audit").text.split("<tbody>")[1]
    r = c.form("/audit/verify", {})
    assert r.status_code == 200 and 'data-ok="true"' in r.text and "审计链完整" in r.text
    assert "待封存" not in r.text.split("<tbody>")[1]  # verify sealed the pending records first
    with db.sessions() as s, s.begin():
        seq = s.scalar(select(AuditRecord.seq).where(AuditRecord.subject == "thing:2"))
        s.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(change='{"i":999}'))
    r = c.form("/audit/verify", {"tag": "test:"})  # the page comes back with the filters it showed
    assert r.status_code == 200 and 'data-ok="false"' in r.text and "审计链已被破坏" in r.text
    assert f">{seq}<" in r.text.split('data-testid="verdict"')[1].split("</div>")[0] and "被篡改" in r.text
    assert 'value="test:"' in r.text and "auth:session:login" not in r.text.split("<tbody>")[1]


def test_audit_pages_refuse_the_wrong_persona(as_user) -> None:  # noqa: ANN001
    for who in ("clerk", "cityadmin"):
        c = as_user(who)
        assert c.get("/audit").status_code == 403
        assert c.form("/audit/verify", {}).status_code == 403
    assert as_user("auditor").http.post("/audit/verify", data={}).status_code == 403  # no CSRF token

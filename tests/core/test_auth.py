"""Login, sessions, CSRF, throttling, tokens and org-subtree scoping, spoken as the personas."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from tests import personas
from zhicheng.core.audit.chain import keyed_digest
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services
from zhicheng.core.auth.models import ApiToken, LoginAttempt, User, WebSession
from zhicheng.core.db import Database
from zhicheng.core.errors import Unauthenticated


def _login_form(c: TestClient, username: str, password: str):  # noqa: ANN202
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    return c.post(
        "/login",
        data={"username": username, "password": password, "login_csrf": token},
        follow_redirects=False,
    )


def test_password_is_stored_as_argon2(db) -> None:  # noqa: ANN001
    with db.read() as s:
        hashed = s.scalar(select(User.password_hash).where(User.username == "admin"))
    assert hashed.startswith("$argon2") and personas.PASSWORD not in hashed


def test_login_sets_httponly_session_and_logout_ends_it(app, db) -> None:  # noqa: ANN001
    with TestClient(app) as c:
        r = _login_form(c, "clerk", personas.PASSWORD)
        assert r.status_code == 303
        assert "httponly" in r.headers["set-cookie"].lower()
        home = c.get("/")
        assert home.status_code == 200 and "陈经办" in home.text
        csrf = home.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 303
    with db.read() as s:
        assert s.scalar(select(AuditRecord.tag).where(AuditRecord.tag == "auth:session:login")) is not None


def test_wrong_password_is_a_readable_error(client) -> None:  # noqa: ANN001
    r = _login_form(client, "clerk", "wrong-password")
    assert r.status_code == 400 and "用户名或密码错误" in r.text
    r = _login_form(client, "nobody-such", "wrong-password")
    assert r.status_code == 400 and "用户名或密码错误" in r.text  # same answer: no user enumeration


def test_login_survives_a_write_committed_while_the_password_is_checked(fresh_url, monkeypatch) -> None:  # noqa: ANN001
    """The worker (sealing the audit chain, sending messages) commits while a login hashes its password. On
    SQLite a transaction that read before that commit could not write after it ("database is locked", the
    demo's first login a 500); the login must read, check the password outside any transaction, then write
    holding the write lock from its start."""
    db, other = Database(fresh_url), Database(fresh_url)
    real = services.check_password

    def checked_while_another_writes(hashed: str, password: str) -> bool:
        with other.transaction() as c:
            c.execute(text("CREATE TABLE IF NOT EXISTS zz_probe (x INTEGER)"))
            c.execute(text("INSERT INTO zz_probe (x) VALUES (1)"))
        return real(hashed, password)

    monkeypatch.setattr(services, "check_password", checked_while_another_writes)
    try:
        cookie, user = services.login(db, "clerk", personas.PASSWORD, "127.0.0.1", 5, 15, 12)
        with pytest.raises(Unauthenticated):
            services.login(db, "clerk", "wrong-password", "127.0.0.1", 5, 15, 12)
        with db.read() as s:
            assert s.get(WebSession, keyed_digest(db.secret, cookie)).user_id == user.id
            assert s.get(User, user.id).last_login_at is not None
            assert [a.ok for a in s.scalars(select(LoginAttempt).order_by(LoginAttempt.id))] == [True, False]
            assert s.scalar(select(AuditRecord.subject).where(AuditRecord.tag == "auth:session:login")) == (
                f"user:{user.id}"
            )
    finally:
        db.dispose()
        other.dispose()


def test_login_without_its_csrf_cookie_is_refused(client) -> None:  # noqa: ANN001
    r = client.post(
        "/login", data={"username": "clerk", "password": personas.PASSWORD, "login_csrf": "forged"}
    )
    assert r.status_code == 400 and "zc_session" not in r.headers.get("set-cookie", "")


def test_failed_logins_are_throttled(app) -> None:  # noqa: ANN001
    with TestClient(app) as c:
        for _ in range(5):
            assert _login_form(c, "auditor", "bad-password-x").status_code == 400
        r = _login_form(c, "auditor", personas.PASSWORD)  # even the right password waits now
        assert r.status_code == 400 and "过多" in r.text


def test_open_redirect_after_login_is_refused(client) -> None:  # noqa: ANN001
    page = client.get("/login?next=//evil.example/x")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={
            "username": "clerk",
            "password": personas.PASSWORD,
            "login_csrf": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_unsafe_request_without_csrf_is_refused(as_user) -> None:  # noqa: ANN001
    c = as_user("admin")
    body = {"code": "320105", "name": "建邺区", "parent_code": "320100"}
    assert c.post("/api/v1/divisions", json=body).status_code == 403
    assert c.send("POST", "/api/v1/divisions", json=body).status_code == 201


def test_expired_session_is_anonymous(app, db) -> None:  # noqa: ANN001
    with TestClient(app) as c:
        _login_form(c, "clerk", personas.PASSWORD)
        with db.sessions() as s, s.begin():
            s.execute(update(WebSession).values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        assert c.get("/api/v1/me").status_code == 401


def test_token_works_then_revoked_then_refused(as_system, as_user) -> None:  # noqa: ANN001
    me = as_system.get("/api/v1/me").json()
    assert me["actor"].startswith("system:") and me["roles"] == ["clerk"]
    admin = as_user("admin")
    tokens = admin.get("/api/v1/tokens").json()
    tid = next(t["id"] for t in tokens if t["key"] == personas.SYSTEM_TOKEN.split("_")[1])
    assert admin.send("DELETE", f"/api/v1/tokens/{tid}").status_code == 204
    r = as_system.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


def test_expired_and_malformed_tokens_are_refused(app, db, as_system) -> None:  # noqa: ANN001
    with db.sessions() as s, s.begin():
        s.execute(update(ApiToken).values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    assert as_system.get("/api/v1/me").status_code == 401
    with TestClient(app) as c:
        for bad in ("zc_nope", "garbage", "zc_0123456789abcdef_wrong-secret", ""):
            assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"}).status_code == 401


def test_created_token_is_stored_hashed_and_shown_once(as_user, app, db) -> None:  # noqa: ANN001
    admin = as_user("admin")
    w = personas.WORLD
    r = admin.send(
        "POST",
        "/api/v1/tokens",
        json={"name": "市场监管业务系统", "org_id": w.market, "roles": ["clerk"], "days": 30},
    )
    assert r.status_code == 201
    raw = r.json()["token"]
    with db.read() as s:
        stored = s.scalar(select(ApiToken).where(ApiToken.name == "市场监管业务系统"))
    assert raw.split("_")[2] not in (stored.secret_hash, stored.key)
    assert "token" not in admin.get("/api/v1/tokens").json()[0]
    with TestClient(app) as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json()["org_id"] == w.market


def test_scope_is_the_org_subtree(as_user) -> None:  # noqa: ANN001
    w = personas.WORLD
    xuanwu = as_user("district_admin")
    names = {o["name"] for o in xuanwu.get("/api/v1/orgs").json()}
    assert names == {"玄武区人民政府", "玄武区市场监督管理局"}
    assert xuanwu.get(f"/api/v1/orgs/{w.other_district}").status_code == 403
    ok = xuanwu.send(
        "POST",
        "/api/v1/orgs",
        json={
            "name": "玄武区城市管理局",
            "kind": "department",
            "division_code": "320102",
            "parent_id": w.district,
        },
    )
    assert ok.status_code == 201
    refused = xuanwu.send(
        "POST",
        "/api/v1/orgs",
        json={
            "name": "秦淮区城市管理局",
            "kind": "department",
            "division_code": "320104",
            "parent_id": w.other_district,
        },
    )
    assert refused.status_code == 403


def test_managers_cannot_hand_out_more_than_they_hold(as_user) -> None:  # noqa: ANN001
    w = personas.WORLD
    xuanwu = as_user("district_admin")
    user = xuanwu.send(
        "POST",
        "/api/v1/users",
        json={
            "username": "xw_clerk",
            "display_name": "孙经办",
            "password": "Long-enough-1",
            "org_id": w.district_dept,
        },
    )
    assert user.status_code == 201
    uid = user.json()["id"]
    assert (
        xuanwu.send(
            "POST", f"/api/v1/users/{uid}/grants", json={"role": "clerk", "org_id": w.district_dept}
        ).status_code
        == 201
    )
    # auditor carries audit.read, which the district admin does not hold: refused
    assert (
        xuanwu.send(
            "POST", f"/api/v1/users/{uid}/grants", json={"role": "auditor", "org_id": w.district_dept}
        ).status_code
        == 403
    )
    # and nothing over an org outside the district
    assert (
        xuanwu.send(
            "POST", f"/api/v1/users/{uid}/grants", json={"role": "clerk", "org_id": w.city}
        ).status_code
        == 403
    )
    assert (
        xuanwu.send(
            "POST",
            "/api/v1/users",
            json={
                "username": "qh_clerk",
                "display_name": "钱经办",
                "password": "Long-enough-1",
                "org_id": w.other_district,
            },
        ).status_code
        == 403
    )


def test_deactivated_user_loses_access(as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    assert clerk.get("/api/v1/me").status_code == 200
    admin = as_user("admin")
    uid = next(
        u["id"] for u in admin.get("/api/v1/users", params={"q": "clerk"}).json() if u["username"] == "clerk"
    )
    from zhicheng.core.auth import services
    from zhicheng.core.db import Actor, unit_of_work

    with unit_of_work(admin.http.app.state.db, Actor(kind="cli", name="t")) as uow:
        services.set_active(uow, uid, False)
    assert clerk.get("/api/v1/me").status_code == 401

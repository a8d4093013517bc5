"""The demo city: valid codes throughout, working logins and token, an intact audit chain, idempotent loads,
module hooks, and the `demo load` command (JSON output, refusal in production)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from stdnum.cn import ric, uscc

from tests.conftest import count_rows
from zhicheng.app import create_app
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.auth.models import ApiToken, RoleGrant, User
from zhicheng.core.db import Database
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.models import Division, Org, Party
from zhicheng.demo import codes, load
from zhicheng.settings import Settings

ZHICHENG = Path(sys.executable).parent / "zhicheng"
TABLES = (Division, Org, Party, User, RoleGrant, ApiToken, AuditRecord)


def _counts(db: Database) -> dict[str, int]:
    return count_rows(db, TABLES)


def test_city_has_its_districts_departments_and_valid_codes(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)  # the CLI prints it as JSON
    city = info["orgs"]["city"]
    with db.read() as s:
        levels = dict(s.execute(select(Division.level, func.count()).group_by(Division.level)).all())
        count = select(func.count())
        under_city = s.scalar(count.select_from(Division).where(Division.parent_code == "320100"))
        city_depts = s.scalar(count.select_from(Org).where(Org.parent_id == city, Org.kind != "government"))
        districts = s.scalars(select(Org).where(Org.parent_id == city, Org.kind == "government")).all()
        above = aliased(Org)
        lines = s.execute(
            select(Org.name, above.parent_id)
            .join(above, above.id == Org.line_parent_id)
            .where(Org.parent_id.in_([d.id for d in districts]))
        ).all()
        credit = [c for c in s.scalars(select(Org.credit_code)) if c]
        parties = s.execute(select(Party.kind, Party.id_number, Party.verified_by)).all()
    assert under_city >= 6 and len(districts) >= 6
    assert levels["street"] >= 3 * under_city and levels["community"] >= 2 * levels["street"]
    assert city_depts >= 20
    # every district department's 条 line reaches a department of the city government
    assert len(lines) >= 4 * len(districts) and all(parent == city for _name, parent in lines)
    assert len(credit) >= 26
    assert all(uscc.is_valid(c) and codes.org_code_is_valid(c[8:17]) for c in credit)
    citizens = [n for k, n, _ in parties if k == "citizen"]
    firms = [n for k, n, _ in parties if k == "enterprise"]
    assert len(citizens) >= 50 and all(ric.is_valid(n) for n in citizens)
    assert len(firms) >= 20 and all(uscc.is_valid(n) and n.startswith("91") for n in firms)
    assert all(by == "demo" for _k, _n, by in parties)
    roles = {lg["role"] for lg in info["logins"]}
    assert roles >= {"admin", "org_admin", "auditor", "calendar_keeper", "clerk", ""}
    assert info["orgs"]["data_authority"] and info["orgs"]["approval_bureau"]
    assert info["url"].startswith("http") and info["tokens"][0]["usable"]


def test_second_load_changes_nothing_and_the_chain_verifies(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    first = load(db, settings, progress=False)
    seal_all(db)
    v1 = verify(db)
    assert v1.ok and v1.pending == 0
    before = _counts(db)
    second = load(db, settings, progress=False)
    assert seal_all(db) == 0  # no audit record was written
    v2 = verify(db)
    assert v2.ok and (v2.head_seq, v2.head_hash) == (v1.head_seq, v1.head_hash)
    assert _counts(db) == before
    for key in ("logins", "tokens", "orgs"):
        assert second[key] == first[key]
    assert set(second["created"].values()) == {0}


def _login(c: TestClient, username: str, password: str) -> int:
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    r = c.post(
        "/login",
        data={"username": username, "password": password, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    return r.status_code


def test_every_printed_login_and_token_works(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)  # the personas' admin, clerk... get the demo password back
    app = create_app(settings, db=db)
    for lg in info["logins"]:
        with TestClient(app) as c:
            assert _login(c, lg["username"], lg["password"]) == 303, lg["username"]
            home = c.get("/", follow_redirects=False)
            # the user without a role is refused, everyone else gets the console
            assert home.status_code == (403 if not lg["role"] else 200), lg["username"]
    tok = info["tokens"][0]  # the exchange token; module demos may add their own after it
    with TestClient(app, headers={"Authorization": f"Bearer {tok['token']}"}) as c:
        me = c.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["org_id"] == info["orgs"]["data_authority"] and me.json()["roles"] == tok["roles"]


def test_module_demos_run_after_the_city(demo_db, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    db, settings = demo_db
    seen: list[dict] = []
    pkg, sub = types.ModuleType("zc_fake_module"), types.ModuleType("zc_fake_module.demo")
    pkg.__path__ = []  # a package, so that its demo submodule can be imported

    def fake_load(db_: Database, settings_: Settings, info: dict) -> None:
        seen.append(dict(info))
        info["fake"] = {"city": info["orgs"]["city"]}

    sub.load = fake_load  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zc_fake_module", pkg)
    monkeypatch.setitem(sys.modules, "zc_fake_module.demo", sub)
    import zhicheng.app

    monkeypatch.setattr(zhicheng.app, "MODULES", [*zhicheng.app.MODULES, "zc_fake_module"])
    info = load(db, settings, progress=False)
    assert len(seen) == 1 and seen[0]["logins"]  # called once, with the core city in place
    assert info["fake"] == {"city": info["orgs"]["city"]}


def test_load_refuses_production(tmp_path: Path) -> None:
    settings = Settings(env="production", secret_key="x", database_url=f"sqlite:///{tmp_path}/p.db")
    with pytest.raises(Invalid):
        load(Database(settings.database_url), settings, progress=False)
    assert not (tmp_path / "p.db").exists()  # refused before touching any database


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZHICHENG_")} | env
    return subprocess.run([str(ZHICHENG), *args], capture_output=True, text=True, env=full, timeout=300)


@pytest.mark.slow
def test_cli_prints_one_json_object(fresh_url: str) -> None:
    assert _cli("db", "upgrade", ZHICHENG_DATABASE_URL=fresh_url).returncode == 0
    r = _cli("demo", "load", "--json", ZHICHENG_DATABASE_URL=fresh_url)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert {"logins", "tokens", "orgs", "url"} <= set(info)
    assert any(lg["username"] == "admin" for lg in info["logins"])
    assert info["tokens"][0]["token"].startswith("zc_")


@pytest.mark.slow
def test_cli_refuses_production_with_one_line(tmp_path: Path) -> None:
    r = _cli(
        "demo",
        "load",
        ZHICHENG_ENV="production",
        ZHICHENG_SECRET_KEY="x",
        ZHICHENG_DATABASE_URL=f"sqlite:///{tmp_path}/p.db",
    )
    assert r.returncode != 0 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "production" in r.stderr

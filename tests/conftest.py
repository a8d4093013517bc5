"""Test databases, personas and clients.

ZHICHENG_TEST_DB selects the database: `sqlite` (a temporary file) or a PostgreSQL URL, for which a
database of its own is created and dropped. Each test runs inside a transaction that is rolled back;
tests that need real commits across connections (workers, concurrency, a live server) ask for `fresh_url`.
Under CI=true nothing that needs PostgreSQL or the browser may be skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests import personas
from zhicheng.app import create_app
from zhicheng.core.db import Database, make_engine
from zhicheng.core.migrate import upgrade
from zhicheng.settings import Settings

CI = os.environ.get("CI") == "true"
TARGET = os.environ.get("ZHICHENG_TEST_DB", "sqlite")


def _new_database(tmp_dir: str) -> tuple[str, callable]:
    """Create an empty database; returns its URL and a function that drops it."""
    if TARGET == "sqlite":
        path = os.path.join(tmp_dir, f"zc-{uuid.uuid4().hex[:8]}.db")
        return f"sqlite:///{path}", lambda: None
    admin_url = make_url(TARGET)
    name = f"zc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        if CI:
            raise
        pytest.skip(f"PostgreSQL not reachable at {TARGET}: {exc}")

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def dialect() -> str:
    return "sqlite" if TARGET == "sqlite" else "postgresql"


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's database, migrated, with the personas' world committed in it."""
    url, drop = _new_database(str(tmp_path_factory.mktemp("db")))
    db = Database(url)
    upgrade(db)
    personas.build(db)
    db.dispose()
    yield url
    drop()


@pytest.fixture
def fresh_url(tmp_path: object) -> Iterator[str]:
    """A database of its own, migrated and with the personas, for tests that commit for real."""
    url, drop = _new_database(str(tmp_path))
    db = Database(url)
    upgrade(db)
    personas.build(db)
    db.dispose()
    yield url
    drop()


@pytest.fixture
def demo_db(fresh_url: str) -> Iterator[tuple[Database, Settings]]:
    """A fresh database and the settings to load the demo city into it."""
    db = Database(fresh_url)
    yield db, Settings(env="test", database_url=fresh_url, embedded_worker=False)
    db.dispose()


def count_rows(db: Database, tables: tuple) -> dict[str, int]:
    """Rows per table: what "a second load changes nothing" compares."""
    with db.read() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in tables}


@pytest.fixture(scope="session")
def engine(base_url: str):  # noqa: ANN201
    eng = make_engine(base_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine, base_url: str) -> Iterator[Database]:  # noqa: ANN001
    """A Database whose every commit is a savepoint inside one transaction rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield Database(base_url, engine=engine, bind=conn, join_transaction_mode="create_savepoint")
    outer.rollback()
    conn.close()


@pytest.fixture
def settings(base_url: str) -> Settings:
    return Settings(env="test", database_url=base_url, embedded_worker=False)


@pytest.fixture
def app(settings: Settings, db: Database):  # noqa: ANN201
    return create_app(settings, db=db)


@dataclass
class Client:
    """A TestClient acting as one persona: logged in through the console, or carrying a token."""

    http: TestClient
    csrf: str = ""

    def __getattr__(self, name: str):  # noqa: ANN204 - get/post/... of the underlying client
        return getattr(self.http, name)

    def form(self, url: str, data: dict, **kw):  # noqa: ANN003, ANN201
        return self.http.post(url, data={**data, "csrf_token": self.csrf}, follow_redirects=False, **kw)

    def send(self, method: str, url: str, **kw):  # noqa: ANN003, ANN201
        headers = {**kw.pop("headers", {}), "X-CSRF-Token": self.csrf}
        return self.http.request(method, url, headers=headers, **kw)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def as_user(app):  # noqa: ANN001, ANN201
    """as_user("admin") → a Client logged in through the console login form."""
    opened: list[TestClient] = []

    def login(username: str, password: str = personas.PASSWORD) -> Client:
        c = TestClient(app, raise_server_exceptions=False)
        opened.append(c)
        page = c.get("/login")
        token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
        r = c.post(
            "/login",
            data={"username": username, "password": password, "login_csrf": token, "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        home = c.get("/")
        csrf = home.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        return Client(c, csrf)

    yield login
    for c in opened:
        c.close()


@pytest.fixture
def as_system(app):  # noqa: ANN001, ANN201
    """as_system() → a TestClient carrying the consumer system's API token."""
    c = TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {personas.SYSTEM_TOKEN}"}
    )
    yield c
    c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """Under CI=true a skip is a failure: PostgreSQL and browser tests are required there."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test is required: {report.longrepr}"

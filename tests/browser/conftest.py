"""A live server on a fresh, migrated database with the personas, and Debian's chromium driven by Playwright.

The server is the real app under uvicorn in a background thread (127.0.0.1, a free port); the browser is
/usr/bin/chromium (never a downloaded one). Without chromium the browser tests are skipped, except under
CI=true where they must run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests import personas
from tests.conftest import CI, _new_database
from zhicheng.app import create_app
from zhicheng.core.db import Database
from zhicheng.core.migrate import upgrade
from zhicheng.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
STARTUP_SECONDS = 30
LIVE: dict[str, str] = {}  # the live server's database URL ("db_url"), for tests that set up data there


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the app serving a database of its own."""
    url, drop = _new_database(str(tmp_path_factory.mktemp("live")))
    db = Database(url)
    upgrade(db)
    personas.build(db)
    db.dispose()
    LIVE["db_url"] = url
    app = create_app(Settings(env="test", database_url=url, embedded_worker=False, node_modules=NODE_MODULES))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; uvicorn serves on this very socket
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:  # waiting for readiness, not asserting anything about time
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    app.state.db.dispose()
    drop()


@pytest.fixture(scope="session")
def live_db(live_server: str) -> Iterator[Database]:
    """The live server's database, for setting up data in it (commits are real: nothing is rolled back)."""
    db = Database(LIVE["db_url"])
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if CI:
            pytest.fail(f"{CHROMIUM} is missing; CI needs the browser tests (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server: str):  # noqa: ANN001, ANN201
    """new_page() → a page in a fresh browser context (its own cookies), speaking Chinese by default."""
    contexts = []

    def make():  # noqa: ANN202
        context = browser.new_context(
            base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900}
        )
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()

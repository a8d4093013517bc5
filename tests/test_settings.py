from __future__ import annotations

import pytest
from pydantic import ValidationError

from zhicheng.settings import DEMO_SECRET, Settings


def test_production_refuses_the_demo_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHICHENG_SECRET_KEY", raising=False)
    monkeypatch.setenv("ZHICHENG_ENV", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()


def test_env_vars_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHICHENG_ENV", "production")
    monkeypatch.setenv("ZHICHENG_SECRET_KEY", "a-real-secret-from-the-vault")
    monkeypatch.setenv("ZHICHENG_DATABASE_URL", "postgresql+psycopg://zc@db/zc")
    s = Settings()
    assert s.secret_key != DEMO_SECRET and not s.is_sqlite


def test_app_cli_and_workers_open_the_database_with_the_settings_secret(fresh_url: str) -> None:
    """Token secrets and session ids are stored under this key: a worker or a CLI command that opened the
    database with another key would write credentials nobody can use."""
    from zhicheng.core.db import Database
    from zhicheng.core.jobs.registry import Registry
    from zhicheng.core.jobs.worker import start_embedded

    settings = Settings(env="production", secret_key="vault-key-2026", database_url=fresh_url)
    assert Database.from_settings(settings).secret == b"vault-key-2026"
    worker = start_embedded(settings, registry=Registry())
    try:
        assert worker.db.secret == b"vault-key-2026"
    finally:
        worker.stop()
        worker.thread.join(timeout=10)

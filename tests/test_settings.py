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

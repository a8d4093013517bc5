"""`db upgrade`: run the Alembic history, then bring code-defined data in line (roles, calendar seed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from zhicheng.core.db import Actor, Database, unit_of_work

ROOT = Path(__file__).resolve().parents[3]
MIGRATOR = Actor(kind="cli", name="db-upgrade")


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(db: Database) -> None:
    command.upgrade(alembic_config(db.url), "head")
    bootstrap(db)


def bootstrap(db: Database) -> None:
    from zhicheng.app import import_models
    from zhicheng.core.auth.services import ensure_builtin_roles
    from zhicheng.core.calendar.services import seed_from_package

    import_models()  # modules' permissions extend the built-in roles
    with unit_of_work(db, MIGRATOR) as uow:
        ensure_builtin_roles(uow)
        seed_from_package(uow)

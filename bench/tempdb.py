"""Throwaway databases for the benchmarks: a SQLite file in a temp dir, or a PostgreSQL database created on
127.0.0.1:5432 (user postgres) and dropped at the end. ZHICHENG_BENCH_PG overrides the server's URL."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ZHICHENG = Path(sys.executable).parent / "zhicheng"  # the console script of the running venv
PG_ADMIN = os.environ.get("ZHICHENG_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DIALECTS = ("sqlite", "postgresql")


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return " ".join(str(exc).split())[:120]


@contextmanager
def temp_database(dialect: str) -> Iterator[str]:
    """Yield the URL of a brand-new empty database; remove it afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="zc-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"zc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli_env(url: str, **extra: str) -> dict[str, str]:
    """The environment for a `zhicheng` subprocess on `url`: ours, minus any other ZHICHENG_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHICHENG_")}
    return env | {"ZHICHENG_DATABASE_URL": url} | extra


def migrate(url: str) -> None:
    """`zhicheng db upgrade` in-process: the schema, the built-in roles and the calendar seed."""
    from zhicheng.core.db import Database
    from zhicheng.core.migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    db = Database(url)
    upgrade(db)
    db.dispose()


def dialects(wanted: str) -> list[str]:
    """The dialects to run (`both`, `sqlite`, `postgresql`); PostgreSQL is dropped, with a note, when down."""
    chosen = list(DIALECTS) if wanted == "both" else [wanted]
    if "postgresql" in chosen and (why := pg_available()):
        print(f"  (PostgreSQL skipped: {why})")
        chosen.remove("postgresql")
    return chosen

"""One Alembic history for every module. The URL comes from the caller or ZHICHENG_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from zhicheng.app import import_models, include_name
from zhicheng.core.db import Base, make_engine
from zhicheng.settings import load

import_models()
config = context.config
url = config.attributes.get("url") or load().database_url


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
        conn.commit()
    engine.dispose()


def _migrate(conn) -> None:  # noqa: ANN001
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run()

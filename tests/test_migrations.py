"""The models and the one Alembic history agree, on the dialect under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from zhicheng.app import import_models, include_name
from zhicheng.core.db import Base, make_engine
from zhicheng.core.migrate import alembic_config


def test_models_match_migrations(base_url: str) -> None:
    import_models()
    engine = make_engine(base_url)
    with engine.connect() as conn:
        opts = {
            "compare_type": True,
            "render_as_batch": conn.dialect.name == "sqlite",
            "include_name": include_name,  # tables kept outside the models: search index, hosted data
        }
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


def test_one_history_with_one_head(base_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(base_url))
    assert len(script.get_heads()) == 1

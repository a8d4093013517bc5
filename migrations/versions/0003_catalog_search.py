"""catalog search: FTS5 on SQLite, a weighted tsvector with a GIN index on PostgreSQL

Revision ID: 0003
Revises: 0002

The search tables are kept by raw SQL and stay out of Base.metadata (see zhicheng.catalog.search).
Resources catalogued before this revision are indexed here, so search finds them right after the upgrade.
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # text arrives pre-segmented by jieba, words separated by spaces: unicode61 only splits on them
        op.execute(
            "CREATE VIRTUAL TABLE catalog_fts USING fts5(name, keywords, body, tokenize = 'unicode61')"
        )
    else:
        # the status and facet columns are copies of the resource's, written with the tsvector
        op.execute(
            "CREATE TABLE catalog_search ("
            " resource_id INTEGER NOT NULL,"
            " status VARCHAR(16) NOT NULL,"
            " provider_org_id INTEGER NOT NULL,"
            " class_code VARCHAR(16) NOT NULL,"
            " share_type VARCHAR(16) NOT NULL,"
            " grade VARCHAR(16) NOT NULL,"
            " format VARCHAR(20) NOT NULL,"
            " update_cycle VARCHAR(16) NOT NULL,"
            " tsv TSVECTOR NOT NULL,"
            " CONSTRAINT pk_catalog_search PRIMARY KEY (resource_id),"
            " CONSTRAINT fk_catalog_search_resource_id_catalog_resource FOREIGN KEY (resource_id)"
            "  REFERENCES catalog_resource (id) ON DELETE CASCADE)"
        )
        op.execute("CREATE INDEX ix_catalog_search_tsv ON catalog_search USING gin (tsv)")
        # a broad word narrowed to one department or class: the planner ANDs these with the GIN bitmap
        op.execute("CREATE INDEX ix_catalog_search_provider ON catalog_search (provider_org_id)")
        op.execute("CREATE INDEX ix_catalog_search_class ON catalog_search (class_code)")
    # one row: a random generation every index write changes, which keys the search cache
    op.execute("CREATE TABLE catalog_search_state (id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)")
    op.execute("INSERT INTO catalog_search_state (id, generation) VALUES (1, 0)")
    from zhicheng.catalog.search import reindex

    reindex(bind)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS catalog_search_state")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    else:
        op.execute("DROP TABLE IF EXISTS catalog_search")

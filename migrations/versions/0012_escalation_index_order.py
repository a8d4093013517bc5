"""The overdue scans select `escalated_at IS NULL` rows ordered by (due date, id). With escalated_at as a key
column PostgreSQL cannot read the index in that order (IS NULL is no equality for ordering), so it fetched
every overdue task and sorted them (179 ms at a million open cases, bench/approvals_inbox.py). Partial
indexes on (status, due date, id) WHERE escalated_at IS NULL give the order and stop at the batch's limit.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_approval_case_unescalated": ("approval_case", "promised_due_on"),
    "ix_approval_task_unescalated": ("approval_task", "due_on"),
}
UNESCALATED = sa.text("escalated_at IS NULL")


def upgrade() -> None:
    for name, (table, due) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(
            name, table, ["status", due, "id"], postgresql_where=UNESCALATED, sqlite_where=UNESCALATED
        )


def downgrade() -> None:
    for name, (table, due) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["status", "escalated_at", due])

"""The overdue scans order by (due date, id): the indexes they use end in id, so that PostgreSQL walks the
index in that order and stops at the batch's limit instead of sorting every overdue task (179 ms → a few ms
at a million open cases; bench/approvals_inbox.py).

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_approval_case_unescalated": ("approval_case", ["status", "escalated_at", "promised_due_on"]),
    "ix_approval_task_unescalated": ("approval_task", ["status", "escalated_at", "due_on"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "id"])


def downgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)

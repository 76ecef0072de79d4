"""ledger append: on PostgreSQL, the audit log's append as a database function, so that a row
and its leaf are written in one statement

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:00:00
"""

from alembic import op

from consent import schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(schema.LEDGER_APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {schema.LEDGER_APPEND}(text, text, bytea)")

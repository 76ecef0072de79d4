"""ledger: the audit log's Merkle tree (head, leaves, perfect subtree hashes, checkpoints)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:50:00
"""

import sqlalchemy as sa
from alembic import op

import core.db
from consent import schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("appended_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_ledger_leaves")),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoints")),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0, "frontier": b""}])
    # Leaves, subtree hashes and checkpoints are only ever inserted.
    for statement in schema.create_statements(op.get_bind().dialect.name, schema.LEDGER_TABLES):
        op.execute(statement)


def downgrade() -> None:
    for statement in schema.drop_statements(op.get_bind().dialect.name, schema.LEDGER_TABLES):
        op.execute(statement)
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    op.drop_table("ledger_leaves")
    op.drop_table("ledger_head")

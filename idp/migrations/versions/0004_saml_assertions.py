"""SAML assertions already used (assertion replay)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saml_seen_assertions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_seen_assertions")),
    )
    with op.batch_alter_table("saml_seen_assertions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_seen_assertions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("saml_seen_assertions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_seen_assertions_expires_at"))

    op.drop_table("saml_seen_assertions")

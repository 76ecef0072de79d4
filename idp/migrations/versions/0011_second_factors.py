"""second factors: a person's TOTP key for the administrators' console, sealed under the
master key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:30:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = core.db.UTCDateTime(timezone=True)
    op.create_table(
        "second_factors",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_used_at", when, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_second_factors_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_second_factors")),
    )


def downgrade() -> None:
    op.drop_table("second_factors")

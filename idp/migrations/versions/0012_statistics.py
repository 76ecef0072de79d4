"""statistics: the consent statistics per day, city, school, purpose and service, the days
aggregated, and sign-ins counted per day, city, directory type and service

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("school_code", sa.String(length=5), nullable=False),
        sa.Column("purpose_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_client_id", sa.String(length=64), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("requested", "given", "refused", "withdrawn", "expired", "invalidated")
        ),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "within_1h",
                "within_6h",
                "within_24h",
                "within_72h",
                "within_168h",
                "within_720h",
                "later",
            )
        ),
        sa.PrimaryKeyConstraint(
            "day",
            "city",
            "school_code",
            "purpose_id",
            "recipient_client_id",
            name=op.f("pk_consent_daily"),
        ),
    )
    op.create_table(
        "stats_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("aggregated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_stats_days")),
    )
    op.create_table(
        "sign_in_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("directory", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "city", "directory", "client_id", name=op.f("pk_sign_in_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("sign_in_counts")
    op.drop_table("stats_days")
    op.drop_table("consent_daily")

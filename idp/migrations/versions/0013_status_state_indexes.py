"""Indexes for the administrators' state filter: each stored state read newest first, within a
city and in every city (consent.search).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_consent_status_city_state_created",
        "consent_status",
        ["city", "state", "created_at", "record_id"],
    )
    op.create_index(
        "ix_consent_status_state_created", "consent_status", ["state", "created_at", "record_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_consent_status_state_created", table_name="consent_status")
    op.drop_index("ix_consent_status_city_state_created", table_name="consent_status")

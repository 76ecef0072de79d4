"""consent status: each consent record's state as its events last left it, for the
administrators' filtered lists, filled from the events of the records there are; indexes for
the lists' filters (a school's role assignments, names by their start) and the scopes (linked
accounts)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
NAME_COLUMNS = ("given_name", "family_name")


def upgrade() -> None:
    when = core.db.UTCDateTime(timezone=True)
    op.create_table(
        "consent_status",
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("purpose_id", sa.String(length=64), nullable=False),
        sa.Column("purpose_version", sa.Integer(), nullable=False),
        sa.Column("source_client_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("given_at", when, nullable=True),
        sa.Column("valid_until", when, nullable=True),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("changed_at", when, nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["consent_records.id"],
            name=op.f("fk_consent_status_record_id_consent_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_consent_status")),
    )
    op.create_index(
        "ix_consent_status_city_created", "consent_status", ["city", "created_at", "record_id"]
    )
    op.create_index("ix_consent_status_created", "consent_status", ["created_at", "record_id"])
    op.create_index("ix_consent_status_purpose_state", "consent_status", ["purpose_id", "state"])
    op.create_index(op.f("ix_consent_status_child_id"), "consent_status", ["child_id"])
    # A school's pupils, for the lists' school filter; the linked accounts, for the scopes.
    op.create_index(
        "ix_role_assignments_school_code", "role_assignments", ["school_code", "identity_id"]
    )
    op.create_index("ix_city_identities_id_person", "city_identities", ["id", "person_id"])
    op.create_index(op.f("ix_city_identities_linked_by"), "city_identities", ["linked_by"])
    # The start of a name, case-insensitively (text_pattern_ops: LIKE 'prefix%' in any collation).
    ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    for column in NAME_COLUMNS:
        op.execute(f"CREATE INDEX ix_people_{column}_lower ON people (lower({column}){ops})")
    from consent import history  # the derivation of today: the rows are derived, not history

    session = Session(bind=op.get_bind())
    history.rebuild_status(session)
    session.flush()


def downgrade() -> None:
    for column in NAME_COLUMNS:
        op.execute(f"DROP INDEX ix_people_{column}_lower")
    op.drop_index(op.f("ix_city_identities_linked_by"), table_name="city_identities")
    op.drop_index("ix_city_identities_id_person", table_name="city_identities")
    op.drop_index("ix_role_assignments_school_code", table_name="role_assignments")
    op.drop_table("consent_status")

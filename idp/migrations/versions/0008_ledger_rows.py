"""ledger rows: consent records, events and audit entries name their leaf in the audit log;
the rows written before the log existed are appended to it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import core.db
from consent import schema
from consent.ledger import entries, store

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 5_000
TABLES = {"record": "consent_records", "event": "consent_events", "audit": "audit_events"}
ORDER = {"record": ("created_at", "id"), "event": ("id",), "audit": ("id",)}
TYPES = {
    "deciders": sa.JSON(), "detail": sa.JSON(), "purpose_version": sa.Integer(),
    "created_at": core.db.UTCDateTime(timezone=True), "at": core.db.UTCDateTime(timezone=True),
}  # fmt: skip


def _table(kind: str) -> sa.Table:
    """The columns a leaf is made of, as this revision knows them (not the models of later)."""
    columns = [sa.Column(name, TYPES.get(name, sa.String())) for name in entries.FIELDS[kind]]
    if kind != "record":
        columns.append(sa.Column("id", sa.Integer()))
    return sa.table(TABLES[kind], *columns, sa.Column("leaf", sa.BigInteger()))


def _backfill(session: Session, kind: str) -> None:
    """Append a leaf for each row of ``kind`` (in the order it was written) and record it."""
    table = _table(kind)
    query = sa.select(table).order_by(*(table.c[name] for name in ORDER[kind]))
    rows = session.execute(query).mappings().all()
    for first in range(0, len(rows), BATCH):
        batch = rows[first : first + BATCH]
        leaves = [(kind, entries.ref_of(kind, row), entries.hash_of(kind, row)) for row in batch]
        start = store.extend(session, leaves)
        named = sa.update(table).where(table.c.id == sa.bindparam("row_id"))
        session.execute(
            named.values(leaf=sa.bindparam("row_leaf")),
            [{"row_id": row["id"], "row_leaf": start + n} for n, row in enumerate(batch)],
        )


def upgrade() -> None:
    for table in TABLES.values():
        op.add_column(table, sa.Column("leaf", sa.BigInteger(), nullable=True))
        op.create_index(op.f(f"ix_{table}_leaf"), table, ["leaf"], unique=True)
    dialect = op.get_bind().dialect.name
    for statement in schema.drop_statements(dialect, schema.CONSENT_TABLES):
        op.execute(statement)
    session = Session(bind=op.get_bind())
    for kind in TABLES:
        _backfill(session, kind)
    session.flush()
    for statement in schema.create_statements(dialect, schema.CONSENT_TABLES):
        op.execute(statement)


def downgrade() -> None:
    """The columns go; the leaves stay in the log (append-only), unreferenced."""
    dialect = op.get_bind().dialect.name
    for statement in schema.drop_statements(dialect, schema.CONSENT_TABLES):
        op.execute(statement)
    for table in TABLES.values():
        op.drop_index(op.f(f"ix_{table}_leaf"), table_name=table)
        with op.batch_alter_table(table) as batch:  # SQLite copies the table
            batch.drop_column("leaf")
    for statement in schema.create_statements(dialect, schema.CONSENT_TABLES):
        op.execute(statement)

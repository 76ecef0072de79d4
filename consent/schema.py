"""Append-only in the schema: triggers that refuse UPDATE and DELETE on the consent records,
their events and the audit trail (migration 0006), and on the audit log's leaves, subtree
hashes and checkpoints (migration 0007), on SQLite and PostgreSQL. Tests that empty the
database drop and re-create them around the purge. The log's head row is updated at every
append; `digione audit verify` checks it against the leaves."""

from __future__ import annotations

CONSENT_TABLES = ("consent_records", "consent_events", "audit_events")
LEDGER_TABLES = ("ledger_leaves", "ledger_nodes", "ledger_checkpoints")
APPEND_ONLY = CONSENT_TABLES + LEDGER_TABLES
MESSAGE = "append-only table: rows are never updated or deleted"


def create_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    """DDL that makes each of ``tables`` refuse UPDATE and DELETE."""
    out: list[str] = []
    if dialect == "postgresql":
        out.append(
            "CREATE OR REPLACE FUNCTION digione_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '%: {MESSAGE}', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        for table in tables:
            out.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION digione_append_only()"
            )
        return out
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {MESSAGE}'); END"
            )
    return out


def drop_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in tables]
    return [
        f"DROP TRIGGER IF EXISTS {t}_no_{action}" for t in tables for action in ("update", "delete")
    ]

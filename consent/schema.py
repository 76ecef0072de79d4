"""Append-only in the schema: triggers that refuse UPDATE and DELETE on the consent records,
their events and the audit trail, on SQLite and PostgreSQL. Used by migration 0006; tests that
empty the database drop and re-create them around the purge."""

from __future__ import annotations

APPEND_ONLY = ("consent_records", "consent_events", "audit_events")
MESSAGE = "append-only table: rows are never updated or deleted"


def create_statements(dialect: str) -> list[str]:
    """DDL that makes every APPEND_ONLY table refuse UPDATE and DELETE."""
    out: list[str] = []
    if dialect == "postgresql":
        out.append(
            "CREATE OR REPLACE FUNCTION digione_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '%: {MESSAGE}', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        for table in APPEND_ONLY:
            out.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION digione_append_only()"
            )
        return out
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {MESSAGE}'); END"
            )
    return out


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in APPEND_ONLY]
    return [
        f"DROP TRIGGER IF EXISTS {t}_no_{action}"
        for t in APPEND_ONLY
        for action in ("update", "delete")
    ]

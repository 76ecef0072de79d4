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


# The audit log's append on PostgreSQL, in the database: the same tree growth as
# consent.ledger.store.extend does in Python (RFC 9162 section 2.1.1), so that a row and its leaf
# are written in one statement (one round trip) and the head row's lock is held only from that
# statement to the commit. Takes the head row's lock, folds the leaf into the compact range
# (each trailing 1 bit of the index completes a subtree, whose hash is stored), stores the leaf
# and returns its index.
LEDGER_APPEND = "digione_ledger_append"
LEDGER_APPEND_FUNCTION = r"""
CREATE OR REPLACE FUNCTION digione_ledger_append(p_kind text, p_ref text, p_leaf bytea)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint; f bytea; h bytea := p_leaf; lvl integer := 0; rest bigint;
BEGIN
  SELECT size, frontier INTO n, f FROM ledger_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO ledger_head (id, size, frontier) VALUES (1, 0, ''::bytea) ON CONFLICT DO NOTHING;
    SELECT size, frontier INTO n, f FROM ledger_head WHERE id = 1 FOR UPDATE;
  END IF;
  IF length(f) <> 32 * length(replace(n::bit(64)::text, '0', '')) OR length(p_leaf) <> 32 THEN
    RAISE EXCEPTION 'ledger_head: the frontier does not fit a tree of % leaves', n;
  END IF;
  rest := n;
  WHILE rest & 1 = 1 LOOP
    h := sha256('\x01'::bytea || substring(f FROM length(f) - 31 FOR 32) || h);
    f := substring(f FROM 1 FOR length(f) - 32);
    lvl := lvl + 1;
    rest := rest >> 1;
    INSERT INTO ledger_nodes (level, idx, hash) VALUES (lvl, n >> lvl, h);
  END LOOP;
  UPDATE ledger_head SET size = n + 1, frontier = f || h WHERE id = 1;
  INSERT INTO ledger_leaves (idx, kind, ref, leaf_hash, appended_at)
  VALUES (n, p_kind, p_ref, p_leaf, now());
  RETURN n;
END $$
"""

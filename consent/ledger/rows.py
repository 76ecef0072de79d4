"""Cross-checking the rows the audit log covers (consent records, their events, audit entries)
against their leaves: each row's canonical bytes (consent.ledger.entries) must hash to the leaf
its ``leaf`` column names, each leaf of those kinds must have its row, and events and audit
entries must stand in the log in the order of their ids (the order a record's state is folded
in). One pass in leaf order over the leaves and one stream per kind of row, each in the order of
its unique ``leaf`` index: memory stays flat whatever the size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.ledger import entries
from consent.ledger.models import LedgerLeaf
from consent.ledger.verify import BATCH, Finding
from consent.models import AuditEntry, ConsentEvent, ConsentRecord

MODELS = {"record": ConsentRecord, "event": ConsentEvent, "audit": AuditEntry}
NAMES = {"record": "consent record", "event": "consent event", "audit": "audit entry"}
LEAVES = (
    select(LedgerLeaf.idx, LedgerLeaf.kind, LedgerLeaf.leaf_hash)
    .where(LedgerLeaf.kind.in_(MODELS))
    .order_by(LedgerLeaf.idx)
)
LIMIT = 100  # findings reported in full; the rest are counted


def rows_in_log(session: Session) -> int:
    """How many leaves stand for rows (what verify_rows goes through)."""
    return session.scalar(select(func.count()).select_from(LEAVES.subquery())) or 0


def _columns(kind: str) -> list:
    model = MODELS[kind]
    return [model.id, model.leaf, *(getattr(model, name) for name in entries.FIELDS[kind])]


def _rows(session: Session, kind: str) -> Iterator:
    model = MODELS[kind]
    query = select(*_columns(kind)).where(model.leaf.is_not(None)).order_by(model.leaf)
    yield from session.execute(query.execution_options(yield_per=BATCH)).mappings()


def _unlogged(session: Session, kind: str) -> Iterator[Finding]:
    model = MODELS[kind]
    query = select(model.id).where(model.leaf.is_(None)).order_by(model.id)
    for row_id in session.scalars(query.execution_options(yield_per=BATCH)):
        yield Finding(f"{NAMES[kind]} {row_id} is not in the log (written behind the broker)")


@dataclass
class _Cursor:
    """One kind's rows in leaf order, and the id of the last one seen (for the id order)."""

    kind: str
    rows: Iterator
    row: object = None
    last_id: int | None = None

    def advance(self) -> None:
        self.row = next(self.rows, None)


def _name(kind: str, row) -> str:
    return f"{NAMES[kind]} {row['id']} (leaf {row['leaf']})"


def verify_rows(session: Session, progress: Callable[[int], None] | None = None) -> list[Finding]:
    """Every finding about the rows against their leaves, at most LIMIT of them in full."""
    found: list[Finding] = []
    cursors = {kind: _Cursor(kind, _rows(session, kind)) for kind in MODELS}
    for cursor in cursors.values():
        cursor.advance()
    leaves = session.execute(LEAVES.execution_options(yield_per=BATCH))
    for count, (index, kind, leaf_hash) in enumerate(leaves, 1):
        cursor = cursors[kind]
        while cursor.row is not None and cursor.row["leaf"] < index:
            found.append(_misplaced(cursor, session))
            cursor.advance()
        row = cursor.row
        if row is None or row["leaf"] != index:
            found.append(Finding(f"leaf {index}: its {NAMES[kind]} is missing (deleted)", index))
            continue
        if entries.hash_of(kind, row) != leaf_hash:
            found.append(Finding(f"{_name(kind, row)} was changed after it was logged", index))
        if kind != "record":
            if cursor.last_id is not None and row["id"] <= cursor.last_id:
                found.append(
                    Finding(
                        f"{_name(kind, row)} stands after {NAMES[kind]} {cursor.last_id} in the "
                        "log but has a lower id: rows renumbered or swapped",
                        index,
                    )
                )
            cursor.last_id = row["id"]
        cursor.advance()
        if progress is not None and count % BATCH == 0:
            progress(count)
    for cursor in cursors.values():
        while cursor.row is not None:
            found.append(_misplaced(cursor, session))
            cursor.advance()
        found.extend(_unlogged(session, cursor.kind))
    if len(found) > LIMIT:
        return [*found[:LIMIT], Finding(f"... and {len(found) - LIMIT} more findings")]
    return found


def _misplaced(cursor: _Cursor, session: Session) -> Finding:
    """A row whose leaf is not a leaf of its kind: written behind the broker, naming a leaf."""
    row = cursor.row
    leaf = session.get(LedgerLeaf, row["leaf"])
    what = "no leaf" if leaf is None else f"a leaf of a {NAMES.get(leaf.kind, leaf.kind)}"
    return Finding(f"{_name(cursor.kind, row)} names {what}: not written by the broker")

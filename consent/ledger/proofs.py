"""A consent record's entries in the audit log with their inclusion proofs, for whoever holds
the record (a guardian's receipt, an outside auditor with `digione audit proof`): each entry's
leaf index, its canonical bytes (consent.ledger.entries, format 1) and its audit path (RFC 9162
section 2.1.3) to the root of a signed checkpoint (c2sp.org/tlog-checkpoint).

To check one: SHA-256(0x00 || entry) is the leaf hash; the audit path from it leads to the
checkpoint's root; the checkpoint's note verifies under a key of /consent-log/keys."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.ledger import checkpoints, entries, store
from consent.ledger.checkpoint import CheckpointError, open_checkpoint
from consent.ledger.merkle import leaf_hash, verify_inclusion
from consent.ledger.note import NoteError, Verifier
from consent.models import AuditEntry, ConsentEvent, ConsentRecord


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def rows_of(
    session: Session, record_id: str, *, audit: bool = True
) -> Iterator[tuple[str, object]]:
    """The record's rows in the log, as (kind, row): the record, its events and, with
    ``audit``, the audit entries about it (exchanges, refusals, exports), in leaf order."""
    record = session.get(ConsentRecord, record_id)
    if record is None:
        return
    found: list[tuple[str, object]] = [("record", record)]
    events = select(ConsentEvent).where(ConsentEvent.record_id == record_id)
    found += [("event", row) for row in session.scalars(events)]
    if audit:
        about = select(AuditEntry).where(AuditEntry.record_id == record_id)
        found += [("audit", row) for row in session.scalars(about)]
    in_log = [(kind, row) for kind, row in found if row.leaf is not None]
    yield from sorted(in_log, key=lambda pair: pair[1].leaf)


def bundle(session: Session, record_id: str, *, audit: bool = True) -> dict | None:
    """The record's entries with their inclusion proofs against the latest checkpoint (None
    for the record that is not found). An entry made after that checkpoint has no proof
    (``proof`` null) until the next checkpoint includes it."""
    rows = list(rows_of(session, record_id, audit=audit))
    if not rows:
        return None
    latest = checkpoints.latest(session)
    tree = store.StoredTree(session)
    listed = []
    for kind, row in rows:
        proof = None
        if latest is not None and row.leaf < latest.size:
            proof = [_b64(digest) for digest in tree.inclusion(row.leaf, latest.size)]
        text = entries.canonical(kind, entries.values_of(kind, row)).decode()
        listed.append({"leaf": row.leaf, "kind": kind, "entry": text, "proof": proof})
    return {
        "record_id": record_id,
        "checkpoint": latest.note if latest is not None else None,
        "tree_size": latest.size if latest is not None else None,
        "entries": listed,
    }


def verified(found: dict, known: Iterable[Verifier], origin: str) -> bool | None:
    """Whether a bundle's checkpoint verifies under ``known`` keys for ``origin`` and every
    proof in it leads from its entry to that checkpoint's root: None when there is no
    checkpoint yet, or no entry has a proof."""
    proven = [entry for entry in found["entries"] if entry["proof"] is not None]
    if found["checkpoint"] is None or not proven:
        return None
    try:
        head = open_checkpoint(found["checkpoint"], known, origin)
    except (NoteError, CheckpointError):
        return False
    return all(
        verify_inclusion(
            entry["leaf"],
            head.size,
            leaf_hash(entry["entry"].encode()),
            [base64.b64decode(step) for step in entry["proof"]],
            head.root_hash,
        )
        for entry in proven
    )

"""What the audit log's leaves are: the canonical bytes of each row the log covers, defined
once, and the appending of a row's leaf in the transaction that writes the row.

Three kinds of row are leaves: a consent record (``record``), each of its events (``event``),
the rows its state is derived from, and each audit entry (``audit``). Format 1 of a leaf's bytes:
one JSON object in UTF-8, keys sorted, no whitespace (separators ``,`` and ``:``), characters
outside ASCII as themselves; ``"v": 1`` and ``"type"`` (the kind), then the row's columns below,
a missing value as ``null``, timestamps in RFC 3339 UTC with microseconds
(``2026-12-04T19:07:29.123456Z``). Its leaf hash is SHA-256(0x00 || bytes) (RFC 9162 section
2.1.1). The columns hold identifiers and commitments only (person ids, client ids, keyed address
hashes), never a name: erasing a person's data later leaves every leaf verifiable.

A row names its leaf in its ``leaf`` column; `digione audit verify` recomputes each row's bytes
and compares them with its leaf (consent.ledger.rows)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from consent.ledger import store
from consent.ledger.merkle import leaf_hash

FORMAT = 1
FIELDS: dict[str, tuple[str, ...]] = {
    "record": (
        "id", "purpose_id", "purpose_version", "child_id", "city", "requested_by", "created_at",
    ),
    "event": (
        "record_id", "kind", "at", "actor_type", "actor_id", "method", "acr", "deciders",
        "purpose_version", "reason",
    ),
    "audit": (
        "at", "actor_type", "actor_id", "action", "record_id", "purpose_id", "channel",
        "address_hash", "detail",
    ),
}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive timestamp in a log entry")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"{type(value).__name__} has no canonical form in a log entry")


def canonical(kind: str, values: Mapping[str, Any]) -> bytes:
    """The leaf bytes (format 1) of a row of ``kind`` with column ``values``."""
    body = {name: values.get(name) for name in FIELDS[kind]}
    body.update(v=FORMAT, type=kind)
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
    return text.encode()


def hash_of(kind: str, values: Mapping[str, Any]) -> bytes:
    """The leaf hash of a row of ``kind`` with column ``values``."""
    return leaf_hash(canonical(kind, values))


def values_of(kind: str, row: object) -> dict[str, Any]:
    """The columns of ``row`` (a model instance) the leaf bytes of ``kind`` are made of."""
    return {name: getattr(row, name) for name in FIELDS[kind]}


def ref_of(kind: str, values: Mapping[str, Any]) -> str:
    """What a leaf's ``ref`` names for a reader of the leaves table: the record a record, event
    or audit entry belongs to, or else the purpose an audit entry concerns."""
    found = values.get("id") if kind == "record" else values.get("record_id")
    return str(found or values.get("purpose_id") or "")[:64]


def append(session: Session, kind: str, values: Mapping[str, Any]) -> int:
    """Append the leaf of a row of ``kind`` with column ``values``, in the session's
    transaction (the row is written in it after); returns the leaf index for its ``leaf``
    column. Takes the log's append lock until the transaction ends (consent.ledger.store)."""
    return store.append(session, kind, ref_of(kind, values), hash_of(kind, values))

"""The audit trail: every consent event, purpose change and admin action, appended to
``audit_events``. Who (actor type and id), what (action), when, from where (the channel and a
keyed hash of the client address, so the address itself is never stored) and which record or
purpose. Identifiers only: never a name, a user name or an address. Each entry is a leaf of the
tamper-evident audit log, appended in the transaction that writes it (consent.ledger.entries).

Where an entry comes from is asked of an origin function that the web layer registers
(:func:`set_origin`, consent.app); without one (the command line) it is None."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from consent.ledger import entries, store
from consent.models import AuditEntry
from core.db import Prebuilt, Write, utcnow


def address_hash(secret: bytes, address: str) -> str:
    """HMAC-SHA256 of a client address under ``secret``, truncated: lets an auditor see that
    two entries came from one address without storing the address."""
    return hmac.new(secret, f"audit\0{address}".encode(), hashlib.sha256).hexdigest()[:32]


# The address hash of the request being served, or None outside a request.
Origin = Callable[[], str | None]
_origin: list[Origin] = []


def set_origin(origin: Origin) -> None:
    """Where entries come from from now on (the web layer's request address hash)."""
    _origin[:] = [origin]


def origin() -> str | None:
    return _origin[0]() if _origin else None


# One entry, prebuilt with its own parameter names (audit_<column>), to go with another row.
COLUMNS = ("at", "actor_type", "actor_id", "action", "record_id", "purpose_id", "channel",
           "address_hash", "detail")  # fmt: skip
INSERT = Prebuilt(insert(AuditEntry), "audit", (*COLUMNS, "leaf"))
# PostgreSQL: the same, its leaf appended in the same statement, its index the ``leaf`` column.
_LEAF = store.APPEND_IN_DATABASE.cte("audit_leaf")
INSERT_WITH_LEAF = insert(AuditEntry).from_select(
    [*COLUMNS, "leaf"],
    select(
        *(bindparam(f"audit_{name}", type_=AuditEntry.__table__.c[name].type) for name in COLUMNS),
        _LEAF.c.idx,
    ),
)


def entry(
    *,
    actor_type: str,
    actor_id: str,
    action: str,
    channel: str,
    record_id: str | None = None,
    purpose_id: str | None = None,
    detail: dict | None = None,
) -> dict:
    """One entry's columns: who, what, when, from where (hashed) and which record or purpose."""
    return {
        "at": utcnow(),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "record_id": record_id,
        "purpose_id": purpose_id,
        "channel": channel,
        "address_hash": origin(),
        "detail": detail or {},
    }


def append(session: Session, **fields: Any) -> AuditEntry:
    """Add one entry (``fields`` as for entry; the caller commits with the change it
    describes)."""
    values = entry(**fields)
    values["leaf"] = entries.append(session, "audit", values)
    added = AuditEntry(**values)
    session.add(added)
    return added


def append_many(session: Session, many: list[dict[str, Any]]) -> None:
    """Add several entries (each ``fields`` as for entry) with their leaves in one append: an
    administrator's list, one entry per record it showed."""
    rows = [entry(**fields) for fields in many]
    if not rows:
        return
    start = store.extend(
        session, [("audit", entries.ref_of("audit", v), entries.hash_of("audit", v)) for v in rows]
    )
    for offset, values in enumerate(rows):
        values["leaf"] = start + offset
    session.execute(insert(AuditEntry), rows)


def row(session: Session, **fields: Any) -> Write:
    """One entry (``fields`` as for entry) as a prebuilt INSERT and its values, for a caller
    that writes it together with another row (core.db.insert_together). On PostgreSQL its leaf
    is appended by the same statement (consent.ledger.store.APPEND_IN_DATABASE); elsewhere now."""
    values = entry(**fields)
    if session.get_bind().dialect.name != "postgresql":
        values["leaf"] = entries.append(session, "audit", values)
        return INSERT.row(values)
    leaf = {
        "ledger_kind": "audit",
        "ledger_ref": entries.ref_of("audit", values),
        "ledger_leaf_hash": entries.hash_of("audit", values),
    }
    return INSERT_WITH_LEAF, {**{f"audit_{k}": v for k, v in values.items()}, **leaf}


def cli_actor() -> str:
    """The actor id of an administrator at the command line: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no name for the uid (a container)
        return "cli:unknown"


def admin_action(session: Session, action: str, *, detail: dict | None = None) -> AuditEntry:
    """An administrator's change made with the `digione` command (the caller commits)."""
    return append(
        session, actor_type="admin", actor_id=cli_actor(), action=action, channel="cli",
        detail=detail,
    )  # fmt: skip

"""The audit trail (issue 5): every consent event, purpose change and admin action, appended to
``audit_events``. Who (actor type and id), what (action), when, from where (the channel and a
keyed hash of the client address, so the address itself is never stored) and which record or
purpose. Identifiers only: never a name, a user name or an address. A later issue chains the
entries into a tamper-evident log (CONSENT.md)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, has_request_context, request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from consent.models import AuditEntry
from idp.db import Write, named, utcnow, with_names


def address_hash() -> str | None:
    """HMAC-SHA256 of the request's client address under the app's secret, truncated: lets
    an auditor see that two entries came from one address without storing the address."""
    if not has_request_context() or not request.remote_addr:
        return None
    key = str(current_app.secret_key or "").encode()
    return hmac.new(key, f"audit\0{request.remote_addr}".encode(), hashlib.sha256).hexdigest()[:32]


_COLUMNS = ("at", "actor_type", "actor_id", "action", "record_id", "purpose_id", "channel",
            "address_hash", "detail")  # fmt: skip
# One entry, prebuilt with its own parameter names (audit_<column>), to go with another row.
INSERT = with_names(insert(AuditEntry), "audit", _COLUMNS)


def row(
    *,
    actor_type: str,
    actor_id: str,
    action: str,
    channel: str,
    record_id: str | None = None,
    purpose_id: str | None = None,
    detail: dict | None = None,
) -> Write:
    """One entry as a prebuilt INSERT and its values, for a caller that writes it together
    with another row (idp.db.insert_together) and needs no object back."""
    values = (utcnow(), actor_type, actor_id, action, record_id, purpose_id, channel,
              address_hash(), detail or {})  # fmt: skip
    return INSERT, named("audit", dict(zip(_COLUMNS, values, strict=True)))


def append(
    session: Session,
    *,
    actor_type: str,
    actor_id: str,
    action: str,
    channel: str,
    record_id: str | None = None,
    purpose_id: str | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Add one entry (the caller commits with the change it describes)."""
    entry = AuditEntry(
        at=utcnow(),
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        record_id=record_id,
        purpose_id=purpose_id,
        channel=channel,
        address_hash=address_hash(),
        detail=detail or {},
    )
    session.add(entry)
    return entry


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

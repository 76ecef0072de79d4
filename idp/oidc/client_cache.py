"""Clients read once per change, not once per request: the token endpoint authenticates a
client on every call, and building the ORM object with its JSON metadata cost more than the
signature. Each lookup still asks the database for the row's ``updated_at`` (one indexed
column), so a secret rotated, metadata changed or a client removed in any process takes
effect at once; only an unchanged client is served from memory."""

from __future__ import annotations

import copy
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.oidc.models import Client

MAX_ENTRIES = 4096


class ClientCache:
    """Per process: client_id -> (updated_at, a detached copy of the client)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[datetime, Client]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, client_id: str) -> Client | None:
        stamp = session.scalar(select(Client.updated_at).where(Client.client_id == client_id))
        if stamp is None:
            with self._lock:
                self._entries.pop(client_id, None)
            return None
        hit = self._entries.get(client_id)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        row = session.get(Client, client_id)
        if row is None:
            return None
        detached = _copy(row)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = (row.updated_at, detached)
        return detached


def _copy(row: Client) -> Client:
    """A transient Client with the row's values: read-only use, never added to a session."""
    return Client(
        client_id=row.client_id,
        client_secret_hash=row.client_secret_hash,
        client_metadata=copy.deepcopy(row.client_metadata),
        registration_access_token_hash=row.registration_access_token_hash,
        client_id_issued_at=row.client_id_issued_at,
        updated_at=row.updated_at,
    )

"""Clients read once per change, not once per request: the token endpoint authenticates a
client on every call, and reading the row (and building the ORM object with its JSON metadata)
cost more than the signature.

A change made in this process (a secret rotated, metadata changed by RFC 7592 or the admin
API, a client removed) takes effect at once: every cache forgets the client when the session
that changed it commits. A change made in another process (the ``digione`` CLI, another
worker or server) takes effect within ``oidc.client_cache_seconds``: after that long an entry
is checked against the row's ``updated_at`` (one indexed column) before it is used again.
With ``client_cache_seconds = 0`` every lookup checks."""

from __future__ import annotations

import copy
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from idp.oidc.models import Client

MAX_ENTRIES = 4096
_CACHES: weakref.WeakSet[ClientCache] = weakref.WeakSet()
_CHANGED = "digione.changed_clients"  # session.info key: client ids flushed in the transaction


@dataclass
class _Entry:
    stamp: datetime
    client: Client
    checked: float  # monotonic time of the last check against the row


class ClientCache:
    """Per process: client_id -> a detached copy of the client, its updated_at and when it was
    last checked."""

    def __init__(self, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        _CACHES.add(self)

    def peek(self, client_id: str) -> Client | None:
        """The client if its copy was checked less than ``ttl`` ago, without asking the
        database; else None (get() then checks it)."""
        hit = self._entries.get(client_id)
        return hit.client if self._fresh(hit, self.clock()) else None

    def _fresh(self, hit: _Entry | None, now: float) -> bool:
        """Whether ``hit`` was checked against its row less than ``ttl`` ago."""
        return hit is not None and now - hit.checked < self.ttl

    def get(self, session: Session, client_id: str) -> Client | None:
        now = self.clock()
        hit = self._entries.get(client_id)
        if self._fresh(hit, now):
            return hit.client
        stamp = session.scalar(select(Client.updated_at).where(Client.client_id == client_id))
        if stamp is None:
            self.forget((client_id,))
            return None
        if hit is not None and hit.stamp == stamp:
            hit.checked = now
            return hit.client
        row = session.get(Client, client_id)
        if row is None:
            return None
        detached = _copy(row)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = _Entry(row.updated_at, detached, now)
        return detached

    def forget(self, client_ids: Iterable[str]) -> None:
        with self._lock:
            for client_id in client_ids:
                self._entries.pop(client_id, None)


def forget_everywhere(client_ids: Iterable[str]) -> None:
    """Drop ``client_ids`` from every cache of this process."""
    client_ids = list(client_ids)
    for cache in list(_CACHES):
        cache.forget(client_ids)


@event.listens_for(Session, "after_flush")
def _note_changed_clients(session: Session, _flush_context) -> None:
    changed = {
        obj.client_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, Client)
    }
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        forget_everywhere(changed)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


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

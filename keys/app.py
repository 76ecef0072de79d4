"""Flask wiring of the key store: the JWKS endpoint, :func:`key_store` for the current app and
:func:`keys_ready` for ``/readyz``.

Nothing touches the database or the master key when the app is created (an unmigrated database
must not stop ``create_app``). The first use in a process makes sure every use has an active and
a next key, and rotates keys that are due (``keys.auto_rotate``); after that at most once a minute.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.app import Slot, config_of
from core.db import db
from keys.envelope import load_master_key
from keys.material import ALL_USES
from keys.store import KeyStore

log = logging.getLogger("digione.keys")
bp = Blueprint("keys", __name__)
CHECK_EVERY = 60.0  # seconds between ensure()/rotate_due() runs in one process
RETRY_AFTER_FAILURE = 5.0
JWK_SET_TYPE = "application/jwk-set+json"  # RFC 7517 section 8.5.1


class _KeysState:
    """Per app: the master key (loaded once), one KeyStore on ``db.session``, and when the
    maintenance (ensure and rotate_due) runs next."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._store: KeyStore | None = None
        self._store_lock = threading.Lock()
        self._maintain_lock = threading.Lock()
        self._next_check = 0.0
        self._maintained = False

    def store(self) -> KeyStore:
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    settings = config_of(self.app).settings
                    master = load_master_key(settings, Path(self.app.instance_path))
                    self._store = KeyStore(
                        db.session, master, settings.keys, issuer=settings.server.issuer
                    )
        return self._store

    def due(self) -> bool:
        """Whether maintain() has work to do (or to try again) now."""
        return time.monotonic() >= self._next_check

    def maintain(self) -> None:
        """ensure() and, with auto_rotate, rotate_due(), in a session of their own so that a
        request's pending work is never committed by them. The first run blocks other callers;
        later runs are skipped by callers that find one in progress."""
        if not self.due():
            return
        if not self._maintain_lock.acquire(blocking=not self._maintained):
            return
        try:
            if time.monotonic() < self._next_check:
                return
            store = self.store()
            with Session(db.engine) as session:
                writer = store.bound_to(session)
                writer.ensure()
                rotated = writer.rotate_due() if store.settings.auto_rotate else []
            if rotated:
                log.info("signing keys rotated by age", extra={"event": {"uses": rotated}})
            self._maintained = True
            self._next_check = time.monotonic() + CHECK_EVERY
        except SQLAlchemyError as exc:  # e.g. the database is not migrated yet
            log.warning(
                "signing key maintenance failed", extra={"event": {"error": type(exc).__name__}}
            )
            self._next_check = time.monotonic() + RETRY_AFTER_FAILURE
        finally:
            self._maintain_lock.release()


KEYS: Slot[_KeysState] = Slot("digione.keys")


def init_app(app: Flask) -> None:
    """Register the JWKS endpoint; keys are loaded lazily, on first use."""
    state = KEYS.put(app, _KeysState(app))
    app.register_blueprint(bp)

    @app.before_request
    def _maintain_keys() -> None:
        """Upkeep before the request writes anything: on SQLite a second writer would wait
        for the request's own transaction."""
        if request.endpoint not in ("health.healthz", "static"):
            state.maintain()


def key_store(maintain: bool = True) -> KeyStore:
    """The current app's KeyStore (on the request-scoped ``db.session``). Unless ``maintain`` is
    False, first makes sure keys exist and rotates due ones (at most once a minute)."""
    state = KEYS.current()
    if maintain:
        state.maintain()
    return state.store()


def keys_ready() -> bool:
    """True when every use has an active key whose private half unseals with the master key."""
    try:
        store = key_store()
        for use in ALL_USES:
            store.active(use)
    except Exception as exc:  # not ready, whatever the reason; the reason is logged, not shown
        if isinstance(exc, SQLAlchemyError):
            db.session.rollback()
        log.warning("signing keys not ready", extra={"event": {"error": type(exc).__name__}})
        return False
    return True


@bp.get("/.well-known/jwks.json")
@bp.get("/jwks.json")
def jwks() -> Response:
    """The public JWK Set (RFC 7517 section 5) of the OpenID Connect signing keys."""
    try:
        body = key_store().public_jwks()
    except SQLAlchemyError:
        db.session.rollback()
        response = jsonify(error="temporarily_unavailable")
        response.status_code = 503
        response.headers["Retry-After"] = str(int(RETRY_AFTER_FAILURE))
        response.headers["Cache-Control"] = "no-store"
        return response
    mimetype = request.accept_mimetypes.best_match(["application/json", JWK_SET_TYPE])
    response = current_app.response_class(
        json.dumps(body, separators=(",", ":")), mimetype=mimetype or "application/json"
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response

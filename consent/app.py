"""Wires consent into the Flask app: the guardian's pages, the services' consent API, the
admin API and the audit log's public face; on the OP, the RFC 8693 token-exchange grant and
the check that a consent-bound token's consent is still active; the receiver of federation's
``custody_changed``; and the request's address hash for the audit trail. The OP and
federation do not import consent: consent registers itself here."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, has_request_context, request

from consent import audit
from core.app import add_account_links, add_notice
from core.db import db
from federation.signals import custody_changed
from idp.oidc import OIDC

log = logging.getLogger("digione.audit")


def request_origin() -> str | None:
    """The audit trail's origin of an entry made while serving a request: the client
    address, hashed under the app's secret (consent.audit.address_hash)."""
    if not has_request_context() or not request.remote_addr:
        return None
    return audit.address_hash(str(current_app.secret_key or "").encode(), request.remote_addr)


def init_app(app: Flask) -> None:
    from consent import (
        admin_api,
        api,
        console,
        console_export,
        console_purposes,
        console_stats,
        pages,
    )
    from consent.exchange import TokenExchangeGrant
    from consent.ledger import api as ledger_api
    from consent.records import on_custody_changed, token_consent_active

    op = OIDC.of(app)
    op.register_grant(TokenExchangeGrant)
    op.register_token_check(token_consent_active)
    custody_changed.connect(on_custody_changed)  # process-wide; connecting again is a no-op
    audit.set_origin(request_origin)  # process-wide too; reads the serving app's secret
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(console_export.bp)
    app.register_blueprint(console_purposes.bp)
    app.register_blueprint(console_stats.bp)
    add_account_links(app, console.account_links)
    app.register_blueprint(ledger_api.bp)
    _log_upkeep(app)


def _log_upkeep(app: Flask) -> None:
    """Checkpoints every ``audit.checkpoint_seconds`` and the witness (consent.ledger.upkeep),
    before requests as the keys' upkeep; /readyz reports the witness."""
    from consent.ledger.upkeep import UPKEEP, LogUpkeep

    upkeep = UPKEEP.put(app, LogUpkeep(app))
    add_notice(app, "audit_witness", lambda: upkeep.witness_state(db.session))
    if upkeep.witness is None:
        log.warning("audit.witness_file is empty: the audit log's checkpoints have no witness")

    statistics = StatsUpkeep()

    @app.before_request
    def _checkpoint() -> None:
        if request.endpoint in ("health.healthz", "static"):
            return
        if upkeep.due():
            upkeep.run()
        if statistics.due():
            statistics.run()


class StatsUpkeep:
    """The statistics of finished days, aggregated an hour apart at most, a week of days at a
    time (a long history: `digione stats aggregate`), before a request as the log's upkeep."""

    SECONDS = 3600
    DAYS = 7

    def __init__(self) -> None:
        self._next = 0.0
        self._lock = threading.Lock()

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def run(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.orm import Session

        from consent import stats
        from core.db import utcnow

        if not self._lock.acquire(blocking=False):
            return
        try:
            self._next = time.monotonic() + self.SECONDS
            with Session(db.engine) as session:
                stats.catch_up(session, utcnow(), max_days=self.DAYS)
                session.commit()
        except SQLAlchemyError as exc:  # e.g. not migrated yet: try again in an hour
            log.warning("statistics not aggregated", extra={"event": {"error": type(exc).__name__}})
        finally:
            self._lock.release()

"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from core.app import NOTICES
from core.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and the signing keys are loaded; 503 otherwise. ``notices`` say
    how the parts stand that do not stop the broker serving (the audit log's witness)."""
    from keys.app import keys_ready

    checks = {"database": False, "keys": False}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = True
        checks["keys"] = keys_ready()
    except Exception:  # any failure means not ready; the reason is logged, not shown
        import logging

        logging.getLogger("digione.health").exception("readiness check failed")
        db.session.rollback()
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    if ready:
        states = current_app.extensions.get(NOTICES.name, {})
        body["notices"] = {name: _asked(state) for name, state in states.items()}
    return jsonify(body), 200 if ready else 503


def _asked(state) -> str:
    try:
        return state()
    except Exception:  # a notice never fails the probe; the reason is logged
        import logging

        logging.getLogger("digione.health").exception("readiness notice failed")
        db.session.rollback()
        return "unknown"

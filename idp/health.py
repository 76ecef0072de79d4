"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from core.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and the signing keys are loaded; 503 otherwise."""
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
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503

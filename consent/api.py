"""The services' consent API (placeholder: being written)."""

from __future__ import annotations

from flask import Blueprint

from idp.security import csrf

bp = Blueprint("consent_api", __name__, url_prefix="/consent/api")
csrf.exempt(bp)

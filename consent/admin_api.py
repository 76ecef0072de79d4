"""The admin API for purposes (placeholder: being written)."""

from __future__ import annotations

from flask import Blueprint

from idp.security import csrf

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
csrf.exempt(bp)

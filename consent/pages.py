"""The guardian's consent pages (placeholder: being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("consent_pages", __name__)

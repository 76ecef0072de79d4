"""Request-scoped helpers for the sign-in pages."""

from __future__ import annotations

from flask_babel import get_locale

from core.app import config
from core.db import db
from core.settings.schema import CitySettings
from federation.connector import Environment
from keys.app import key_store


def city_name(city: CitySettings) -> str:
    """The city's name in the page's language."""
    return getattr(city.name, str(get_locale() or "fi"))


def directories() -> Environment:
    """What the cities' connectors may use while serving this request."""
    cfg = config()
    settings = cfg.settings
    return Environment(
        db.session, settings.server.issuer, settings.passwords, key_store, cfg.production
    )

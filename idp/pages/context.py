"""Request-scoped helpers for the pages: configuration, the signed-in session, safe redirects."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import get_locale

from core.app import config_of
from core.db import db
from core.settings import Config
from core.settings.schema import CitySettings
from idp.sso import session as sso
from idp.sso.models import SsoSession


def config() -> Config:
    return config_of(current_app)


def city_name(city: CitySettings) -> str:
    return getattr(city.name, str(get_locale() or "fi"))


def signed_in() -> SsoSession | None:
    """The live SSO session of this browser, looked up once per request."""
    if "sso" not in g:
        settings = config().settings.session
        g.sso = sso.current(db.session, request.cookies.get(settings.cookie_name), settings)
    return g.sso

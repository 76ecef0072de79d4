"""The single sign-on session of the browser making the current request."""

from __future__ import annotations

from flask import g, request

from core.app import config
from core.db import db
from idp.sso import session as sso
from idp.sso.models import SsoSession


def signed_in() -> SsoSession | None:
    """The live SSO session of this browser, looked up once per request."""
    if "sso" not in g:
        settings = config().settings.session
        g.sso = sso.current(db.session, request.cookies.get(settings.cookie_name), settings)
    return g.sso

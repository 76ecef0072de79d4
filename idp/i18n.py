"""Finnish (default), Swedish and English pages with Flask-Babel.

The language is, in order: a ``lang`` query parameter (the switch on every page, kept in the
session), the earlier choice, the browser's Accept-Language, the configured default.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, request, session, url_for
from flask_babel import Babel, get_locale, lazy_gettext

from core.security import safe_next

LOCALES = ("fi", "sv", "en")
LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
ROLE_NAMES = {
    "learner": lazy_gettext("Pupil"),
    "teacher": lazy_gettext("Teacher"),
    "staff": lazy_gettext("Staff"),
    "principal": lazy_gettext("Principal"),
    "guardian": lazy_gettext("Guardian"),
}
babel = Babel()


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LOCALES:
        return session["lang"]
    best = request.accept_languages.best_match(LOCALES)
    if best:
        return best
    from core.app import config_of

    return config_of(current_app).settings.ui.default_locale


def lang_url(code: str) -> str:
    """This page's address in another language, keeping its other query parameters. The
    query is appended as it came (url_for is given only the route's own arguments: a query
    parameter named ``endpoint`` or ``_external`` is data, not an argument of url_for)."""
    args = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    args = [(name, value) for name, value in args if name != "next" or safe_next(value)]
    query = urlencode([*args, ("lang", code)], safe="/:")
    if request.endpoint and request.url_rule and "GET" in (request.url_rule.methods or ()):
        return url_for(request.endpoint, **(request.view_args or {})) + "?" + query
    return "?" + query


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_domain="messages")
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        ROLE_NAMES=ROLE_NAMES,
        get_locale=get_locale,
        lang_url=lang_url,
    )

"""Home-city chooser and the city's sign-in form."""

from __future__ import annotations

import logging

from flask import (
    abort,
    current_app,
    make_response,
    render_template,
    request,
)

from core.app import config
from core.db import db
from core.security import allow_form_targets, safe_next
from federation.connector import (
    AccountLocked,
    DirectoryUnavailable,
    PasswordConnector,
    RedirectConnector,
    connector_for,
)
from idp.signin import bp, device
from idp.signin.complete import ACR_PASSWORD, complete_sign_in
from idp.signin.context import city_name, directories
from idp.signin.throttle import Throttle
from idp.signin.upstream import begin_upstream
from idp.sso.browser import signed_in
from idp.sso.frontends import form_targets

log = logging.getLogger("digione.signin")


LAST_CITY_COOKIE = "digione_city"


def _matches(city, query: str) -> bool:
    """A city matches a search in any of its languages, its slug or its municipality code."""
    names = (city.name.fi, city.name.sv, city.name.en, city.slug, city.municipality_code)
    return any(query in name.casefold() for name in names)


@bp.get("/")
def chooser():
    query = request.args.get("q", "").strip().casefold()[:50]
    cities = sorted(config().cities.values(), key=city_name)
    last = config().cities.get(request.cookies.get(LAST_CITY_COOKIE, ""))
    if query:
        cities = [city for city in cities if _matches(city, query)]
    return render_template(
        "chooser.html",
        cities=cities,
        last=None if query else last,
        query=request.args.get("q", "")[:50],
        city_name=city_name,
        sso=signed_in(),
        next=safe_next(request.args.get("next")),
    )


@bp.route("/login/<slug>", methods=["GET", "POST"])
def login(slug: str):
    cfg = config()
    city = cfg.cities.get(slug)
    if city is None:
        abort(404)
    next_url = safe_next(request.values.get("next"))
    connector = connector_for(city, directories())
    if isinstance(connector, RedirectConnector):
        return begin_upstream(slug, connector, next_url)
    error, status, username = None, 200, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")[:1024]
        throttle = Throttle(db.session, current_app.config["SECRET_KEY"], cfg.settings.login)
        known = device.nonce_for(request, slug, username)
        keys = throttle.keys(slug, username, request.remote_addr or "", device=known)
        wait = throttle.wait_seconds(keys)
        if wait:
            error, status = ("wait", wait), 429
        elif not username or not password:
            error, status = ("missing", 0), 400
        else:
            assert isinstance(connector, PasswordConnector)
            try:
                identity = connector.authenticate(username, password)
            except AccountLocked:
                identity, error, status = None, ("locked", 0), 403
            except DirectoryUnavailable:
                log.warning("directory unavailable", extra={"event": {"city": slug}})
                identity, error, status = None, ("unavailable", 0), 503
            if identity is None and error is None:
                db.session.rollback()
                throttle.failed(keys)
                log.info("sign-in failed", extra={"event": {"city": slug}})
                error, status = ("invalid", 0), 401
            elif identity is not None:
                return _signed_in(slug, username, identity, throttle, keys, next_url)
    response = make_response(
        render_template(
            "login.html",
            city=city,
            city_name=city_name,
            error=error,
            username=username,
            next=next_url,
        ),
        status,
    )
    if status == 429:
        response.headers["Retry-After"] = str(error[1])
    # The sign-in ends at the service's redirect URI: CSP form-action must allow it there.
    return allow_form_targets(response, form_targets(next_url))


def _signed_in(slug, username, identity, throttle, keys, next_url):
    throttle.succeeded(keys)
    response = complete_sign_in(slug, identity, next_url, acr=ACR_PASSWORD, amr=["pwd"])
    return device.remember(response, request, slug, username)


def remember_city(response, slug: str):
    """The device remembers the last city chosen (a year; not personal data: a city slug)."""
    response.set_cookie(
        LAST_CITY_COOKIE,
        slug,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response

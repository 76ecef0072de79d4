"""Home-city chooser and the city's sign-in form."""

from __future__ import annotations

import logging

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from federation.accounts import provision
from federation.connector import (
    AccountLocked,
    DirectoryUnavailable,
    PasswordConnector,
    connector_for,
)
from idp.db import db
from idp.login.throttle import Throttle
from idp.pages import bp
from idp.pages.context import city_name, config, signed_in
from idp.security import safe_next
from idp.sso import session as sso

log = logging.getLogger("digione.signin")
ACR_PASSWORD = "urn:digione:loa:password"


@bp.get("/")
def chooser():
    cities = sorted(config().cities.values(), key=city_name)
    return render_template(
        "chooser.html",
        cities=cities,
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
    error, status, username = None, 200, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")[:1024]
        throttle = Throttle(db.session, current_app.config["SECRET_KEY"], cfg.settings.login)
        keys = throttle.keys(slug, username, request.remote_addr or "")
        wait = throttle.wait_seconds(keys)
        if wait:
            error, status = ("wait", wait), 429
        elif not username or not password:
            error, status = ("missing", 0), 400
        else:
            connector = connector_for(city, db.session, cfg.settings)
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
                return _signed_in(cfg, slug, identity, throttle, keys, next_url)
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
    return response


def _signed_in(cfg, slug, identity, throttle, keys, next_url):
    link = provision(db.session, identity)
    throttle.succeeded(keys)
    settings = cfg.settings.session
    token = sso.start(
        db.session,
        link,
        settings,
        acr=ACR_PASSWORD,
        amr=["pwd"],
        replaces=request.cookies.get(settings.cookie_name),
    )
    db.session.commit()
    log.info("signed in", extra={"event": {"city": slug}})
    lang = session.get("lang")
    session.clear()  # a new CSRF token after sign-in
    if lang:
        session["lang"] = lang
    response = redirect(next_url or url_for("pages.me"))
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=settings.lifetime_minutes * 60,
        secure=cfg.settings.server.mode != "development",
        httponly=True,
        samesite="Lax",
    )
    return response

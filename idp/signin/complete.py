"""The end of every successful sign-in, whatever the directory: provision the person, open a
fresh single sign-on session (new token, new CSRF token) and go on."""

from __future__ import annotations

import logging

from flask import current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from core.app import config
from core.db import db
from federation.accounts import provision_once_more
from federation.profile import Identity
from idp.sso import session as sso
from idp.sso.counts import count_sign_in, service_of

log = logging.getLogger("digione.signin")
ACR_PASSWORD = "urn:digione:loa:password"
ACR_FEDERATED = "urn:digione:loa:federated"


def complete_sign_in(
    slug: str, identity: Identity, next_url: str | None, *, acr: str, amr: list[str]
) -> Response:
    cfg = config()
    link = provision_once_more(db.session, identity)
    settings = cfg.settings.session
    token = sso.start(
        db.session,
        link,
        settings,
        acr=acr,
        amr=amr,
        replaces=request.cookies.get(settings.cookie_name),
    )
    count_sign_in(db.session, slug, cfg.cities[slug].directory.type, service_of(next_url))
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
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    from idp.signin.form import remember_city

    return remember_city(response, slug)

"""The second factor (/second-factor): a person signed in with a password whose next page asks
for a multi-factor sign-in (the administrators' console) enters the code of their
authenticator app (idp.signin.totp). Accepted, the single sign-on session's ``amr`` gains
``otp`` and ``mfa`` (RFC 8176) and the person goes on; wrong codes are throttled as wrong
passwords are."""

from __future__ import annotations

import logging

from flask import current_app, make_response, redirect, render_template, request, url_for

from core.app import config
from core.db import db
from core.security import safe_next
from idp.signin import bp, totp
from idp.signin.throttle import Throttle
from idp.sso.browser import signed_in
from idp.sso.factors import MFA, has_second_factor
from keys.app import key_store

log = logging.getLogger("digione.signin")


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor():
    next_url = safe_next(request.values.get("next")) or url_for("pages.me")
    current = signed_in()
    if current is None:
        return redirect(url_for("pages.chooser", next=request.full_path.rstrip("?")))
    if has_second_factor(current.amr):
        return redirect(next_url)
    if not totp.enrolled(db.session, current.person_id):
        return make_response(render_template("second_factor.html", enrolled=False), 403)
    error, status = None, 200
    if request.method == "POST":
        throttle = Throttle(db.session, current_app.config["SECRET_KEY"], config().settings.login)
        keys = throttle.keys("second-factor", current.person_id, request.remote_addr or "")
        wait = throttle.wait_seconds(keys)
        if wait:
            error, status = ("wait", wait), 429
        elif totp.verify(db.session, key_store(), current.person_id, request.form.get("code", "")):
            current.amr = sorted({*(current.amr or []), "otp", MFA})
            throttle.succeeded(keys)
            db.session.commit()
            log.info("second factor accepted", extra={"event": {"city": current.city}})
            return redirect(next_url, 303)
        else:
            db.session.rollback()
            throttle.failed(keys)
            log.info("second factor refused", extra={"event": {"city": current.city}})
            error, status = ("invalid", 0), 401
    response = make_response(
        render_template("second_factor.html", enrolled=True, error=error, next=next_url), status
    )
    if status == 429:
        response.headers["Retry-After"] = str(error[1])
    return response

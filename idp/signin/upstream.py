"""Signing in at a city's SAML or OpenID Connect directory (a RedirectConnector).

1. ``begin_upstream``: a random handle travels to the directory (RelayState / state); what the
   connector must remember is parked server-side under it, with a hash of a browser binding
   kept in this browser's session.
2. ``/federation/<city>/callback``: the directory's answer (a cross-site POST for SAML, so no
   SameSite=Lax cookies) is checked by the connector and parked.
3. ``/federation/<city>/resume``: a same-site request, where the session's binding proves that
   this browser started the sign-in (no login CSRF); then the sign-in completes.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import (
    Response,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import delete

from core.app import config
from core.db import db, utcnow
from core.hashing import sha256_hex
from core.security import auto_post, csrf
from federation.connector import (
    DirectoryUnavailable,
    MetadataConnector,
    RedirectConnector,
    UpstreamRejected,
    connector_for,
)
from federation.profile import identity_from_dict, identity_to_dict
from idp.signin import bp
from idp.signin.complete import ACR_FEDERATED, complete_sign_in
from idp.signin.context import directories
from idp.signin.models import UpstreamLogin
from idp.sso.factors import MFA, multi_factor

log = logging.getLogger("digione.upstream")
LIFETIME = timedelta(minutes=10)


def callback_url(slug: str) -> str:
    issuer = config().settings.server.issuer.rstrip("/")
    return f"{issuer}/federation/{slug}/callback"


def _page(title: str, detail: str, status: int):
    return render_template("error.html", status=status, title=title, detail=detail), status


def _unavailable():
    return _page(
        _("Your city's sign-in cannot be reached right now"),
        _("Try again in a few minutes; if it still fails, contact your school's IT support."),
        503,
    )


def begin_upstream(slug: str, connector: RedirectConnector, next_url: str | None) -> Response:
    now = utcnow()
    db.session.execute(delete(UpstreamLogin).where(UpstreamLogin.expires_at < now))
    handle, binding = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    try:
        target, state = connector.start(callback_url(slug), handle)
    except DirectoryUnavailable:
        log.warning("directory unavailable", extra={"event": {"city": slug}})
        return _unavailable()
    db.session.add(
        UpstreamLogin(
            handle=handle,
            city=slug,
            binding_hash=sha256_hex(binding),
            connector_state=state,
            next_url=next_url,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    db.session.commit()
    session["upstream_binding"] = binding
    if not target.form:
        return redirect(target.url)
    return auto_post(target.url, target.form)


def _pending(slug: str, handle: str | None) -> UpstreamLogin | None:
    row = db.session.get(UpstreamLogin, handle) if handle and len(handle) <= 64 else None
    if row is None or row.city != slug or row.expires_at <= utcnow():
        return None
    return row


def _expired():
    return _page(
        _("This sign-in has expired"),
        _("It took too long or was already used. Start again from the service."),
        400,
    )


@bp.route("/federation/<slug>/callback", methods=["GET", "POST"])
@csrf.exempt
def upstream_callback(slug: str):
    city = config().cities.get(slug)
    if city is None:
        abort(404)
    row = _pending(slug, request.values.get("RelayState") or request.values.get("state"))
    if row is None or row.identity is not None:
        return _expired()
    connector = connector_for(city, directories())
    if not isinstance(connector, RedirectConnector):
        abort(404)
    try:
        identity = connector.finish(request.values, row.connector_state, callback_url(slug))
    except UpstreamRejected as exc:
        log.warning("upstream answer refused", extra={"event": {"city": slug, "reason": str(exc)}})
        db.session.delete(row)
        db.session.commit()
        return _page(
            _("Sign-in through your city did not succeed"),
            _("Start again from the service. If it keeps failing, ask your school's IT support."),
            400,
        )
    except DirectoryUnavailable:
        log.warning("directory unavailable", extra={"event": {"city": slug}})
        return _unavailable()
    row.identity = identity_to_dict(identity)
    db.session.commit()
    return redirect(url_for("pages.upstream_resume", slug=slug, handle=row.handle), 303)


@bp.get("/federation/<slug>/resume")
def upstream_resume(slug: str):
    row = _pending(slug, request.args.get("handle"))
    binding = session.pop("upstream_binding", None)
    if row is None or row.identity is None or not binding:
        return _expired()
    if not secrets.compare_digest(sha256_hex(binding), row.binding_hash):
        log.warning("upstream sign-in resumed by another browser", extra={"event": {"city": slug}})
        return _expired()
    identity, next_url = identity_from_dict(row.identity), row.next_url
    db.session.delete(row)
    city = config().cities[slug]
    strong = multi_factor(identity.authn_amr, identity.authn_acr, city.second_factor_acr)
    return complete_sign_in(
        slug, identity, next_url, acr=ACR_FEDERATED, amr=[MFA] if strong else []
    )


@bp.get("/federation/<slug>/metadata")
def upstream_metadata(slug: str):
    """The broker's metadata for the city's directory (SAML SP metadata)."""
    city = config().cities.get(slug)
    if city is None:
        abort(404)
    connector = connector_for(city, directories())
    if not isinstance(connector, MetadataConnector):
        abort(404)
    content_type, document = connector.metadata(callback_url(slug))
    return Response(document, content_type=content_type)

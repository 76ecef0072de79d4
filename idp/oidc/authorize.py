"""The authorization endpoint (RFC 6749 4.1.1, OIDC Core 3.1.2): validate, sign the person in
through their city if needed, ask approval for scopes that need it, then redirect with a code.

Errors go back to the client only when its redirect URI is registered and exact (RFC 6749
4.1.2.1); otherwise the person gets a readable page. Every redirect carries ``iss``
(RFC 9207) and ``state``.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import (
    Blueprint,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from core.app import config
from core.db import db, utcnow
from core.security import allow_form_targets, auto_post, csrf
from idp.oidc import oidc
from idp.oidc.access import read_id_token_hint
from idp.oidc.models import Approval
from idp.oidc.tokens import Authentication
from idp.sso.browser import signed_in

bp = Blueprint("oidc_authorize", __name__, url_prefix="/oidc")
csrf.exempt(bp)  # a client's POSTed authorization request is cross-site by design
PROMPTS = {"none", "login", "consent", "select_account"}
RESTART_DROPS = ("prompt", "max_age", "id_token_hint")  # satisfied by the sign-in just made


class AuthorizeError(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


def _server():
    return oidc().server


def _provider():
    return oidc().provider


def _finish(redirect_uri: str, params: dict, mode: str | None):
    """Send the result to the client: query redirect, or a self-posting form (form_post)."""
    params = {k: v for k, v in params.items() if v is not None}
    params["iss"] = _provider().issuer
    if mode == "form_post":
        return auto_post(redirect_uri, params)
    return redirect(add_params_to_uri(redirect_uri, list(params.items())), 302)


def client_redirect_for(next_url: str | None) -> str | None:
    """The registered redirect URI an authorization request in ``next_url`` will end at, so a
    sign-in page leading there may allow it as a form target (CSP form-action)."""
    if not next_url:
        return None
    parts = urlsplit(next_url)
    if parts.path != url_for("oidc_authorize.authorize"):
        return None
    params = MultiDict(parse_qsl(parts.query))
    client = _server().query_client(params.get("client_id", ""))
    if client is None:
        return None
    uri = params.get("redirect_uri") or client.get_default_redirect_uri()
    return uri if uri and client.check_redirect_uri(uri) else None


def _error_page(description: str, status: int = 400):
    return (
        render_template(
            "error.html",
            status=status,
            title=_("The service's sign-in request is not valid"),
            detail=_("Tell the service's support what went wrong: %(reason)s", reason=description),
        ),
        status,
    )


def _authentication() -> Authentication | None:
    current = signed_in()
    if current is None:
        return None
    return Authentication(
        person=current.person,
        sid=current.sid,
        auth_time=current.auth_time,
        acr=current.acr,
        amr=list(current.amr or []),
    )


def _check_parameters(params) -> tuple[set[str], dict | None, int | None]:
    for name in params:
        if len(params.getlist(name)) > 1:
            raise AuthorizeError("invalid_request", f"The parameter '{name}' is repeated.")
    if "request" in params:
        raise AuthorizeError("request_not_supported", "Request objects are not supported.")
    if "request_uri" in params:
        raise AuthorizeError("request_uri_not_supported", "request_uri is not supported.")
    if not params.get("code_challenge"):
        raise AuthorizeError("invalid_request", "PKCE is required: send code_challenge (S256).")
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeError("invalid_request", "code_challenge_method must be S256.")
    if params.get("response_mode", "query") not in ("query", "form_post"):
        raise AuthorizeError("invalid_request", "response_mode must be query or form_post.")
    prompts = set((params.get("prompt") or "").split())
    if prompts - PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise AuthorizeError("invalid_request", "The prompt parameter is not valid.")
    claims = None
    if params.get("claims"):
        try:
            claims = json.loads(params["claims"])
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise AuthorizeError("invalid_request", "The claims parameter must be a JSON object.")
    max_age = None
    if params.get("max_age") is not None:
        try:
            max_age = int(params["max_age"])
        except ValueError:
            max_age = -1
        if max_age < 0:
            raise AuthorizeError("invalid_request", "max_age must be a whole number of seconds.")
    return prompts, claims, max_age


def _login_redirect(params):
    """To the person's city sign-in (or the chooser), then back here without the parameters
    that asked for the sign-in."""
    query = [(k, v) for k in params for v in params.getlist(k) if k not in RESTART_DROPS]
    back = url_for("oidc_authorize.authorize") + "?" + urlencode(query)
    city = _city_from_hint(params.get("login_hint")) or _city_from_hint(params.get("city"))
    if city:
        return redirect(url_for("pages.login", slug=city, next=back))
    return redirect(url_for("pages.chooser", next=back))


def _city_from_hint(hint: str | None) -> str | None:
    """login_hint as a city slug or an e-mail address in a domain a city lists."""
    if not hint:
        return None
    cities = config().cities
    if hint in cities:
        return hint
    domain = hint.rpartition("@")[2].lower()
    for slug, city in cities.items():
        if domain in city.email_domains:
            return slug
    return None


def _hint_matches(hint: str, auth: Authentication, client) -> bool:
    """id_token_hint (Core 3.1.2.1): one of our ID tokens (expired ones too) issued to this
    client for this person."""
    claims = read_id_token_hint(hint, _provider().issuer, audience=client.client_id)
    if claims is None:
        return False
    return claims.get("sub") == _provider().minter().subject(auth.person, client)


def _needs_approval(
    auth: Authentication, client, scopes: list[str], prompts: set[str]
) -> list[str]:
    wanted = [s for s in client.client_metadata.get("approval_scopes", []) if s in scopes]
    if not wanted:
        return []
    if "consent" in prompts:
        return wanted
    approval = (
        db.session.query(Approval)
        .filter_by(person_id=auth.person.id, client_id=client.client_id)
        .one_or_none()
    )
    granted = set(approval.scopes) if approval else set()
    return [s for s in wanted if s not in granted]


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    params = request.values
    auth = _authentication()
    server = _server()
    try:
        grant = server.get_consent_grant(end_user=auth)
    except OAuth2Error as error:
        if error.redirect_uri:
            mode = params.get("response_mode")
            body = dict(error.get_body())
            body["state"] = params.get("state")
            return _finish(error.redirect_uri, body, mode)
        return _error_page(error.get_error_description() or error.error)
    except ValueError:
        # Authlib could not build its error: RFC 6749 section 4.1.2.1 keeps `"` and `\` out of
        # an error_description, which it would have quoted from the request
        return _error_page("a parameter has characters that are not allowed")
    client, redirect_uri = grant.client, grant.redirect_uri
    mode, state = params.get("response_mode"), params.get("state")
    try:
        prompts, claims, max_age = _check_parameters(params)
        ui = [
            loc for loc in (params.get("ui_locales") or "").split() if loc[:2] in ("fi", "sv", "en")
        ]
        if ui and "lang" not in session:
            session["lang"] = ui[0][:2]
        fresh = auth is not None and (
            max_age is None or (utcnow() - auth.auth_time).total_seconds() <= max_age
        )
        if fresh and params.get("id_token_hint"):
            fresh = _hint_matches(params["id_token_hint"], auth, client)
        if not fresh or prompts & {"login", "select_account"}:
            if "none" in prompts:
                raise AuthorizeError("login_required", "The person is not signed in.")
            return _login_redirect(params)
        scopes = (grant.request.scope or "").split()
        pending = _needs_approval(auth, client, scopes, prompts)
        if pending:
            if "none" in prompts:
                raise AuthorizeError("consent_required", "The person has not approved this.")
            return allow_form_targets(
                make_response(_approval_page(client, pending, params)), [redirect_uri]
            )
    except AuthorizeError as error:
        body = {"error": error.error, "error_description": error.description, "state": state}
        return _finish(redirect_uri, body, mode)
    grant.request.user = auth
    grant.request.claims_request = claims
    code = grant.generate_authorization_code()
    grant.save_authorization_code(code, grant.request)  # with the client's place in the session
    db.session.commit()
    return _finish(redirect_uri, {"code": code, "state": state}, mode)


def _approval_page(client, scopes: list[str], params):
    query = urlencode([(k, v) for k in params for v in params.getlist(k) if k != "prompt"])
    return render_template("approve.html", client=client, scopes=scopes, query=query)


@bp.post("/approve")
def approve():
    """The approval page's answer. CSRF is checked here (the blueprint is exempt for
    cross-site authorization requests); a refusal goes back to the client as access_denied."""
    csrf.protect()
    auth = _authentication()
    query = request.form.get("query", "")
    params = MultiDict(parse_qsl(query, keep_blank_values=True))
    target = url_for("oidc_authorize.authorize") + "?" + query
    client = _server().query_client(params.get("client_id", ""))
    if auth is None or client is None:
        return redirect(target)
    if request.form.get("decision") != "allow":
        redirect_uri = params.get("redirect_uri") or client.get_default_redirect_uri()
        if not redirect_uri or not client.check_redirect_uri(redirect_uri):
            return _error_page(_("The service's address is not registered."))
        body = {"error": "access_denied", "state": params.get("state")}
        return _finish(redirect_uri, body, params.get("response_mode"))
    asked = set(client.client_metadata.get("approval_scopes", []))
    scopes = [s for s in request.form.getlist("scope") if s in asked]
    approval = db.session.query(Approval).filter_by(
        person_id=auth.person.id, client_id=client.client_id
    ).one_or_none() or Approval(person_id=auth.person.id, client_id=client.client_id, scopes=[])
    approval.scopes = sorted(set(approval.scopes or []) | set(scopes))
    approval.granted_at = utcnow()
    db.session.add(approval)
    db.session.commit()
    return redirect(target)

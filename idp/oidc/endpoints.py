"""Token (RFC 6749 3.2), userinfo (OIDC Core 5.3), introspection (RFC 7662) and revocation
(RFC 7009) endpoints. Errors are OAuth JSON errors, never pages; responses are not cached."""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from flask import Blueprint, Response, jsonify, request

from core.db import commit_begun, db
from core.security import csrf
from idp.oidc import oidc
from idp.oidc.bearer import BearerGuard
from idp.oidc.claims import claims_for

bp = Blueprint("oidc_api", __name__, url_prefix="/oidc")
csrf.exempt(bp)
# Parameters that later specifications let a client repeat: RFC 8707 section 2 (resource),
# RFC 8693 section 2.1 (audience; the token exchange judges how many it takes).
MAY_REPEAT = frozenset({"resource", "audience"})
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.:-]")  # a parameter's name, as quoted in an error
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Userinfo (Core 5.3) takes an access token for the issuer that a person signed in for, with
# openid, as a Bearer header or form parameter (RFC 6750 sections 2.1, 2.2).
USERINFO = BearerGuard(
    scopes=("openid",),
    holder="person",
    form=True,
    ask="Send the access token as a Bearer token.",
    insufficient="The token was not issued with openid.",
)


def _state():
    return oidc()


@bp.post("/token")
def token():
    server = _state().server
    lists = request.form.lists()
    repeated = next((n for n, v in lists if len(v) > 1 and n not in MAY_REPEAT), None)
    if repeated:  # RFC 6749 section 3.2: "MUST NOT be included more than once"
        name = SAFE_NAME.sub("?", repeated[:40])
        error = InvalidRequestError(f"The parameter '{name}' is given more than once.")
        response = server.handle_error_response(None, error)
    else:
        response = server.create_token_response()
    commit_begun()  # a spent code or refresh token stays spent, success or not
    response.headers.update(NO_STORE)
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    """Claims about the person the access token was issued for (Core 5.3), by its scopes."""
    grant = USERINFO.check()
    if isinstance(grant, Response):
        return grant
    state = _state()
    body = {"sub": grant.claims["sub"]}
    children = "edu:children" in grant.scopes  # names the children as this client knows them
    body.update(
        claims_for(
            db.session,
            grant.person,
            grant.scopes,
            municipality_names=state.provider.municipalities,
            client=state.server.query_client(grant.client_id) if children else None,
            secret=state.provider.pairwise_secret,
        )
    )
    if children:
        db.session.commit()  # the children's subs it released are remembered
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response


@bp.post("/introspect")
def introspect():
    response = _state().server.create_endpoint_response("introspection")
    response.headers.update(NO_STORE)
    return response


@bp.post("/revoke")
def revoke():
    response = _state().server.create_endpoint_response("revocation")
    db.session.commit()
    response.headers.update(NO_STORE)
    return response

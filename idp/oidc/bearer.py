"""Bearer tokens (RFC 6750) at the broker's protected resources, in the manner of Authlib's
ResourceProtector: the token of a request (section 2), the error response with its
``WWW-Authenticate`` challenge (section 3), and a guard for our JWT access tokens (RFC 9068)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from flask import Request, Response, jsonify, request

from idp.oidc import oidc
from idp.oidc.access import AccessGrant, AccessTokenError, read_access_token

REALM = "DigiOne"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INVALID = "The access token is not valid."  # fixed: a reason could quote the token
UNQUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")  # RFC 6750 section 3, error_description


def bearer_token(req: Request | None = None, *, form: bool = False) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 section 2.1; the scheme is
    case-insensitive) or, with ``form``, of a POSTed form's ``access_token`` (section 2.2).
    None when there is none, or when both were used (section 2: exactly one method)."""
    req = req or request
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    in_header = value.strip() if scheme.lower() == "bearer" else ""
    in_body = (req.form.get("access_token") or "") if form and req.method == "POST" else ""
    if in_header and in_body:
        return None
    return in_header or in_body or None


def bearer_error(
    error: str | None,
    description: str,
    status: int = 401,
    *,
    realm: str | None = None,
    scope: str | None = None,
    describe: bool = True,
) -> Response:
    """A JSON error (``error``, ``error_description``) with the RFC 6750 section 3 challenge:
    ``realm`` and ``scope`` when given, ``error`` and (with ``describe``) ``error_description``
    unless ``error`` is None (section 3.1: a request without a token gets no error code; its
    body says invalid_request). Not cached."""
    params = [f'realm="{realm}"'] if realm else []
    if error is not None:
        params.append(f'error="{error}"')
        if describe:
            params.append(f'error_description="{UNQUOTABLE.sub("?", description)}"')
    if scope:
        params.append(f'scope="{scope}"')
    response = jsonify(error=error or "invalid_request", error_description=description)
    response.status_code = status
    response.headers["WWW-Authenticate"] = " ".join(["Bearer", ", ".join(params)]).rstrip()
    response.headers.update(NO_STORE)
    return response


def access_grant(token: str, audience: str | None = None) -> AccessGrant | None:
    """The live access token ``token`` of ours (idp.oidc.access.read_access_token), or None;
    its audience is checked only when given."""
    try:
        return read_access_token(token, oidc().provider, audience=audience)
    except AccessTokenError:
        return None


@dataclass(frozen=True)
class BearerGuard:
    """What a protected resource asks of a Bearer access token: issued by us to this issuer
    (RFC 9068 section 4), not bound to a consent (RFC 8693: that is for its source system),
    with ``scopes``, and held by a person's sign-in or by a client alone (client_credentials).

    ``realm`` is named in error challenges (the bare challenge always names REALM);
    ``challenge_scope`` names the scopes in an insufficient_scope challenge (section 3)."""

    scopes: tuple[str, ...] = ()
    holder: Literal["any", "person", "client"] = "any"
    form: bool = False  # the token may come in a form body (RFC 6750 section 2.2)
    realm: str | None = None
    challenge_scope: bool = False
    ask: str = "Send an access token as a Bearer token."
    insufficient: str = "The access token lacks a scope this resource needs."

    def check(self) -> AccessGrant | Response:
        """The request's AccessGrant, or the error response to return: 401 without a token
        (section 3.1) or with an invalid one (invalid_token), 403 insufficient_scope."""
        token = bearer_token(form=self.form)
        if not token:
            return bearer_error(None, self.ask, realm=REALM)
        grant = access_grant(token, audience=oidc().provider.issuer)
        if grant is None or "consent_id" in grant.claims or "act" in grant.claims:
            return bearer_error("invalid_token", INVALID, realm=self.realm)
        if not self._holds(grant):
            scope = " ".join(self.scopes) if self.challenge_scope else None
            return bearer_error(
                "insufficient_scope", self.insufficient, 403, realm=self.realm, scope=scope
            )
        return grant

    def _holds(self, grant: AccessGrant) -> bool:
        if not set(self.scopes) <= set(grant.scopes):
            return False
        if self.holder == "person":
            return grant.person is not None
        if self.holder == "client":
            return grant.family is None and grant.person is None
        return True

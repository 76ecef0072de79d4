"""Introspection (RFC 7662) and revocation (RFC 7009) of DigiOne's tokens.

A client may introspect and revoke the tokens issued to it; a resource server registered with
``introspection = true`` (admin only) may introspect any token whose audience it is: one of its
``resources`` or its client_id. Revoking a refresh token revokes its whole family, access
tokens included; revoking an access token revokes that token (RFC 7009 section 2.1).

An access token is active only while every check registered on the OP says so
(idp.oidc.OidcState.register_token_check): consent registers one, so that a consent-bound token
(RFC 8693: it carries ``consent_id``) is ``{"active": false}`` at once after the consent's
withdrawal, expiry or invalidation (RFC 7662 section 2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from core.db import db, utcnow
from idp.oidc import oidc
from idp.oidc.access import AccessGrant, AccessTokenError, read_access_token, read_refresh_token
from idp.oidc.grants import AUTH_METHODS, revoke_family
from idp.oidc.models import AccessTokenRecord, RefreshToken

CONFIDENTIAL = [method for method in AUTH_METHODS if method != "none"]
# RFC 7662 section 2.2, and a consent-bound token's actor (RFC 8693 section 4.1) and consent.
INTROSPECTED = (
    "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti",
    "act", "consent_id", "purpose", "purpose_version", "learner_id",
)  # fmt: skip


@dataclass
class TokenRef:
    """An access or refresh token found live; Authlib's token protocol."""

    kind: str
    client_id: str
    access: AccessGrant | None = None
    refresh: RefreshToken | None = None

    def check_client(self, client) -> bool:
        return client.client_id == self.client_id

    def is_expired(self) -> bool:
        return False  # only live tokens are found

    def is_revoked(self) -> bool:
        return False


def find_token(token: str, hint: str | None) -> TokenRef | None:
    state = oidc()
    provider = state.provider
    order = (
        ["refresh_token", "access_token"]
        if hint == "refresh_token"
        else [
            "access_token",
            "refresh_token",
        ]
    )
    for kind in order:
        if kind == "access_token":
            try:
                grant = read_access_token(token, provider)
            except AccessTokenError:
                continue
            if not state.token_live(grant.claims):
                return None
            return TokenRef(kind, grant.client_id, access=grant)
        row = read_refresh_token(token)
        if row is not None:
            return TokenRef(kind, row.family.client_id, refresh=row)
    return None


def check_token_param(request) -> None:
    """``token`` is required; ``token_type_hint`` is only a hint, and an unknown one widens the
    search (RFC 7662 section 2.1, RFC 7009 section 2.1) instead of Authlib's 401
    unsupported_token_type, which carries no WWW-Authenticate challenge."""
    if "token" not in request.form:
        raise InvalidRequestError("The 'token' parameter is required.")


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL

    def check_params(self, request, client) -> None:
        check_token_param(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRef | None:
        return find_token(token_string, token_type_hint)

    def check_permission(self, token: TokenRef, client, request) -> bool:
        if token.check_client(client):
            return True
        if not client.client_metadata.get("introspection") or token.access is None:
            return False
        audience = token.access.claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        own = {client.client_id, *client.client_metadata.get("resources", [])}
        return bool(set(audiences) & own)

    def introspect_token(self, token: TokenRef) -> dict:
        if token.access is not None:
            claims = token.access.claims
            body = {key: claims[key] for key in INTROSPECTED if key in claims}
            body.update(token_type="Bearer", active=True)
            return body
        row = token.refresh
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": row.family.client_id,
            "scope": row.family.scope,
            "iat": int(row.issued_at.timestamp()),
            "exp": int(row.expires_at.timestamp()),
        }


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request, client) -> None:
        check_token_param(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRef | None:
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: TokenRef, request) -> None:
        if token.refresh is not None:
            revoke_family(db.session, token.refresh.family_id, "revoked")
            return
        grant = token.access
        record = db.session.get(AccessTokenRecord, grant.claims["jti"])
        if record is None:
            record = AccessTokenRecord(
                jti=grant.claims["jti"],
                client_id=grant.client_id,
                expires_at=datetime.fromtimestamp(grant.claims["exp"], UTC),
            )
            db.session.add(record)
        record.revoked_at = utcnow()

"""Authlib's authorization server wired to DigiOne: clients from the database, our grants
(packages built on the OP add theirs through idp.oidc.OidcState.register_grant: consent's RFC
8693 token exchange), client authentication incl. private_key_jwt with replay protection (RFC
7523 section 3)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from functools import cached_property

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Flask
from flask import request as flask_request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import outbound
from core.app import config
from core.db import db
from idp.oidc.client_cache import ClientCache
from idp.oidc.grants import ClientCredentialsGrant, CodeGrant, RefreshGrant, S256Only
from idp.oidc.models import Client, UsedAssertion
from idp.oidc.provider import Provider

log = logging.getLogger("digione.oidc")
SCOPES = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "edu:school",
    "edu:roles",
    "edu:municipality",
    "edu:learner_id",
    "edu:children",
    "digione:admin",
]
ASSERTION_ALGS = ["RS256", "ES256", "PS256"]
# typ of a client assertion, when present (RFC 7519 5.1; draft-ietf-oauth-rfc7523bis): never that
# of another kind of JWT, such as a logout token (logout+jwt) or an access token (at+jwt).
ASSERTION_TYPS = {"jwt", "client-authentication+jwt"}
UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


class PrivateKeyJwt(JWTBearerClientAssertion):
    """private_key_jwt (OIDC Core 9): the client signs an assertion with a key from its
    registered JWKS; each ``jti`` is accepted once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: Provider):
        super().__init__(validate_jti=True, leeway=30)
        self.provider = provider

    def __call__(self, query_client, request):
        """RFC 6749 section 5.2: a failed assertion is invalid_client, 401 with a challenge
        (which Authlib builds only with a description)."""
        try:
            return super().__call__(query_client, request)
        except InvalidClientError as error:
            error.status_code = 401
            error.description = error.description or "The client assertion is not valid."
            raise

    def extract_assertion(self, assertion: str):
        """The header is checked before anything is looked up: an allowed alg, no crit (no JWS
        extension is understood here; joserfc fails with TypeError on a malformed one) and no
        typ of another kind of JWT."""
        headers, claims = super().extract_assertion(assertion)
        typ = headers.get("typ", "jwt")
        if (
            headers.get("alg") not in ASSERTION_ALGS
            or "crit" in headers
            or not isinstance(typ, str)
            or typ.lower().removeprefix("application/") not in ASSERTION_TYPS
        ):
            raise InvalidClientError(description="Unacceptable client assertion header.")
        return headers, claims

    def process_assertion_claims(self, assertion, resolve_key):
        """As Authlib's, but with our algorithms (joserfc's default refuses PS256)."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except JoseError as exc:
            # joserfc's message may quote the assertion (a kid): header-safe text only
            description = UNSAFE.sub("?", exc.description or "")[:200] or None
            raise InvalidClientError(description=description) from exc
        self.verify_claims(token.claims)
        return token.claims

    def get_audiences(self) -> list[str]:
        issuer = self.provider.issuer
        return [issuer, f"{issuer}/oidc/token"]

    def validate_jti(self, claims, jti: str) -> bool:
        """Record the jti in a transaction of its own, committed at once: the assertion is spent
        even where the request's own transaction is never committed (introspection) or is
        rolled back (PostgreSQL; on SQLite the savepoint used before happened to commit)."""
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:  # the column is VARCHAR(255)
            raise InvalidClientError(description="The assertion's jti is not valid.")
        try:
            expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidClientError(description="The assertion's exp is not valid.") from exc
        with Session(db.engine) as session:
            session.add(UsedAssertion(client_id=claims["sub"], jti=jti, expires_at=expires))
            try:
                session.commit()
            except IntegrityError:
                return False
        return True

    def resolve_client_public_key(self, client: Client) -> KeySet:
        metadata = client.client_metadata
        if metadata.get("jwks"):
            return KeySet.import_key_set(metadata["jwks"])
        uri = metadata.get("jwks_uri")
        if not uri:
            raise InvalidClientError(description="The client has no registered keys.")
        try:
            return KeySet.import_key_set(_fetch_jwks(uri))
        except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidClientError(description="The client's keys could not be read.") from exc

    def authenticate_client(self, client: Client) -> Client:
        if client.check_endpoint_auth_method(self.CLIENT_AUTH_METHOD, "token"):
            return client
        raise InvalidClientError(description="The client may not use private_key_jwt.")


def _fetch_jwks(uri: str) -> dict:
    """A client's JWK Set from its jwks_uri, through the outbound client (core.outbound: in
    production https to a public address only, checked again at every fetch; no redirects;
    short timeout; size-capped)."""
    policy = outbound.Policy.for_mode(production=config().production)
    try:
        answer = outbound.request(uri, policy, headers={"Accept": "application/json"},
                                  timeout=5, max_bytes=256 * 1024)  # fmt: skip
        if answer.status != 200:
            raise outbound.Failed(f"HTTP {answer.status}")
        return json.loads(answer.body)
    except (outbound.OutboundError, ValueError) as exc:
        log.warning("client jwks_uri not read", extra={"event": {"reason": str(exc)}})
        raise InvalidClientError(description="The client's jwks_uri could not be read.") from exc


class _Payload(FlaskOAuth2Payload):
    """Authlib's, with the query and form merged once per request instead of at every read
    (six reads in a token request)."""

    @cached_property
    def data(self):
        return self._request.values


class DigiOneServer(AuthorizationServer):
    provider: Provider
    clients: ClientCache

    def create_oauth2_request(self, request) -> FlaskOAuth2Request:
        made = FlaskOAuth2Request(flask_request)
        made.payload = _Payload(flask_request)
        return made

    def query_client(self, client_id: str) -> Client | None:
        """The client, read-only (a copy kept while its row is unchanged: ClientCache)."""
        if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
            return None
        return self.clients.get(db.session, client_id)

    def save_token(self, token, request) -> None:
        """Tokens are recorded as they are minted (idp.oidc.tokens)."""


def build_server(app: Flask, provider: Provider) -> DigiOneServer:
    server = DigiOneServer()
    server.provider = provider
    server.clients = ClientCache(ttl=provider.settings.client_cache_seconds)
    server.init_app(app)
    server.scopes_supported = SCOPES  # after init_app, which reads it from app.config
    server.register_grant(CodeGrant, [S256Only(required=True)])
    server.register_grant(RefreshGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt(provider))
    return server

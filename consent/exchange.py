"""Consent-bound tokens: OAuth 2.0 Token Exchange (RFC 8693) at /oidc/token (CONSENT.md).

A recipient service (the purpose's ``recipient``: a confidential client registered, by an
administrator, for this grant type) names a child by the pairwise ``sub`` it knows them by and
gets a short-lived JWT access token (RFC 9068) for the purpose's source system, carrying the
child's ``sub`` as the source knows it, the consented scopes and the consent record's id. The
token is issued only while the record is active (consent.records.active_for); introspection
(idp.oidc.introspection) answers inactive at once after withdrawal, expiry or invalidation.

Request (RFC 8693 section 2.1), form-encoded, with client authentication (RFC 6749 3.2.1)::

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the child's sub as the recipient knows it>
    subject_token_type=urn:digione:params:oauth:token-type:pairwise-sub
    purpose=<purpose id>
    audience=<the source's client_id> and/or resource=<one of the source's resources>
    scope=<optional: a subset of the purpose's scopes>
    requested_token_type=<optional: urn:ietf:params:oauth:token-type:access_token>

The subject token type ``urn:digione:params:oauth:token-type:pairwise-sub`` is DigiOne's own
(RFC 8693 section 3 allows other URIs): the token is not a credential but an identifier the
recipient already holds (OIDC Core section 8.1); what authorises the exchange is the client's
authentication and the consent record. Errors (RFC 8693 section 2.2.2, RFC 6749 section 5.2):
invalid_request (malformed, unknown subject or purpose, other token types, actor tokens),
invalid_target (audience/resource not the purpose's source), invalid_scope, unauthorized_client
(not registered for the grant, or not the purpose's recipient), access_denied (no active
consent, or the child is protected: never shared). Every refusal on consent grounds and every
issued token is an audit entry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import NoReturn

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)

from consent import audit, purposes, records
from consent.models import Purpose
from consent.policy import needs_consent
from core.db import db, insert_together, utcnow
from federation.models import Person
from idp.oidc.client_metadata import TOKEN_EXCHANGE
from idp.oidc.models import Client
from idp.oidc.pairwise import person_for, remembering
from idp.oidc.tokens import ALG_USE

PAIRWISE_SUB = "urn:digione:params:oauth:token-type:pairwise-sub"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # RFC 8693 section 3
MAX_LIFETIME = 300  # seconds: a consent-bound token never lives longer than five minutes
CHANNEL = "token_exchange"
CONFIDENTIAL = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
ONCE = ("subject_token", "subject_token_type", "purpose", "scope", "requested_token_type")
MAX_PARAM = 2000


class InvalidTargetError(OAuth2Error):
    """RFC 8693 section 2.2.2: the audience or resource is not acceptable."""

    error = "invalid_target"


@dataclass
class Exchange:
    """A validated request: who it is about, for which purpose and which target."""

    child: Person
    purpose: Purpose  # the latest version
    source: Client
    audience: str
    scopes: list[str] | None  # as requested; None: all the consent covers
    versions: dict[str, list[Purpose]]  # every version of the purpose (consent.purposes)


def _param(form, name: str, *, required: bool = True) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequestError(f"The '{name}' parameter is required.")
        return None
    if len(value) > MAX_PARAM:
        raise InvalidRequestError(f"The '{name}' parameter is too long.")
    return value


def _target(form, source: Client) -> str:
    """The token's audience: the resource asked for, else the source's first resource, else
    its client_id (RFC 8693 section 2.1, RFC 8707). Both parameters name the source."""
    audiences, resources = form.getlist("audience"), form.getlist("resource")
    if not audiences and not resources:
        raise InvalidRequestError("Name the source system with 'audience' or 'resource'.")
    if len(audiences) > 1 or len(resources) > 1:
        raise InvalidTargetError("Only one audience and one resource are accepted.")
    registered = source.client_metadata.get("resources") or []
    if audiences and audiences[0] != source.client_id:
        raise InvalidTargetError("The audience is not the purpose's source system.")
    if resources and resources[0] not in registered:
        raise InvalidTargetError("The resource is not one of the purpose's source system.")
    if resources:
        return resources[0]
    return registered[0] if registered else source.client_id


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """RFC 8693 token exchange for consent-bound access tokens (see the module docstring)."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL

    def validate_token_request(self) -> None:
        """RFC 8693 section 2.1: authenticate the client, then check every parameter."""
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(TOKEN_EXCHANGE):
            raise UnauthorizedClientError("The client is not registered for token exchange.")
        self.request.client = client
        form = self.request.form
        if any(len(form.getlist(name)) > 1 for name in ONCE):
            raise InvalidRequestError("A parameter is repeated.")  # RFC 6749 section 3.2
        requested = _param(form, "requested_token_type", required=False)
        if requested is not None and requested != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError("Only access tokens are issued (requested_token_type).")
        if form.get("actor_token") or form.get("actor_token_type"):
            raise InvalidRequestError("Actor tokens are not supported.")
        sub = _param(form, "subject_token")
        if _param(form, "subject_token_type") != PAIRWISE_SUB:
            raise InvalidRequestError(f"The subject_token_type must be {PAIRWISE_SUB}.")
        purpose_id = _param(form, "purpose")
        every = purposes.versions(db.session, [purpose_id]) if len(purpose_id) <= 64 else {}
        purpose = every[purpose_id][-1] if every else None
        if purpose is None or purpose.withdrawn_at is not None:
            raise InvalidRequestError("No such purpose.")
        if purpose.recipient_client_id != client.client_id:
            raise UnauthorizedClientError("The client is not this purpose's recipient.")
        source = self.server.clients.get(db.session, purpose.source_client_id)  # cached
        audience = _target(form, source)
        scope = _param(form, "scope", required=False)
        scopes = None
        if scope is not None:
            scopes = list(dict.fromkeys(scope.split()))
            if not scopes or not set(scopes) <= set(purpose.scopes):
                raise InvalidScopeError("The scope exceeds the purpose's scopes.")
        child = person_for(db.session, client, sub)
        if child is None:
            raise InvalidRequestError("The subject_token names no known person.")
        self.exchange = Exchange(child, purpose, source, audience, scopes, every)

    def _deny(self, reason: str, description: str, record_id: str | None = None) -> NoReturn:
        """access_denied (RFC 6749 section 5.2), with an audit entry (identifiers only)."""
        ex = self.exchange
        audit.append(
            db.session,
            actor_type="service",
            actor_id=self.request.client.client_id,
            action="consent.exchange_denied",
            channel=CHANNEL,
            record_id=record_id,
            purpose_id=ex.purpose.purpose_id,
            detail={"purpose": ex.purpose.purpose_id, "reason": reason, "child": ex.child.id},
        )
        raise AccessDeniedError(description)

    def _no_consent(self, reason: str) -> NoReturn:
        """access_denied naming the latest request's state. A protected child is refused in
        the same words: the refusal must not disclose the non-disclosure order."""
        ex = self.exchange
        latest = records.records_of(
            db.session, ex.child.id, ex.purpose.purpose_id, every=ex.versions
        )
        state = latest[0].derived.state if latest else "none"
        self._deny(
            reason if reason == "child_protected" else f"{reason}:{state}",
            f"There is no active consent for this purpose (latest request: {state}).",
            latest[0].record.id if latest else None,
        )

    def consent(self) -> records.View:
        """The active record the token rests on; under a lawful basis other than consent the
        sharing is recorded (nobody is asked). Denies otherwise."""
        ex, session = self.exchange, db.session
        client_id = self.request.client.client_id
        if ex.child.protected:
            self._no_consent("child_protected")
        current = records.active_for(session, ex.child.id, ex.purpose.purpose_id, every=ex.versions)
        if current is None and not needs_consent(purposes.policy_of(ex.purpose)):
            try:
                current, _created = records.request(
                    session, ex.purpose, ex.child, client_id=client_id, method=CHANNEL
                )
            except records.ConsentError as exc:
                self._no_consent(exc.code)
        if current is None or not current.derived.active:
            self._no_consent("no_active_consent")
        version = current.purpose
        if (version.recipient_client_id, version.source_client_id) != (
            client_id,
            ex.source.client_id,
        ):
            self._deny("parties_changed", "The consent was given for other parties.")
        if ex.scopes is not None and not set(ex.scopes) <= set(version.scopes):
            self._deny("scope_not_consented", "The consent does not cover the scope.")
        return current

    def create_token_response(self) -> tuple[int, dict, list]:
        """RFC 8693 section 2.2.1: an access token, never a refresh token."""
        client: Client = self.request.client
        ex, current = self.exchange, self.consent()
        provider = self.server.provider
        minter = provider.minter()
        scopes = ex.scopes or list(current.purpose.scopes)
        configured = client.client_metadata.get("access_token_lifetime")
        lifetime = min(MAX_LIFETIME, int(configured or provider.settings.access_token_seconds))
        now, jti = int(utcnow().timestamp()), secrets.token_urlsafe(16)
        claims = {
            "iss": provider.issuer,
            "sub": minter.subject(ex.child, ex.source),
            "aud": ex.audience,
            "client_id": client.client_id,
            "act": {"sub": client.client_id},  # RFC 8693 section 4.1
            "scope": " ".join(scopes),
            "consent_id": current.record.id,
            "purpose": current.record.purpose_id,
            "purpose_version": current.record.purpose_version,
            "iat": now,
            "exp": now + lifetime,
            "jti": jti,
        }
        if "edu:learner_id" in ex.source.scopes and ex.child.learner_id:
            # A source system an admin registered for the national learner id (a school's
            # administration system keys pupils by it) finds the pupil by it; others by sub.
            claims["learner_id"] = ex.child.learner_id
        # The source system verifies the token: its registered algorithm.
        alg = ex.source.client_metadata.get("access_token_signed_response_alg") or "RS256"
        token = minter.keys.sign_jwt(claims, use=ALG_USE[alg], headers={"typ": "at+jwt"})
        trail = audit.row(
            db.session,
            actor_type="service",
            actor_id=client.client_id,
            action="consent.exchange",
            channel=CHANNEL,
            record_id=current.record.id,
            purpose_id=current.record.purpose_id,
            detail={"version": current.record.purpose_version, "jti": jti, "aud": ex.audience},
        )
        # The audit entry and the sub the source system sees, in one round trip .
        secret = provider.pairwise_secret
        insert_together(db.session, trail, remembering(db.session, ex.child.id, ex.source, secret))
        body = {
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": claims["scope"],
        }
        return 200, body, self.TOKEN_RESPONSE_HEADER

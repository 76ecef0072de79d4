"""Storage of the OpenID Connect provider: clients, codes, token families, approvals.

Secrets, codes and refresh tokens are stored only as SHA-256 digests: they are random with at
least 256 bits of entropy, so a fast hash is enough (RFC 6819 section 5.1.4.1.3).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749.models import ClientMixin
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from core.hashing import verify_secret


def new_id() -> str:
    return str(uuid.uuid4())


class Client(Base, ClientMixin):
    """A registered relying party / OAuth client; ``client_metadata`` uses RFC 7591 names and
    is checked by idp.oidc.client_metadata. Implements Authlib's ClientMixin."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    client_metadata: Mapped[dict] = mapped_column(JSON, default=dict)
    registration_access_token_hash: Mapped[str | None] = mapped_column(String(64))
    client_id_issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def metadata_value(self, name: str, default: Any = None) -> Any:
        return (self.client_metadata or {}).get(name, default)

    @property
    def client_name(self) -> str:
        return self.metadata_value("client_name", self.client_id)

    @property
    def redirect_uris(self) -> list[str]:
        return self.metadata_value("redirect_uris", [])

    @property
    def scopes(self) -> list[str]:
        return self.metadata_value("scope", "").split()

    @property
    def grant_types(self) -> list[str]:
        return self.metadata_value("grant_types", [])

    @property
    def token_endpoint_auth_method(self) -> str:
        return self.metadata_value("token_endpoint_auth_method", "client_secret_basic")

    @property
    def subject_type(self) -> str:
        return self.metadata_value("subject_type", "pairwise")

    @property
    def is_public(self) -> bool:
        """A public client (RFC 6749 section 2.1): no credentials, PKCE only."""
        return self.token_endpoint_auth_method == "none"

    # Authlib ClientMixin (authlib.oauth2.rfc6749.models)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client is registered for, in the requested order."""
        allowed = set(self.scopes)
        return " ".join(dict.fromkeys(s for s in (scope or "").split() if s in allowed))

    def check_redirect_uri(self, redirect_uri: str | None) -> bool:
        """Exact string match only (RFC 9700 section 4.1.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str | None) -> bool:

        return verify_secret(self.client_secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """The registered token_endpoint_auth_method, also at introspection and revocation."""
        if endpoint not in ("token", "introspection", "revocation"):
            return False
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.metadata_value("response_types", [])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(Base):
    """An authorization code (RFC 6749 4.1.2): single use, 60 seconds, bound to client,
    redirect URI and PKCE challenge. ``family_id`` names the tokens its exchange issued, so a
    second exchange can revoke them (RFC 6749 section 4.1.2)."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    sid: Mapped[str | None] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    claims_request: Mapped[dict | None] = mapped_column(JSON)
    claims_locales: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    family_id: Mapped[str | None] = mapped_column(String(36))


class TokenFamily(Base):
    """The grant behind a chain of refresh tokens and the access tokens issued from it."""

    __tablename__ = "oauth_token_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    claims_request: Mapped[dict | None] = mapped_column(JSON)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    """An opaque refresh token (stored hashed), rotated at every use (RFC 9700 4.14.2)."""

    __tablename__ = "oauth_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_token_families.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    family: Mapped[TokenFamily] = relationship()


class AccessTokenRecord(Base):
    """A JWT access token's jti when it belongs to a family (so revoking the family revokes
    it), or when it was revoked by itself (RFC 7009)."""

    __tablename__ = "oauth_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str | None] = mapped_column(
        ForeignKey("oauth_token_families.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Approval(Base):
    """Scopes a person has approved for a client, remembered until revoked."""

    __tablename__ = "oauth_approvals"
    __table_args__ = (
        Index("uq_oauth_approvals_person_client", "person_id", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE")
    )
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedAssertion(Base):
    """jti of a client assertion already seen (private_key_jwt replay, RFC 7523 section 3)."""

    __tablename__ = "oauth_used_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InitialAccessToken(Base):
    """Opens dynamic client registration (RFC 7591 section 3) to its holder until it expires."""

    __tablename__ = "oauth_initial_access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SessionClient(Base):
    """A client that received tokens in an SSO session, for back-channel logout."""

    __tablename__ = "sso_session_clients"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PairwiseSubject(Base):
    """Which person a pairwise ``sub`` stands for in a sector (OIDC Core 8.1), recorded when a
    service is first given that ``sub``: HMAC cannot be reversed, and a service names a child
    to the consent API by the ``sub`` it knows."""

    __tablename__ = "oauth_pairwise_subjects"

    sector: Mapped[str] = mapped_column(String(255), primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)

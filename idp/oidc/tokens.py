"""Minting tokens: JWT access tokens (RFC 9068), ID tokens (OIDC Core 2, 3.1.3.6) and opaque
refresh tokens in families (RFC 9700 section 4.14.2), all signed by keys/ KeyStore."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.db import Prebuilt, Write, insert_together, utcnow
from core.hashing import hash_secret, sha256_b64url
from core.settings.schema import OidcSettings
from federation.models import Person
from idp.oidc.models import AccessTokenRecord, Client, RefreshToken, TokenFamily
from idp.oidc.subject import subject_for
from keys.store import KeyStore

ALG_USE = {"RS256": "rs256", "ES256": "es256"}
# Prebuilt, with their own parameter names: a grant's rows go in together (one round trip on
# PostgreSQL, core.db.insert_together) when the response is complete (TokenMinter.together).
INSERT_ACCESS = Prebuilt(
    insert(AccessTokenRecord), "access", ("jti", "family_id", "client_id", "expires_at")
)
INSERT_REFRESH = Prebuilt(
    insert(RefreshToken), "refresh", ("token_hash", "family_id", "issued_at", "expires_at")
)


digest = hash_secret  # codes, refresh tokens and access token ids are kept by their digest


def half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash (Core 3.1.3.6): left half of the SHA-256 digest, base64url."""
    assert alg in ALG_USE  # both RS256 and ES256 use SHA-256
    return sha256_b64url(value, 16)


@dataclass
class Authentication:
    """The sign-in a grant rests on: who, in which SSO session, when and how."""

    person: Person
    sid: str | None
    auth_time: datetime
    acr: str | None
    amr: list[str] = field(default_factory=list)

    def get_user_id(self) -> str:  # Authlib's user protocol
        return self.person.id


@dataclass
class Minted:
    token: str
    jti: str
    expires_in: int


class TokenMinter:
    """Signs and records tokens for one request."""

    def __init__(
        self,
        session: Session,
        keys: KeyStore,
        settings: OidcSettings,
        *,
        issuer: str,
        pairwise_secret: bytes,
    ):
        self.session, self.keys, self.settings = session, keys, settings
        self.issuer, self.pairwise_secret = issuer, pairwise_secret
        self.pending: list[Write] | None = None  # inside together(): rows to write at its end

    def subject(self, person: Person, client: Client) -> str:
        return subject_for(
            person.id, client.client_metadata, client.client_id, self.pairwise_secret
        )

    def _alg(self, client: Client, name: str) -> str:
        return client.client_metadata.get(name) or "RS256"

    def access_token(
        self,
        client: Client,
        scope: str,
        *,
        audience: str | list[str],
        auth: Authentication | None = None,
        family: TokenFamily | None = None,
    ) -> Minted:
        """An RFC 9068 access token; recorded when it belongs to a family (so it can be
        revoked with it and the userinfo endpoint can find whose it is)."""
        lifetime = int(
            client.client_metadata.get("access_token_lifetime")
            or self.settings.access_token_seconds
        )
        now = utcnow()
        jti = secrets.token_urlsafe(16)
        claims = {
            "iss": self.issuer,
            "sub": self.subject(auth.person, client) if auth else client.client_id,
            "aud": audience,
            "client_id": client.client_id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": jti,
            "scope": scope,
        }
        if auth:
            claims["auth_time"] = int(auth.auth_time.timestamp())
            if auth.acr:
                claims["acr"] = auth.acr
        alg = self._alg(client, "access_token_signed_response_alg")
        token = self.keys.sign_jwt(claims, use=ALG_USE[alg], headers={"typ": "at+jwt"})
        if family is not None:
            self.add(
                INSERT_ACCESS.row(
                    {
                        "jti": jti,
                        "family_id": family.id,
                        "client_id": client.client_id,
                        "expires_at": now + timedelta(seconds=lifetime),
                    }
                )
            )
        return Minted(token, jti, lifetime)

    def id_token(
        self,
        client: Client,
        auth: Authentication,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        extra: dict | None = None,
    ) -> str:
        """An ID token (Core 2) for ``client``, with at_hash when an access token goes with it."""
        now = int(utcnow().timestamp())
        alg = self._alg(client, "id_token_signed_response_alg")
        claims = dict(extra or {})
        claims.update(
            {
                "iss": self.issuer,
                "sub": self.subject(auth.person, client),
                "aud": client.client_id,
                "azp": client.client_id,
                "iat": now,
                "exp": now + self.settings.id_token_seconds,
                "auth_time": int(auth.auth_time.timestamp()),
            }
        )
        if auth.acr:
            claims["acr"] = auth.acr
        if auth.amr:
            claims["amr"] = list(auth.amr)
        if auth.sid:
            claims["sid"] = auth.sid
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = half_hash(access_token, alg)
        return self.keys.sign_jwt(claims, use=ALG_USE[alg], headers={"typ": "JWT"})

    def refresh_token(self, family: TokenFamily) -> str:
        """A new opaque refresh token in ``family``; only its digest is stored."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        self.add(
            INSERT_REFRESH.row(
                {
                    "token_hash": digest(token),
                    "family_id": family.id,
                    "issued_at": now,
                    "expires_at": now + timedelta(days=self.settings.refresh_token_days),
                }
            )
        )
        return token

    def add(self, row: Write) -> None:
        """Write a row now, or at the end of together() when inside it."""
        if self.pending is not None:
            self.pending.append(row)
        else:
            self.session.flush()  # objects added in this transaction go in first
            insert_together(self.session, row)

    @contextmanager
    def together(self) -> Iterator[None]:
        """The rows of the tokens minted inside (and what goes before them, such as a code's
        new family: add) are written at the end, in the request's transaction: prebuilt Core
        INSERTs in one round trip on PostgreSQL (the ORM's unit of work cost more than the
        signature on the refresh path). Nothing is written if the block raises."""
        self.pending = []
        try:
            yield
            pending = self.pending
        finally:
            self.pending = None
        if pending:
            self.session.flush()
            insert_together(self.session, *pending)

"""Reading DigiOne's own tokens back: JWT access tokens (RFC 9068 section 4) and refresh tokens,
for userinfo, introspection and revocation. Every check of the CHECKLISTS.md JWT list applies
(keys.verify.read_jwt): only our published keys (by kid; never keys carried in the token), only
RS256/ES256, typ at+jwt, issuer, audience, expiry; then revocation by jti or by family."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from core.db import db, utcnow
from federation.models import Person
from idp.oidc import oidc
from idp.oidc.models import AccessTokenRecord, RefreshToken, TokenFamily
from idp.oidc.tokens import digest
from keys.app import key_store
from keys.verify import JwtError, read_jwt

TYPS = frozenset({"at+jwt"})  # RFC 9068 section 2.1
REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")  # RFC 9068 section 2.2
ID_TOKEN_TYPS = frozenset({"JWT"})  # what idp.oidc.tokens signs ID tokens with, and only that
# Built once, each one query: a token's record (none for client credentials), its family and the
# family's person; a refresh token with its family.
RECORD_FAMILY_PERSON = (
    select(AccessTokenRecord, TokenFamily, Person)
    .outerjoin(TokenFamily, TokenFamily.id == AccessTokenRecord.family_id)
    .outerjoin(Person, Person.id == TokenFamily.person_id)
    .where(AccessTokenRecord.jti == bindparam("jti"))
)
REFRESH_WITH_FAMILY = (
    select(RefreshToken)
    .options(joinedload(RefreshToken.family))
    .where(RefreshToken.token_hash == bindparam("token_hash"))
)


class AccessTokenError(Exception):
    """The token is not a live access token of this broker (the message says why)."""


@dataclass
class AccessGrant:
    claims: dict
    family: TokenFamily | None
    person: Person | None

    @property
    def scopes(self) -> list[str]:
        return (self.claims.get("scope") or "").split()

    @property
    def client_id(self) -> str:
        return self.claims["client_id"]


def decode_access_token(token: str, issuer: str, audience: str | None = None) -> dict:
    """Verify an access token's signature and claims (keys.verify.read_jwt: typ at+jwt, RFC 9068
    section 4; the audience only when given); raise AccessTokenError."""
    try:
        return read_jwt(
            token, key_store(), issuer=issuer, typs=TYPS, audience=audience, require=REQUIRED
        )
    except JwtError as exc:
        raise AccessTokenError(str(exc)) from exc


def read_id_token_hint(hint: str, issuer: str, audience: str | None = None) -> dict | None:
    """The claims of one of our ID tokens sent back as ``id_token_hint`` (OIDC Core section
    3.1.2.1, RP-Initiated Logout 1.0 section 2), or None. Expired ones too, and signed by keys
    retired from the JWKS; typ JWT, so an access or logout token is no hint; the audience only
    when given."""
    try:
        return read_jwt(
            hint,
            key_store(),
            issuer=issuer,
            typs=ID_TOKEN_TYPS,
            audience=audience,
            verify_exp=False,
            published_only=False,
        )
    except JwtError:
        return None


def read_access_token(token: str, provider, audience: str | None = None) -> AccessGrant:
    """A live access token: signature and claims valid, neither it nor its family revoked."""
    claims = decode_access_token(token, provider.issuer, audience)
    clients = oidc().server.clients  # idp.oidc.client_cache
    if clients.get(db.session, claims["client_id"]) is None:
        raise AccessTokenError("the client has been removed")
    found = db.session.execute(RECORD_FAMILY_PERSON, {"jti": claims["jti"]}).one_or_none()
    record, family, person = found if found is not None else (None, None, None)
    if record is not None:
        if record.revoked_at is not None:
            raise AccessTokenError("revoked")
        if record.family_id and (family is None or family.revoked_at is not None):
            raise AccessTokenError("revoked")
    return AccessGrant(claims, family, person)


def read_refresh_token(token: str) -> RefreshToken | None:
    """A live refresh token (unused, unexpired, family not revoked), or None."""
    row = db.session.scalar(REFRESH_WITH_FAMILY, {"token_hash": digest(token)})
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    if row.family.revoked_at is not None:
        return None
    return row

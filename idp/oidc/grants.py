"""Authlib grants over DigiOne's storage: authorization code with PKCE S256 (RFC 6749 4.1,
RFC 7636), refresh token with rotation and reuse detection (RFC 6749 6, RFC 9700 4.14.2) and
client credentials (RFC 6749 4.4). Tokens are minted by idp.oidc.tokens, not by Authlib.

A code or refresh token is claimed with one conditional UPDATE, so of two exchanges racing
each other exactly one wins; the loser is treated as a replay and revokes what the winner got.
"""

from __future__ import annotations

import secrets

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import bindparam, exists, insert, select, update

from core.db import Prebuilt, Write, utcnow
from federation.models import Person
from idp.oidc.models import AuthorizationCode, RefreshToken, TokenFamily, new_id
from idp.oidc.tokens import Authentication, digest

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

# Built once: constructing the statements cost as much as running them on the refresh path.
CLAIM_REFRESH = (
    update(RefreshToken)
    .where(
        RefreshToken.token_hash == bindparam("claimed_hash"),
        RefreshToken.used_at.is_(None),
        RefreshToken.expires_at > bindparam("now"),
        exists().where(
            TokenFamily.id == RefreshToken.family_id,
            TokenFamily.revoked_at.is_(None),
            TokenFamily.client_id == bindparam("claiming_client"),
        ),
    )
    .values(used_at=bindparam("now"))
    .returning(RefreshToken.family_id)
)
_WITH_PERSON = select(TokenFamily, Person).outerjoin(Person, Person.id == TokenFamily.person_id)
FAMILY_AND_PERSON = _WITH_PERSON.where(TokenFamily.id == bindparam("family_id"))
CODES = AuthorizationCode.__table__
CLAIM_CODE = (
    update(CODES)
    .where(
        CODES.c.code_hash == bindparam("claimed_hash"),
        CODES.c.client_id == bindparam("claiming_client"),
        CODES.c.used_at.is_(None),
        CODES.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"), family_id=bindparam("new_family"))
    .returning(CODES)
)
FAMILY_COLUMNS = ("id", "client_id", "person_id", "sid", "scope", "claims_request", "auth_time",
                  "acr", "amr", "created_at")  # fmt: skip
INSERT_FAMILY = Prebuilt(insert(TokenFamily), "family", FAMILY_COLUMNS)
_CLAIMED_CODE = CLAIM_CODE.cte("claimed_code")
# PostgreSQL claims the code and reads its person in one round trip.
CLAIM_CODE_WITH_PERSON = select(Person, _CLAIMED_CODE).join_from(
    _CLAIMED_CODE, Person, Person.id == _CLAIMED_CODE.c.person_id
)
# PostgreSQL claims and reads in one round trip (an UPDATE in a WITH clause); SQLite cannot.
_CLAIMED = CLAIM_REFRESH.cte("claimed")
CLAIM_REFRESH_WITH_FAMILY = _WITH_PERSON.join(_CLAIMED, _CLAIMED.c.family_id == TokenFamily.id)


class S256Only(CodeChallenge):
    """PKCE with S256 only: ``plain`` is refused (RFC 9700 section 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class CodeView:
    """Authlib's view of a claimed authorization code (its row as the claim returned it), the
    token family it starts (written with the tokens: ``pending``) and, where the claim read
    it, its person."""

    def __init__(self, row, family: TokenFamily, pending: Write, person: Person | None = None):
        self.row, self.family, self.pending, self.person = row, family, pending, person
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class RefreshView:
    """Authlib's view of a claimed refresh token: its family and the family's person."""

    row = None  # no authorization code (and so no nonce) behind a refresh
    pending = None  # the family exists already

    def __init__(self, family: TokenFamily, person: Person | None):
        self.family, self.person = family, person

    def check_client(self, client) -> bool:
        return self.family.client_id == client.client_id

    def get_scope(self) -> str:
        return self.family.scope


def revoke_family(session, family_id: str | None, reason: str) -> None:
    if family_id:
        session.execute(
            update(TokenFamily)
            .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )


def _family_and_person(session, family_id: str) -> tuple[TokenFamily, Person | None]:
    """A token family and its person (None for a family without one), in one query."""
    return tuple(session.execute(FAMILY_AND_PERSON, {"family_id": family_id}).one())


def _authentication(family: TokenFamily, person: Person) -> Authentication:
    return Authentication(
        person=person,
        sid=family.sid,
        auth_time=family.auth_time,
        acr=family.acr,
        amr=list(family.amr or []),
    )


class MintingGrant:
    """Hands token creation to the provider (``server.provider``) with the grant's context."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):  # fmt: skip
        return self.server.provider.mint(self, user, scope, include_refresh_token)


class CodeGrant(MintingGrant, grants.AuthorizationCodeGrant):
    def generate_authorization_code(self) -> str:
        """256 random bits (RFC 6749 10.10 asks at most 2^-128 odds of a guess), from
        os.urandom at once: Authlib's default draws each of 48 characters separately (3 %
        of a single sign-on)."""
        return secrets.token_urlsafe(32)

    def save_authorization_code(self, code: str, request) -> None:
        self.server.provider.save_code(code, request)

    def query_authorization_code(self, code: str, client) -> CodeView | None:
        """Claim the code in one UPDATE ... RETURNING (on PostgreSQL reading its person in the
        same statement) and prepare its token family's row (statements built once: building
        them cost more than running them)."""
        session = self.server.provider.session
        code_hash, now = digest(code), utcnow()
        claim = {"claimed_hash": code_hash, "claiming_client": client.client_id, "now": now}
        claim["new_family"] = new_id()
        person = None
        if session.get_bind().dialect.name == "postgresql":
            row = session.execute(CLAIM_CODE_WITH_PERSON, claim).one_or_none()
            person = row[0] if row is not None else None
        else:
            row = session.connection().execute(CLAIM_CODE, claim).one_or_none()
        if row is None:
            spent = session.get(AuthorizationCode, code_hash)
            if spent is not None and spent.client_id == client.client_id and spent.used_at:
                revoke_family(session, spent.family_id, "code_reuse")
            return None
        values = {
            "id": row.family_id,
            "client_id": row.client_id,
            "person_id": row.person_id,
            "sid": row.sid,
            "scope": row.scope,
            "claims_request": row.claims_request,
            "auth_time": row.auth_time,
            "acr": row.acr,
            "amr": row.amr,
            "created_at": now,
        }
        # A detached copy of the row the token response writes (TokenMinter.together).
        return CodeView(row, TokenFamily(**values), INSERT_FAMILY.row(values), person)

    def delete_authorization_code(self, authorization_code: CodeView) -> None:
        """Nothing to do: the code was spent when it was claimed."""

    def authenticate_user(self, authorization_code: CodeView) -> Authentication:
        person = authorization_code.person
        if person is None:
            session = self.server.provider.session
            person = session.get(Person, authorization_code.family.person_id)
        return _authentication(authorization_code.family, person)


class RefreshGrant(MintingGrant, grants.RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshView | None:
        """Claim the token in one UPDATE ... RETURNING and read its family and person: one
        round trip on PostgreSQL, two on SQLite."""
        session = self.server.provider.session
        token_hash = digest(refresh_token)
        client_id = self.request.client.client_id  # authenticated before this is called
        claim = {"claimed_hash": token_hash, "now": utcnow(), "claiming_client": client_id}
        if session.get_bind().dialect.name == "postgresql":
            row = session.execute(CLAIM_REFRESH_WITH_FAMILY, claim).one_or_none()
            if row is not None:
                return RefreshView(*row)
        else:
            family_id = session.connection().execute(CLAIM_REFRESH, claim).scalar_one_or_none()
            if family_id is not None:
                return RefreshView(*_family_and_person(session, family_id))
        row = session.get(RefreshToken, token_hash)
        if row is not None and row.used_at and row.family.client_id == client_id:
            revoke_family(session, row.family_id, "refresh_reuse")
        return None

    def authenticate_user(self, refresh_token: RefreshView) -> Authentication | None:
        if refresh_token.person is None:
            return None
        return _authentication(refresh_token.family, refresh_token.person)

    def revoke_old_credential(self, refresh_token: RefreshView) -> None:
        """Nothing to do: the token was spent when it was claimed (rotation)."""


class ClientCredentialsGrant(MintingGrant, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [m for m in AUTH_METHODS if m != "none"]

    def validate_token_request(self) -> None:
        if "openid" in (self.request.payload.scope or "").split():
            raise InvalidRequestError("The 'openid' scope needs a signed-in person.")
        super().validate_token_request()

"""The provider behind Authlib's server: storage of codes and minting of token responses.

One instance per app; everything request-scoped goes through ``db.session``.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import insert

from core.db import Prebuilt, db, insert_or_skip, insert_together, utcnow
from core.settings import Config
from idp.oidc.claims import claims_for
from idp.oidc.models import AuthorizationCode, Client, SessionClient, TokenFamily
from idp.oidc.pairwise import remembering
from idp.oidc.tokens import Authentication, TokenMinter, digest
from keys.app import key_store
from keys.store import KeyStore

OIDC_ONLY = frozenset({"openid", "offline_access", "profile", "email"})
# An authorization's rows, prebuilt with their own parameter names: the code, and the client
# in the SSO session (for back-channel logout; once per session and client). With the sub the
# client is given (idp.oidc.pairwise), one round trip on PostgreSQL (core.db.insert_together).
CODE_COLUMNS = ("code_hash", "client_id", "person_id", "sid", "redirect_uri", "scope", "nonce",
                "code_challenge", "code_challenge_method", "claims_request", "claims_locales",
                "auth_time", "acr", "amr", "created_at", "expires_at")  # fmt: skip
INSERT_CODE = Prebuilt(insert(AuthorizationCode), "code", CODE_COLUMNS)
SESSION_CLIENT = {
    dialect: Prebuilt(statement, "seen", ("sid", "client_id", "person_id", "created_at"))
    for dialect, statement in insert_or_skip(SessionClient).items()
}


class Provider:
    def __init__(self, app: Flask, cfg: Config, pairwise_secret: bytes):
        self.app, self.cfg, self.pairwise_secret = app, cfg, pairwise_secret
        self.settings = cfg.settings.oidc
        self.issuer = cfg.settings.server.issuer.rstrip("/")
        self.municipalities = {city.municipality_code: city.name.fi for city in cfg.cities.values()}

    @property
    def session(self):
        return db.session

    def minter(self, keys: KeyStore | None = None) -> TokenMinter:
        """A minter for this request, signing with the app's key store (after its upkeep) or
        with ``keys``."""
        return TokenMinter(
            db.session,
            keys or key_store(),
            self.settings,
            issuer=self.issuer,
            pairwise_secret=self.pairwise_secret,
        )

    def audience(self, client: Client, resource: str | None) -> str:
        """The resource (RFC 8707) the client asked for, if registered for it; else the
        issuer, whose userinfo endpoint accepts the token."""
        if resource and resource in client.client_metadata.get("resources", []):
            return resource
        return self.issuer

    def client_token(
        self, minter: TokenMinter, client: Client, scope: str | None, resource: str | None
    ) -> dict:
        """The token response of a client_credentials grant (RFC 6749 4.4.3): the scopes
        asked for (all the client's when none) that the client is registered for and that
        need no person; no refresh token (4.4.3) and no row (nothing to revoke it with)."""
        wanted = (scope or "").split() or client.scopes
        granted = " ".join(s for s in wanted if s in client.scopes and s not in OIDC_ONLY)
        access = minter.access_token(client, granted, audience=self.audience(client, resource))
        return {
            "token_type": "Bearer",
            "access_token": access.token,
            "expires_in": access.expires_in,
            "scope": granted,
        }

    def save_code(self, code: str, request) -> None:
        """Store a new authorization code (hashed) with what the token exchange will need,
        the ``sub`` the client is given and the client's place in the SSO session."""
        auth: Authentication = request.user
        data = request.payload.data
        now, client_id = utcnow(), request.client.client_id
        code_row = {
            "code_hash": digest(code),
            "client_id": client_id,
            "person_id": auth.person.id,
            "sid": auth.sid,
            "redirect_uri": request.payload.redirect_uri
            or request.client.get_default_redirect_uri(),
            "scope": request.scope or "",
            "nonce": data.get("nonce"),
            "code_challenge": data["code_challenge"],
            "code_challenge_method": data.get("code_challenge_method", "S256"),
            "claims_request": getattr(request, "claims_request", None),
            "claims_locales": data.get("claims_locales"),
            "auth_time": auth.auth_time,
            "acr": auth.acr,
            "amr": auth.amr,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self.settings.code_seconds),
        }
        session = db.session
        dialect = session.get_bind().dialect.name
        seen = None
        if auth.sid:
            values = {"sid": auth.sid, "client_id": client_id, "person_id": auth.person.id,
                      "created_at": now}  # fmt: skip
            seen = SESSION_CLIENT[dialect].row(values)
        insert_together(
            session,
            INSERT_CODE.row(code_row),
            remembering(session, auth.person.id, request.client, self.pairwise_secret),
            seen,
        )

    def mint(self, grant, user, scope: str | None, include_refresh: bool) -> dict:
        """The token response (RFC 6749 5.1) for a validated grant."""
        client: Client = grant.request.client
        minter = self.minter()
        form = grant.request.form
        resource = form.get("resource") if form else None
        if grant.GRANT_TYPE == "client_credentials":
            return self.client_token(minter, client, scope, resource)
        audience = self.audience(client, resource)
        view = getattr(grant.request, "authorization_code", None) or grant.request.refresh_token
        with minter.together():  # the rows below in one round trip
            if view.pending is not None:
                minter.add(view.pending)  # the code's new family, before its tokens
            return self._family_tokens(minter, client, view, user, scope, audience, include_refresh)

    def _family_tokens(
        self,
        minter: TokenMinter,
        client: Client,
        view,
        user,
        scope: str | None,
        audience: str,
        include_refresh: bool,
    ) -> dict:
        """The tokens of a code or refresh grant, in the view's token family."""
        family: TokenFamily = view.family
        scope = scope or family.scope
        access = minter.access_token(client, scope, audience=audience, auth=user, family=family)
        token = {
            "token_type": "Bearer",
            "access_token": access.token,
            "expires_in": access.expires_in,
            "scope": scope,
        }
        if include_refresh and client.check_grant_type("refresh_token"):
            token["refresh_token"] = minter.refresh_token(family)
        scopes = scope.split()
        if "openid" in scopes:
            wanted = set((family.claims_request or {}).get("id_token") or {})
            extra = claims_for(
                db.session,
                user.person,
                scopes,
                only=wanted,
                municipality_names=self.municipalities,
                client=client,
                secret=self.pairwise_secret,
            )
            nonce = view.row.nonce if view.row is not None else None  # a refresh has no code
            token["id_token"] = minter.id_token(
                client, user, nonce=nonce, access_token=access.token, extra=extra
            )
        return token

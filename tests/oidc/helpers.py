"""Helpers for driving the OpenID Connect provider through Flask's test client, as a relying
party would: register a client, run the authorization code flow with PKCE, call endpoints."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import jwt
from flask import Flask

from core.db import db
from idp.oidc import clients
from tests.conftest import sign_in

REDIRECT = "https://rp.example/cb"
ALL_SCOPES = "openid profile email offline_access edu:school edu:roles edu:municipality"


@dataclass
class RP:
    """A registered relying party and its credentials."""

    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT
    metadata: dict = field(default_factory=dict)

    def basic(self) -> dict:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def register(app: Flask, **metadata) -> RP:
    """Register a client the way `digione clients add` does (admin)."""
    data = {
        "client_name": "Test service",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": ALL_SCOPES,
    }
    data.update(metadata)
    with app.app_context():
        made = clients.register(db.session, data, admin=True, development=True)
        db.session.commit()
        redirect_uri = data["redirect_uris"][0] if data.get("redirect_uris") else REDIRECT
        return RP(
            made.client.client_id, made.client_secret, redirect_uri, made.client.client_metadata
        )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(rp: RP, challenge: str, **extra) -> dict:
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def redirect_params(response) -> dict:
    """The query parameters of a redirect back to the client."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def signed_in_browser(app: Flask, city: str = "espoo", user: str = "pupil1"):
    browser = app.test_client()
    assert sign_in(browser, city, user).status_code == 302
    return browser


def get_code(browser, rp: RP, **extra) -> tuple[str, str, dict]:
    """Authorize in a signed-in browser; returns (code, verifier, params sent)."""
    verifier, challenge = pkce()
    params = auth_params(rp, challenge, **extra)
    result = redirect_params(browser.get("/oidc/authorize", query_string=params))
    assert "code" in result, result
    assert result["state"] == params["state"]
    return result["code"], verifier, params


def exchange(client, rp: RP, code: str, verifier: str, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post("/oidc/token", data=data, headers=rp.basic())


def tokens(app: Flask, rp: RP, city: str = "espoo", user: str = "pupil1", **extra) -> dict:
    """A full code flow; the token response."""
    browser = signed_in_browser(app, city, user)
    code, verifier, _params = get_code(browser, rp, **extra)
    response = exchange(browser, rp, code, verifier)
    assert response.status_code == 200, response.json
    return response.json


def jwks(client) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json)


def verify(client, token: str, audience: str | None = None, **options) -> dict:
    """Decode and verify one of the broker's JWTs with its published JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks(client).keys if k.key_id == kid)
    return jwt.decode(
        token,
        key=key,
        algorithms=["RS256", "ES256"],
        audience=audience,
        options={"verify_aud": audience is not None, **options},
    )

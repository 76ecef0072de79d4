"""Token introspection (RFC 7662) at /oidc/introspect and revocation (RFC 7009) at /oidc/revoke,
mapped to CHECKLISTS.md: "Revocation: revoking refresh revokes its access tokens and the other way
as configured, bound to client" and the token endpoint's "Cache-Control: no-store".

As configured (idp/oidc/introspection.py): revoking a refresh token revokes its whole family
(every refresh and access token of the grant); revoking an access token revokes that token only.
A client introspects and revokes only its own tokens; a public client cannot introspect.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from flask import Flask

from core.db import db
from idp.oidc import clients
from tests.oidc.forge import ISSUER, now, parts
from tests.oidc.helpers import (
    RP,
    auth_params,
    exchange,
    get_code,
    pkce,
    redirect_params,
    register,
    signed_in_browser,
)

RESOURCE = "https://api.oppimo.example/"
SCOPE = "openid profile offline_access"


@dataclass
class Grant:
    app: Flask
    client: object
    rp: RP
    access_token: str
    refresh_token: str


def code_flow(app: Flask, rp: RP, user: str = "pupil1", **token_extra) -> Grant:
    browser = signed_in_browser(app, "espoo", user)
    code, verifier, _ = get_code(browser, rp, scope=SCOPE)
    response = exchange(browser, rp, code, verifier, **token_extra)
    assert response.status_code == 200, response.json
    body = response.json
    return Grant(app, app.test_client(), rp, body["access_token"], body["refresh_token"])


@pytest.fixture
def grant(seeded) -> Grant:
    return code_flow(seeded, register(seeded))


@pytest.fixture
def other(seeded) -> RP:
    """Another confidential client of the same broker."""
    return register(seeded)


def no_store(response):
    """Every answer of both endpoints, errors included, is not cached (RFC 7662 section 2.2,
    RFC 6749 section 5.1)."""
    assert response.status_code != 500, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    return response


def introspect(client, token: str, headers: dict | None = None, **data):
    return no_store(client.post("/oidc/introspect", data={"token": token, **data}, headers=headers))


def revoke(client, token: str, headers: dict | None = None, **data):
    return no_store(client.post("/oidc/revoke", data={"token": token, **data}, headers=headers))


def refresh(grant: Grant, refresh_token: str | None = None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token or grant.refresh_token}
    return no_store(grant.client.post("/oidc/token", data=data, headers=grant.rp.basic()))


def userinfo(grant: Grant, access_token: str):
    return grant.client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def active(grant: Grant, token: str) -> bool:
    response = introspect(grant.client, token, grant.rp.basic())
    assert response.status_code == 200, response.json
    return response.json["active"]


def assert_invalid_client(response) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "active" not in response.json


# -- RFC 7662 --------------------------------------------------------------------------------------


def test_introspect_active_access_token(grant):
    """RFC 7662 section 2.2: active, scope, client_id, sub, exp, iat, iss, aud, token_type."""
    claims = parts(grant.access_token)[1]
    for hint in (None, "access_token", "refresh_token"):
        data = {"token_type_hint": hint} if hint else {}
        body = introspect(grant.client, grant.access_token, grant.rp.basic(), **data).json
        assert body["active"] is True
        assert body["token_type"] == "Bearer"
        for name in ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti"):
            assert body[name] == claims[name], name
        assert body["client_id"] == grant.rp.client_id
        assert body["iss"] == ISSUER
        assert body["scope"] == SCOPE
        assert body["iat"] <= now() < body["exp"]


def test_introspect_active_refresh_token(grant):
    for hint in (None, "refresh_token", "access_token"):
        data = {"token_type_hint": hint} if hint else {}
        body = introspect(grant.client, grant.refresh_token, grant.rp.basic(), **data).json
        assert body["active"] is True
        assert body["client_id"] == grant.rp.client_id
        assert body["scope"] == SCOPE
        assert body["iat"] <= now() < body["exp"]
        assert "sub" not in body or body["sub"] == parts(grant.access_token)[1]["sub"]


UNKNOWN = ["unknown", secrets.token_urlsafe(32), "", "a.b.c", "e30.e30.", "x" * 4000]


def test_introspect_unknown_token_inactive(grant):
    for token in UNKNOWN:
        assert introspect(grant.client, token, grant.rp.basic()).json == {"active": False}


def test_introspect_id_token_inactive(seeded):
    """An ID token is not a token of the introspection endpoint (wrong typ)."""
    rp = register(seeded)
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    id_token = exchange(browser, rp, code, verifier).json["id_token"]
    assert introspect(browser, id_token, rp.basic()).json == {"active": False}


def test_introspect_used_refresh_token_inactive(grant):
    """After rotation the old refresh token is inactive, the new one active."""
    rotated = refresh(grant).json["refresh_token"]
    assert not active(grant, grant.refresh_token)
    assert active(grant, rotated)


def test_introspect_another_clients_token_inactive(grant, other):
    """RFC 7662 section 2.2: a token the caller may not introspect is {"active": false}, the
    same answer as for an unknown token (nothing about it leaks)."""
    for token in (grant.access_token, grant.refresh_token):
        assert introspect(grant.client, token, other.basic()).json == {"active": False}
        assert active(grant, token)


def test_introspection_requires_client_authentication(grant):
    """RFC 7662 section 2.1: the caller authenticates; a failure is 401 invalid_client."""
    assert_invalid_client(introspect(grant.client, grant.access_token))
    wrong = RP(grant.rp.client_id, "wrong-secret").basic()
    assert_invalid_client(introspect(grant.client, grant.access_token, wrong))
    unknown = RP("no-such-client", "secret").basic()
    assert_invalid_client(introspect(grant.client, grant.access_token, unknown))
    post = {"client_id": grant.rp.client_id, "client_secret": "wrong-secret"}
    response = introspect(grant.client, grant.access_token, **post)
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"


def test_introspection_without_token_parameter(grant):
    response = no_store(grant.client.post("/oidc/introspect", data={}, headers=grant.rp.basic()))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def public_client_tokens(app: Flask) -> tuple[RP, dict]:
    """A public client (token_endpoint_auth_method none, PKCE only) and its token response."""
    rp = register(app, token_endpoint_auth_method="none")
    assert rp.secret is None
    browser = signed_in_browser(app)
    verifier, challenge = pkce()
    params = auth_params(rp, challenge, scope=SCOPE)
    code = redirect_params(browser.get("/oidc/authorize", query_string=params))["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        "client_id": rp.client_id,
    }
    response = browser.post("/oidc/token", data=data)
    assert response.status_code == 200, response.json
    return rp, response.json


def test_public_client_cannot_introspect(seeded):
    """Introspection is for confidential clients and resource servers (discovery lists no
    "none" for it): a public client, even asking about its own token, is invalid_client."""
    rp, tokens = public_client_tokens(seeded)
    client = seeded.test_client()
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert_invalid_client(introspect(client, token, client_id=rp.client_id))
    advertised = client.get("/.well-known/openid-configuration").json
    assert "none" not in advertised["introspection_endpoint_auth_methods_supported"]


# resource servers (introspection = true, admin only)


def resource_server(app: Flask, resources: list[str], introspection: bool = True) -> RP:
    """A resource server registered by an admin: a client_credentials client with
    ``resources`` and, unless told otherwise, introspection = true."""
    rs = register(
        app,
        redirect_uris=[],
        grant_types=["client_credentials"],
        scope="edu:school",
        resources=resources,
        introspection=introspection,
    )
    assert rs.metadata.get("introspection", False) is introspection
    return rs


def test_introspection_flag_cannot_be_self_registered(app):
    """Dynamic (non-admin) registration cannot make a client a resource server that reads
    other clients' tokens."""
    metadata = {
        "client_name": "Sneaky",
        "redirect_uris": ["https://rp.example/cb"],
        "introspection": True,
        "resources": [RESOURCE],
    }
    with app.app_context(), pytest.raises(clients.InvalidClientMetadata) as refused:
        clients.register(db.session, metadata, admin=False, development=True)
    assert refused.value.description.startswith("introspection:")


def test_resource_server_introspects_tokens_for_its_audience(seeded):
    """A resource server with introspection = true may introspect access tokens whose aud is
    one of its ``resources``; nothing else (not other audiences, not refresh tokens)."""
    rp = register(seeded, resources=[RESOURCE])
    for_api = code_flow(seeded, rp, resource=RESOURCE)
    assert parts(for_api.access_token)[1]["aud"] == RESOURCE
    for_issuer = code_flow(seeded, rp)
    assert parts(for_issuer.access_token)[1]["aud"] == ISSUER
    client = seeded.test_client()

    api = resource_server(seeded, [RESOURCE])
    body = introspect(client, for_api.access_token, api.basic()).json
    assert body["active"] is True
    assert body["aud"] == RESOURCE
    assert body["client_id"] == rp.client_id
    assert body["sub"] == parts(for_api.access_token)[1]["sub"]
    assert introspect(client, for_issuer.access_token, api.basic()).json == {"active": False}
    assert introspect(client, for_api.refresh_token, api.basic()).json == {"active": False}

    elsewhere = resource_server(seeded, ["https://other.example/"])
    assert introspect(client, for_api.access_token, elsewhere.basic()).json == {"active": False}
    flagless = resource_server(seeded, [RESOURCE], introspection=False)
    assert introspect(client, for_api.access_token, flagless.basic()).json == {"active": False}
    # revoked: inactive for the resource server too
    assert revoke(client, for_api.refresh_token, rp.basic()).status_code == 200
    assert introspect(client, for_api.access_token, api.basic()).json == {"active": False}


# -- RFC 7009 --------------------------------------------------------------------------------------


def test_revoking_refresh_token_revokes_its_family(grant):
    """RFC 7009 section 2.1: revoking a refresh token revokes the grant: that refresh token, the
    ones rotated before and after it, and every access token issued from the grant."""
    first_access = grant.access_token
    rotated = refresh(grant).json
    assert active(grant, first_access) and active(grant, rotated["access_token"])

    response = revoke(
        grant.client, rotated["refresh_token"], grant.rp.basic(), token_type_hint="refresh_token"
    )
    assert response.status_code == 200, response.json

    again = refresh(grant, rotated["refresh_token"])
    assert again.status_code == 400
    assert again.json["error"] == "invalid_grant"
    for token in (first_access, rotated["access_token"], rotated["refresh_token"]):
        assert not active(grant, token)
    for token in (first_access, rotated["access_token"]):
        response = userinfo(grant, token)
        assert response.status_code == 401
        assert response.json["error"] == "invalid_token"


def test_revoking_refresh_token_with_wrong_hint(grant):
    """RFC 7009 section 2.1: a wrong hint only widens the search."""
    assert (
        revoke(
            grant.client, grant.refresh_token, grant.rp.basic(), token_type_hint="access_token"
        ).status_code
        == 200
    )
    assert refresh(grant).json["error"] == "invalid_grant"
    assert not active(grant, grant.access_token)


def test_revoking_access_token_makes_it_inactive(grant):
    """As configured: the access token alone; the grant's refresh token still works."""
    assert revoke(grant.client, grant.access_token, grant.rp.basic()).status_code == 200
    assert not active(grant, grant.access_token)
    assert userinfo(grant, grant.access_token).status_code == 401
    assert active(grant, grant.refresh_token)
    renewed = refresh(grant)
    assert renewed.status_code == 200, renewed.json
    assert userinfo(grant, renewed.json["access_token"]).status_code == 200
    assert not active(grant, grant.access_token)


def test_revoking_client_credentials_access_token(app):
    """A token of no grant family (client_credentials) is revoked by its jti."""
    rs = register(app, redirect_uris=[], grant_types=["client_credentials"], scope="edu:school")
    client = app.test_client()
    response = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=rs.basic()
    )
    token = response.json["access_token"]
    assert introspect(client, token, rs.basic()).json["active"] is True
    assert revoke(client, token, rs.basic()).status_code == 200
    assert introspect(client, token, rs.basic()).json == {"active": False}
    assert revoke(client, token, rs.basic()).status_code == 200  # twice is fine


def test_revoking_unknown_token_succeeds(grant):
    """RFC 7009 section 2.2: an invalid token is no error: 200."""
    for token in UNKNOWN:
        assert revoke(grant.client, token, grant.rp.basic()).status_code == 200
    assert active(grant, grant.access_token)
    assert active(grant, grant.refresh_token)


def test_revoking_twice_succeeds(grant):
    assert revoke(grant.client, grant.refresh_token, grant.rp.basic()).status_code == 200
    assert revoke(grant.client, grant.refresh_token, grant.rp.basic()).status_code == 200
    assert revoke(grant.client, grant.access_token, grant.rp.basic()).status_code == 200


def test_revoking_another_clients_token_refused(grant, other):
    """RFC 7009 section 2.1: the server checks the token was issued to the caller. Authlib
    answers 400 invalid_grant; the token stays live."""
    for token in (grant.access_token, grant.refresh_token):
        response = revoke(grant.client, token, other.basic())
        assert response.status_code == 400
        assert response.json["error"] == "invalid_grant"
    assert active(grant, grant.access_token)
    assert userinfo(grant, grant.access_token).status_code == 200
    assert refresh(grant).status_code == 200


def test_revocation_requires_client_authentication(grant):
    """RFC 7009 section 2.1: confidential clients authenticate."""
    assert_invalid_client(revoke(grant.client, grant.refresh_token))
    wrong = RP(grant.rp.client_id, "wrong-secret").basic()
    assert_invalid_client(revoke(grant.client, grant.refresh_token, wrong))
    # a confidential client's id alone is no authentication (method "none" is for public ones)
    response = revoke(grant.client, grant.refresh_token, client_id=grant.rp.client_id)
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"
    assert active(grant, grant.refresh_token)


def test_public_client_revokes_its_own_tokens_only(seeded, grant):
    """RFC 7009 section 5: a public client identifies itself by client_id; it can revoke its
    own tokens, not a confidential client's."""
    rp, tokens = public_client_tokens(seeded)
    client = seeded.test_client()
    response = revoke(client, grant.refresh_token, client_id=rp.client_id)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert active(grant, grant.refresh_token)
    assert revoke(client, tokens["refresh_token"], client_id=rp.client_id).status_code == 200
    data = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": rp.client_id,
    }
    response = no_store(client.post("/oidc/token", data=data))
    assert response.json["error"] == "invalid_grant"


def test_revocation_without_token_parameter(grant):
    response = no_store(grant.client.post("/oidc/revoke", data={}, headers=grant.rp.basic()))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_unknown_token_type_hint_is_ignored(grant):
    """A hint is only a hint: one the server does not know widens the search (RFC 7662 section
    2.1: "MUST extend its search"; RFC 7009 section 2.1: "MAY ignore this parameter"). Authlib
    answered 401 unsupported_token_type with no WWW-Authenticate (RFC 7235 section 3.1)."""
    for hint in ("id_token", "urn:ietf:params:oauth:token-type:jwt", ""):
        body = introspect(
            grant.client, grant.access_token, grant.rp.basic(), token_type_hint=hint
        ).json
        assert body["active"] is True, hint
    response = revoke(
        grant.client, grant.refresh_token, grant.rp.basic(), token_type_hint="id_token"
    )
    assert response.status_code == 200, response.json
    assert not active(grant, grant.access_token)

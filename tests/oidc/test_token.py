"""The token endpoint against the OIDF Basic OP plan and the OAuth (RFC 9700) token endpoint and
PKCE lists in shared/design/CHECKLISTS.md."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.db import db, utcnow
from idp.oidc.models import AuthorizationCode
from tests.oidc.helpers import exchange, get_code, register, signed_in_browser, tokens, verify


@pytest.fixture
def rp(seeded):
    return register(seeded)


def _refresh(client, rp, refresh_token, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return client.post("/oidc/token", data=data, headers=rp.basic())


def _introspect(client, rp, token):
    return client.post("/oidc/introspect", data={"token": token}, headers=rp.basic()).json


def test_token_responses_are_not_cached(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    ok = exchange(browser, rp, code, verifier)
    bad = exchange(browser, rp, code, verifier)
    for response in (ok, bad):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"


def test_oidcc_codereuse_fails_and_revokes_what_the_first_exchange_issued(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    first = exchange(browser, rp, code, verifier).json
    assert _introspect(browser, rp, first["access_token"])["active"] is True
    second = exchange(browser, rp, code, verifier)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    assert _introspect(browser, rp, first["access_token"])["active"] is False
    assert _refresh(browser, rp, first["refresh_token"]).json["error"] == "invalid_grant"


def test_oidcc_codereuse_30seconds(seeded, rp):
    """The same as codereuse, with the code's clock moved 30 s on (it stays spent)."""
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    assert exchange(browser, rp, code, verifier).status_code == 200
    with seeded.app_context():
        db.session.execute(
            update(AuthorizationCode).values(used_at=utcnow() - timedelta(seconds=30))
        )
        db.session.commit()
    assert exchange(browser, rp, code, verifier).json["error"] == "invalid_grant"


def test_code_times_out(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    with seeded.app_context():
        db.session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert exchange(browser, rp, code, verifier).json["error"] == "invalid_grant"


def test_code_lives_60_seconds(seeded, rp):
    browser = signed_in_browser(seeded)
    get_code(browser, rp)
    with seeded.app_context():
        row = db.session.query(AuthorizationCode).one()
        assert (row.expires_at - row.created_at).total_seconds() == pytest.approx(60, abs=1)
        assert len(row.code_hash) == 64  # only the digest is stored


def test_code_bound_to_client(seeded, rp):
    other = register(seeded)
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    stolen = exchange(browser, other, code, verifier)
    assert stolen.json["error"] == "invalid_grant"
    assert exchange(browser, rp, code, verifier).status_code == 200


def test_code_bound_to_redirect_uri(seeded):
    rp = register(seeded, redirect_uris=["https://rp.example/cb", "https://rp.example/other"])
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    wrong = exchange(browser, rp, code, verifier, redirect_uri="https://rp.example/other")
    assert wrong.json["error"] == "invalid_grant"


def test_pkce_wrong_verifier(seeded, rp):
    browser = signed_in_browser(seeded)
    code, _verifier, _ = get_code(browser, rp)
    response = exchange(browser, rp, code, "x" * 43)
    assert response.json["error"] == "invalid_grant"


def test_pkce_downgrade_challenge_without_verifier(seeded, rp):
    browser = signed_in_browser(seeded)
    code, _verifier, _ = get_code(browser, rp)
    assert exchange(browser, rp, code, None).json["error"] == "invalid_request"


def test_pkce_short_verifier_refused(seeded, rp):
    browser = signed_in_browser(seeded)
    code, _verifier, _ = get_code(browser, rp)
    assert exchange(browser, rp, code, "short").json["error"] == "invalid_request"


def test_oidcc_ensure_request_with_valid_pkce_succeeds_for_a_public_client(seeded):
    public = register(seeded, token_endpoint_auth_method="none")
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, public)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": public.redirect_uri,
        "code_verifier": verifier,
        "client_id": public.client_id,
    }
    response = browser.post("/oidc/token", data=data)
    assert response.status_code == 200 and response.json["id_token"]


def test_oidcc_server_client_secret_post(seeded):
    rp = register(seeded, token_endpoint_auth_method="client_secret_post")
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        "client_id": rp.client_id,
        "client_secret": rp.secret,
    }
    assert browser.post("/oidc/token", data=data).status_code == 200


def test_wrong_secret_is_invalid_client_with_www_authenticate(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    raw = base64.b64encode(f"{rp.client_id}:wrong".encode()).decode()
    response = browser.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": rp.redirect_uri,
        },
        headers={"Authorization": f"Basic {raw}"},
    )
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_no_credentials_in_the_url(seeded):
    rp = register(seeded, token_endpoint_auth_method="client_secret_post")
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, rp)
    query = {"client_id": rp.client_id, "client_secret": rp.secret}
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": rp.redirect_uri}  # fmt: skip
    response = browser.post("/oidc/token", query_string=query, data=data)
    assert response.status_code == 401 and response.json["error"] == "invalid_client"


def test_no_password_grant(seeded, rp):
    data = {"grant_type": "password", "username": "pupil1", "password": "demo"}
    response = seeded.test_client().post("/oidc/token", data=data, headers=rp.basic())
    assert response.status_code == 400 and response.json["error"] == "unsupported_grant_type"


def test_oidcc_refresh_token_rotates_and_keeps_the_subject(seeded, rp):
    client = seeded.test_client()
    first = tokens(seeded, rp)
    refreshed = _refresh(client, rp, first["refresh_token"])
    assert refreshed.status_code == 200
    body = refreshed.json
    assert body["refresh_token"] != first["refresh_token"]
    old_id = verify(client, first["id_token"], audience=rp.client_id)
    new_id = verify(client, body["id_token"], audience=rp.client_id)
    assert new_id["sub"] == old_id["sub"] and "nonce" not in new_id


def test_refresh_reuse_revokes_the_family(seeded, rp):
    client = seeded.test_client()
    first = tokens(seeded, rp)
    second = _refresh(client, rp, first["refresh_token"]).json
    replay = _refresh(client, rp, first["refresh_token"])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert _refresh(client, rp, second["refresh_token"]).json["error"] == "invalid_grant"
    assert _introspect(client, rp, second["access_token"])["active"] is False


def test_refresh_bound_to_client(seeded, rp):
    other = register(seeded)
    client = seeded.test_client()
    first = tokens(seeded, rp)
    assert _refresh(client, other, first["refresh_token"]).json["error"] == "invalid_grant"
    assert _refresh(client, rp, first["refresh_token"]).status_code == 200


def test_refresh_cannot_widen_the_scope(seeded, rp):
    client = seeded.test_client()
    first = tokens(seeded, rp, scope="openid profile")
    wider = _refresh(client, rp, first["refresh_token"], scope="openid profile email")
    assert wider.json["error"] == "invalid_scope"


def test_client_credentials_gives_a_short_jwt_access_token(seeded):
    service = register(
        seeded,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="edu:school edu:roles",
        resources=["https://api.example/school"],
    )
    client = seeded.test_client()
    data = {"grant_type": "client_credentials", "scope": "edu:school",
            "resource": "https://api.example/school"}  # fmt: skip
    response = client.post("/oidc/token", data=data, headers=service.basic())
    assert response.status_code == 200, response.json
    body = response.json
    assert body["scope"] == "edu:school" and "refresh_token" not in body
    claims = verify(client, body["access_token"], audience="https://api.example/school")
    assert claims["client_id"] == claims["sub"] == service.client_id
    assert claims["exp"] - claims["iat"] == 300


def test_client_credentials_cannot_ask_for_openid(seeded):
    service = register(
        seeded, grant_types=["client_credentials"], redirect_uris=[], scope="edu:school"
    )
    data = {"grant_type": "client_credentials", "scope": "openid"}
    response = seeded.test_client().post("/oidc/token", data=data, headers=service.basic())
    assert response.status_code == 400


def test_grant_type_not_registered_is_unauthorized_client(seeded, rp):
    data = {"grant_type": "client_credentials"}
    response = seeded.test_client().post("/oidc/token", data=data, headers=rp.basic())
    assert response.json["error"] == "unauthorized_client"


def test_get_is_not_allowed_at_the_token_endpoint(seeded):
    response = seeded.test_client().get("/oidc/token")
    assert response.status_code == 405


@pytest.mark.parametrize(
    "path", ["/oidc/token", "/oidc/introspect", "/oidc/revoke", "/oidc/register"]
)
def test_api_errors_are_json_not_pages(seeded, path):
    response = seeded.test_client().put(path)
    assert response.status_code == 405
    assert response.is_json and response.json["error"] == "invalid_request"


def test_a_parameter_given_twice_is_invalid_request(seeded, rp):
    """RFC 6749 section 3.2: parameters MUST NOT be included more than once (here a code)."""
    body = "grant_type=authorization_code&code=a&code=b&redirect_uri=x&code_verifier=v"
    response = seeded.test_client().post(
        "/oidc/token",
        data=body,
        headers=rp.basic(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "'code'" in response.json["error_description"]
    assert response.headers["Cache-Control"] == "no-store"

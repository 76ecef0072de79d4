"""Dynamic client registration (RFC 7591) and management (RFC 7592) at /oidc/register, on the
test database (SQLite, or PostgreSQL with DIGIONE_TEST_DATABASE_URL)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.app import DIGIONE, config_of
from core.db import db, utcnow
from idp.oidc import clients
from idp.oidc.models import Client, InitialAccessToken

ISSUER = "http://127.0.0.1:5000"  # config/defaults.toml
REDIRECT = "https://oppimo.espoo.fi/callback"
METADATA = {"client_name": "Oppimo", "redirect_uris": [REDIRECT], "scope": "openid profile"}


@pytest.fixture
def api(app):
    """A test client of the app with the registration blueprint (registered here if build_app
    does not yet)."""
    if "oidc_registration" not in app.blueprints:
        from idp.oidc.registration import bp

        app.register_blueprint(bp)
    return app.test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register(api, token: str, metadata: dict | None = None):
    return api.post("/oidc/register", json=metadata or METADATA, headers=bearer(token))


@pytest.fixture
def registered(api, initial_token) -> dict:
    response = register(api, initial_token)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def row(app, client_id: str) -> Client | None:
    with app.app_context():
        client = db.session.get(Client, client_id)
        if client is not None:
            db.session.expunge(client)
        return client


def assert_json_no_store(response) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.mimetype == "application/json"


def assert_invalid_token(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.get_json()["error"] == "invalid_token"
    assert_json_no_store(response)


# -- RFC 7591 registration


def test_register_returns_201_with_secret_token_and_configuration_uri(api, registered, app):
    info = registered
    assert info["client_name"] == "Oppimo" and info["redirect_uris"] == [REDIRECT]
    assert info["scope"] == "openid profile"
    assert info["grant_types"] == ["authorization_code"]
    assert info["token_endpoint_auth_method"] == "client_secret_basic"
    assert info["subject_type"] == "pairwise"
    assert isinstance(info["client_id_issued_at"], int)
    assert info["client_secret_expires_at"] == 0
    assert len(info["client_secret"]) >= 43 and len(info["registration_access_token"]) >= 43
    assert info["registration_client_uri"] == f"{ISSUER}/oidc/register/{info['client_id']}"
    client = row(app, info["client_id"])
    assert client.check_client_secret(info["client_secret"])


def test_register_response_headers(api, initial_token):
    response = register(api, initial_token)
    assert response.status_code == 201
    assert_json_no_store(response)


def test_database_holds_only_hashes(api, registered, initial_token, app):
    secret, token = registered["client_secret"], registered["registration_access_token"]
    client = row(app, registered["client_id"])
    assert client.client_secret_hash == clients.hash_secret(secret)
    assert client.registration_access_token_hash == clients.hash_secret(token)
    with app.app_context():
        rows = db.session.execute(select(Client.__table__)).all()
        rows += db.session.execute(select(InitialAccessToken.__table__)).all()
    dump = json.dumps([list(map(str, r)) for r in rows])
    for plain in (secret, token, initial_token):
        assert plain not in dump


def test_register_public_client_gets_no_secret(api, initial_token):
    metadata = {**METADATA, "token_endpoint_auth_method": "none"}
    info = register(api, initial_token, metadata).get_json()
    assert "client_secret" not in info and "client_secret_expires_at" not in info
    assert info["registration_access_token"]


def test_initial_access_token_can_register_more_than_once(api, initial_token):
    assert register(api, initial_token).status_code == 201
    assert register(api, initial_token).status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwdw=="},
    ],
    ids=["missing", "empty", "wrong", "basic"],
)
def test_register_without_valid_initial_token_is_401(api, initial_token, headers, app):
    assert_invalid_token(api.post("/oidc/register", json=METADATA, headers=headers))
    with app.app_context():
        assert db.session.scalars(select(Client)).all() == []


def test_register_with_expired_initial_token_is_401(api, initial_token, app):
    with app.app_context():
        db.session.execute(update(InitialAccessToken).values(expires_at=utcnow() - timedelta(1)))
        db.session.commit()
    assert_invalid_token(register(api, initial_token))


def test_register_with_registration_access_token_is_401(api, registered):
    assert_invalid_token(register(api, registered["registration_access_token"]))


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({**METADATA, "redirect_uris": ["http://oppimo.espoo.fi/cb"]}, "invalid_redirect_uri"),
        ({**METADATA, "redirect_uris": ["https://oppimo.espoo.fi/cb#x"]}, "invalid_redirect_uri"),
        ({**METADATA, "redirect_uris": []}, "invalid_redirect_uri"),
        ({**METADATA, "grant_types": ["password"]}, "invalid_client_metadata"),
        ({**METADATA, "client_name": ""}, "invalid_client_metadata"),
        ({**METADATA, "scope": "openid address"}, "invalid_client_metadata"),
        ({**METADATA, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ],
)
def test_register_bad_metadata_is_400(api, initial_token, metadata, error):
    response = register(api, initial_token, metadata)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == error and body["error_description"]
    assert_json_no_store(response)


def test_register_learner_id_refused_for_dynamic_registration(api, initial_token):
    response = register(api, initial_token, {**METADATA, "scope": "openid edu:learner_id"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"
    assert "edu:learner_id" in response.get_json()["error_description"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "client_name=Oppimo", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"data": json.dumps(["client_name"]), "content_type": "application/json"},
        {"data": json.dumps(METADATA), "content_type": "text/plain"},
    ],
    ids=["form", "broken-json", "json-array", "text-plain"],
)
def test_register_non_json_body_is_400(api, initial_token, kwargs):
    response = api.post("/oidc/register", headers=bearer(initial_token), **kwargs)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"
    assert_json_no_store(response)


def test_registration_disabled_is_404(api, initial_token, app):
    cfg = config_of(app)
    oidc = cfg.settings.oidc.model_copy(update={"registration": False})
    settings = cfg.settings.model_copy(update={"oidc": oidc})
    app.extensions[DIGIONE] = dataclasses.replace(cfg, settings=settings)
    response = register(api, initial_token)
    assert response.status_code == 404 and response.get_json()["error"]
    assert_json_no_store(response)


# -- RFC 7592 management


def configuration(registered: dict) -> str:
    return f"/oidc/register/{registered['client_id']}"


def test_read_with_registration_token(api, registered):
    response = api.get(
        configuration(registered), headers=bearer(registered["registration_access_token"])
    )
    assert response.status_code == 200
    assert_json_no_store(response)
    info = response.get_json()
    assert info["client_id"] == registered["client_id"]
    assert info["registration_client_uri"] == registered["registration_client_uri"]
    assert info["redirect_uris"] == [REDIRECT] and info["client_secret_expires_at"] == 0
    assert "client_secret" not in info and "registration_access_token" not in info


def test_read_without_the_right_token_is_401(api, registered, initial_token):
    path = configuration(registered)
    assert_invalid_token(api.get(path))
    assert_invalid_token(api.get(path, headers=bearer("wrong")))
    assert_invalid_token(api.get(path, headers=bearer(initial_token)))
    assert_invalid_token(api.get(path, headers=bearer(registered["client_secret"])))


def test_read_other_clients_configuration_is_401(api, registered, initial_token):
    other = register(api, initial_token).get_json()
    token = other["registration_access_token"]
    assert_invalid_token(api.get(configuration(registered), headers=bearer(token)))


def test_unknown_client_looks_like_a_wrong_token(api, registered):
    token = bearer(registered["registration_access_token"])
    unknown = api.get("/oidc/register/no-such-client", headers=token)
    wrong = api.get(configuration(registered), headers=bearer("wrong"))
    assert_invalid_token(unknown)
    assert unknown.get_json() == wrong.get_json()


def test_cli_client_cannot_be_managed_over_rfc_7592(api, app):
    with app.app_context():
        made = clients.register(db.session, METADATA, admin=True, development=True)
        db.session.commit()
        client_id = made.client.client_id
    assert_invalid_token(api.get(f"/oidc/register/{client_id}", headers=bearer("")))
    assert_invalid_token(api.get(f"/oidc/register/{client_id}", headers=bearer("None")))


def put(api, registered: dict, body: dict, token: str | None = None):
    token = token or registered["registration_access_token"]
    return api.put(configuration(registered), json=body, headers=bearer(token))


def test_update_replaces_metadata(api, registered, app):
    body = {
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
        "client_name": "Oppimo 2",
        "redirect_uris": [REDIRECT, "https://oppimo.espoo.fi/cb2"],
        "registration_client_uri": registered["registration_client_uri"],  # ignored
        "client_id_issued_at": 1,  # ignored
    }
    response = put(api, registered, body)
    assert response.status_code == 200, response.get_json()
    assert_json_no_store(response)
    info = response.get_json()
    assert info["client_name"] == "Oppimo 2"
    assert info["redirect_uris"] == [REDIRECT, "https://oppimo.espoo.fi/cb2"]
    assert info["scope"] == "openid"  # left out: back to the default (full replacement)
    assert info["client_id_issued_at"] == registered["client_id_issued_at"]
    assert "client_secret" not in info  # the secret did not change
    client = row(app, registered["client_id"])
    assert client.client_metadata["client_name"] == "Oppimo 2"
    assert client.check_client_secret(registered["client_secret"])


def test_update_without_client_secret_in_body_is_allowed(api, registered):
    body = {**METADATA, "client_id": registered["client_id"], "client_name": "Uusi"}
    assert put(api, registered, body).get_json()["client_name"] == "Uusi"


@pytest.mark.parametrize(
    "change",
    [{"client_id": None}, {"client_id": "someone-else"}, {"client_secret": "wrong"}],
    ids=["no-client-id", "other-client-id", "wrong-secret"],
)
def test_update_must_name_this_client_and_its_secret(api, registered, change, app):
    body = {**METADATA, "client_id": registered["client_id"], "client_name": "Uusi", **change}
    response = put(api, registered, body)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert row(app, registered["client_id"]).client_metadata["client_name"] == "Oppimo"


def test_update_bad_metadata_is_400_and_changes_nothing(api, registered, app):
    body = {**METADATA, "client_id": registered["client_id"], "redirect_uris": ["http://x.fi/"]}
    response = put(api, registered, body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_redirect_uri"
    assert row(app, registered["client_id"]).redirect_uris == [REDIRECT]


def test_update_cannot_add_learner_id(api, registered):
    body = {**METADATA, "client_id": registered["client_id"], "scope": "openid edu:learner_id"}
    response = put(api, registered, body)
    assert response.status_code == 400
    assert "edu:learner_id" in response.get_json()["error_description"]


def test_update_may_keep_learner_id_an_admin_granted(api, app):
    metadata = {**METADATA, "scope": "openid edu:learner_id"}
    with app.app_context():
        made = clients.register(db.session, metadata, admin=True, development=True, dynamic=True)
        db.session.commit()
        registered = {
            "client_id": made.client.client_id,
            "registration_access_token": made.registration_access_token,
        }
    body = {**metadata, "client_id": registered["client_id"], "client_name": "Uusi"}
    response = put(api, registered, body)
    assert response.status_code == 200
    assert response.get_json()["scope"] == "openid edu:learner_id"


def test_update_to_public_client_drops_the_secret_and_back_issues_one(api, registered, app):
    public = {
        **METADATA,
        "client_id": registered["client_id"],
        "token_endpoint_auth_method": "none",
    }
    info = put(api, registered, public).get_json()
    assert "client_secret" not in info and "client_secret_expires_at" not in info
    assert row(app, registered["client_id"]).client_secret_hash is None
    confidential = {**public, "token_endpoint_auth_method": "client_secret_post"}
    info = put(api, registered, confidential).get_json()
    assert info["client_secret_expires_at"] == 0
    assert row(app, registered["client_id"]).check_client_secret(info["client_secret"])
    assert info["client_secret"] != registered["client_secret"]


def test_update_without_the_right_token_is_401(api, registered, app):
    body = {**METADATA, "client_id": registered["client_id"], "client_name": "Uusi"}
    assert_invalid_token(put(api, registered, body, token="wrong"))
    assert row(app, registered["client_id"]).client_metadata["client_name"] == "Oppimo"


def test_update_non_json_body_is_400(api, registered):
    response = api.put(
        configuration(registered),
        data="client_name=x",
        headers=bearer(registered["registration_access_token"]),
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_delete_without_the_right_token_is_401(api, registered, app):
    assert_invalid_token(api.delete(configuration(registered)))
    assert_invalid_token(api.delete(configuration(registered), headers=bearer("wrong")))
    assert row(app, registered["client_id"]) is not None


def test_delete_with_registration_token_is_204_and_forgets_the_client(api, registered, app):
    token = bearer(registered["registration_access_token"])
    response = api.delete(configuration(registered), headers=token)
    assert response.status_code == 204 and response.data == b""
    assert response.headers["Cache-Control"] == "no-store"
    assert row(app, registered["client_id"]) is None
    assert_invalid_token(api.get(configuration(registered), headers=token))
    assert_invalid_token(api.delete(configuration(registered), headers=token))

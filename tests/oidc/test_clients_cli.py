"""`digione clients add|list|show|rotate-secret|remove|token` through click's CliRunner, on the
test database (SQLite, or PostgreSQL with DIGIONE_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import db
from idp.oidc import clients
from idp.oidc.models import Client, InitialAccessToken

REDIRECT = "https://oppimo.espoo.fi/callback"


@pytest.fixture
def digione(app, digione_cli):
    """Runs `digione clients ...`; ``app`` (same database) empties the tables afterwards."""
    return lambda *args, **kwargs: digione_cli("clients", *args, **kwargs)


def stored(app, client_id: str) -> Client | None:
    with app.app_context():
        client = db.session.get(Client, client_id)
        if client is not None:
            db.session.expunge(client)
        return client


def add_json(digione, *args: str) -> dict:
    return json.loads(
        digione("add", "--name", "Oppimo", "--redirect-uri", REDIRECT, *args, "--json")
    )


def test_add_json_prints_client_id_and_secret_and_stores_only_a_hash(digione, app):
    info = add_json(
        digione,
        "--redirect-uri", "http://127.0.0.1:5001/callback",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--scope", "openid profile offline_access edu:school edu:learner_id",
        "--token-endpoint-auth-method", "client_secret_post",
        "--subject-type", "public",
        "--backchannel-logout-uri", "https://oppimo.espoo.fi/logout",
        "--post-logout-redirect-uri", "https://oppimo.espoo.fi/bye",
        "--id-token-signed-response-alg", "ES256",
        "--approval-scope", "edu:school",
        "--resource", "https://api.espoo.fi/",
        "--access-token-lifetime", "600",
    )  # fmt: skip
    assert info["client_name"] == "Oppimo"
    assert info["redirect_uris"] == [REDIRECT, "http://127.0.0.1:5001/callback"]
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info["scope"] == "openid profile offline_access edu:school edu:learner_id"  # admin
    assert info["token_endpoint_auth_method"] == "client_secret_post"
    assert info["subject_type"] == "public"
    assert info["backchannel_logout_session_required"] is True
    assert info["post_logout_redirect_uris"] == ["https://oppimo.espoo.fi/bye"]
    assert info["id_token_signed_response_alg"] == "ES256"
    assert info["approval_scopes"] == ["edu:school"]
    assert info["resources"] == ["https://api.espoo.fi/"]
    assert info["access_token_lifetime"] == 600
    assert info["client_secret_expires_at"] == 0
    assert "registration_access_token" not in info  # CLI clients are not managed over RFC 7592
    client = stored(app, info["client_id"])
    assert client.client_secret_hash == clients.hash_secret(info["client_secret"])
    assert client.registration_access_token_hash is None
    assert info["client_secret"] not in json.dumps(client.client_metadata)


def test_add_readable_summary_shows_secret_once_with_warning(digione, app):
    output = digione("add", "--name", "Oppimo", "--redirect-uri", REDIRECT)
    values = dict(line.split(":", 1) for line in output.splitlines() if line and ": " in line)
    client_id, secret = values["client_id"].strip(), values["client_secret"].strip()
    assert "keeps only a hash" in output and "cannot show it again" in output
    assert stored(app, client_id).check_client_secret(secret)
    shown = digione("show", client_id)
    assert client_id in shown and secret not in shown and "client_secret:" not in shown


def test_add_public_client_has_no_secret(digione):
    info = add_json(digione, "--token-endpoint-auth-method", "none")
    assert "client_secret" not in info and "client_secret_expires_at" not in info


def test_add_private_key_jwt_with_jwks_file(digione, tmp_path):
    from joserfc.jwk import ECKey

    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    info = add_json(digione, "--token-endpoint-auth-method", "private_key_jwt", "--jwks", str(path))
    assert info["jwks"] == jwks and "client_secret" not in info


def test_add_bad_metadata_is_one_line_and_exit_1(digione, app):
    error = digione("add", "--name", "X", "--redirect-uri", "http://oppimo.espoo.fi/cb", code=1)
    assert error.startswith("Error: redirect_uris: ") and error.count("\n") == 1
    with app.app_context():
        assert db.session.scalars(select(Client)).all() == []


def test_add_needs_a_name_and_known_choices(digione):
    assert "--name" in digione("add", "--redirect-uri", REDIRECT, code=2)
    assert "--grant-type" in digione("add", "--name", "X", "--grant-type", "password", code=2)


def test_list_shows_id_name_grant_types_and_auth_method(digione):
    assert "no clients yet" in digione("list")
    first = add_json(digione)["client_id"]
    second = add_json(digione, "--grant-type", "client_credentials")["client_id"]
    lines = digione("list").splitlines()
    assert lines[0].split() == ["CLIENT_ID", "NAME", "GRANT_TYPES", "AUTH_METHOD"]
    assert lines[1].split() == [first, "Oppimo", "authorization_code", "client_secret_basic"]
    assert lines[2].split() == [second, "Oppimo", "client_credentials", "client_secret_basic"]


def test_show_json_never_shows_the_secret(digione):
    info = add_json(digione)
    shown = json.loads(digione("show", info["client_id"], "--json"))
    assert shown["client_id"] == info["client_id"]
    assert shown["redirect_uris"] == [REDIRECT]
    assert "client_secret" not in shown and info["client_secret"] not in json.dumps(shown)


def test_show_unknown_client_exit_1(digione):
    assert "no client with client_id nope" in digione("show", "nope", code=1)


def test_rotate_secret_replaces_the_old_one(digione, app):
    info = add_json(digione)
    rotated = json.loads(digione("rotate-secret", info["client_id"], "--json"))
    assert rotated["client_id"] == info["client_id"]
    assert rotated["client_secret"] != info["client_secret"]
    client = stored(app, info["client_id"])
    assert client.check_client_secret(rotated["client_secret"])
    assert not client.check_client_secret(info["client_secret"])
    assert "keeps only a hash" in digione("rotate-secret", info["client_id"])


def test_rotate_secret_of_public_client_exit_1(digione):
    client_id = add_json(digione, "--token-endpoint-auth-method", "none")["client_id"]
    assert "has no client secret" in digione("rotate-secret", client_id, code=1)


def test_remove_asks_unless_yes(digione, app):
    client_id = add_json(digione)["client_id"]
    digione("remove", client_id, input="n\n", code=1)
    assert stored(app, client_id) is not None
    assert f"removed client {client_id}" in digione("remove", client_id, input="y\n")
    assert stored(app, client_id) is None
    other = add_json(digione)["client_id"]
    digione("remove", other, "--yes")
    assert stored(app, other) is None
    assert "no client with client_id" in digione("remove", other, "--yes", code=1)


def test_token_prints_an_initial_access_token_once_and_stores_its_hash(digione, app):
    token = digione("token", "--days", "3", "--note", "Oppimo vendor").strip()
    assert len(token) >= 43 and "\n" not in token
    with app.app_context():
        row = db.session.scalars(select(InitialAccessToken)).one()
        assert row.token_hash == clients.hash_secret(token) and row.note == "Oppimo vendor"
        assert row.expires_at - row.created_at == timedelta(days=3)
        assert clients.check_initial_access_token(db.session, token)
        assert not clients.check_initial_access_token(db.session, token + "x")


def test_token_days_range(digione):
    assert "--days" in digione("token", "--days", "0", code=2)


def test_add_with_a_readable_client_id_an_administrator_chose(digione, app):
    info = add_json(digione, "--client-id", "espoo-wilma")
    assert info["client_id"] == "espoo-wilma"
    taken = digione("add", "--name", "X", "--redirect-uri", REDIRECT, "--client-id",
                    "espoo-wilma", code=1)  # fmt: skip
    assert taken.startswith("Error: client_id: espoo-wilma is taken")
    for bad in ("Espoo", "-lx", "ab", "a" * 65, "espoo wilma", "espoo/wilma"):
        error = digione("add", "--name", "X", "--redirect-uri", REDIRECT, "--client-id", bad,
                        code=1)  # fmt: skip
        assert error.startswith("Error: client_id: 3 to 64"), (bad, error)
    with app.app_context():
        assert len(db.session.scalars(select(Client)).all()) == 1

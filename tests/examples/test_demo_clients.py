"""`digione demo seed` registers the example services' clients from config/demo/clients/."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import db
from idp.config import load_config
from idp.oidc import clients
from idp.oidc.demo_clients import DemoClientError, seed_demo_clients
from idp.oidc.subject import subject_for

FOLDER = Path(__file__).resolve().parents[2] / "config" / "demo" / "clients"
SECRETS = {
    "demo-learning-service": "demo-only-learning-service-secret-never-use-in-production",
    "demo-reading-app": "demo-only-reading-app-secret-never-use-in-production",
}


def test_seeds_the_demo_services_and_source_system_with_fixed_ids_and_secrets(app):
    with app.app_context():
        assert seed_demo_clients(db.session, FOLDER, development=True) == 3  # + school system
        for client_id, secret in SECRETS.items():
            client = clients.get(db.session, client_id)
            assert client.check_client_secret(secret)
            assert client.subject_type == "pairwise"
            assert client.grant_types == [
                "authorization_code", "refresh_token",
                "urn:ietf:params:oauth:grant-type:token-exchange",  # consent-bound tokens
            ]  # fmt: skip
        learning = clients.get(db.session, "demo-learning-service")
        assert learning.client_metadata["client_name#fi"] == "Demo-oppimispalvelu"
        assert learning.redirect_uris == ["http://127.0.0.1:5001/callback"]
        assert learning.client_metadata["backchannel_logout_uri"] == (
            "http://127.0.0.1:5001/backchannel"
        )
        reading = clients.get(db.session, "demo-reading-app")
        assert reading.client_metadata["post_logout_redirect_uris"] == ["http://127.0.0.1:5002/"]


def test_seeding_again_restores_the_files_metadata_and_secret(app):
    with app.app_context():
        seed_demo_clients(db.session, FOLDER, development=True)
        client = clients.get(db.session, "demo-reading-app")
        clients.rotate_secret(db.session, client)
        client.client_metadata = {**client.client_metadata, "scope": "openid"}
        db.session.commit()
        assert seed_demo_clients(db.session, FOLDER, development=True) == 3
        db.session.commit()
        client = clients.get(db.session, "demo-reading-app")
        assert client.check_client_secret(SECRETS["demo-reading-app"])
        assert "edu:roles" in client.scopes
        assert len(clients.list_clients(db.session)) == 3


def test_both_demo_services_share_a_sector_and_so_a_pairwise_sub(app):
    with app.app_context():
        seed_demo_clients(db.session, FOLDER, development=True)
        subs = {
            subject_for("person-1", c.client_metadata, c.client_id, b"k" * 32)
            for c in clients.list_clients(db.session)
            if c.client_id in SECRETS  # the services, not the school's system
        }
    assert len(subs) == 1  # same host 127.0.0.1, only the ports differ


def test_refused_in_production(app):
    with app.app_context(), pytest.raises(RuntimeError, match="production"):
        seed_demo_clients(db.session, FOLDER, development=False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('client_secret = "a-long-enough-secret"\n[metadata]\nclient_name = "x"\n', "client_id"),
        ('client_id = "x"\nclient_secret = "a-long-enough-secret"\n', "[metadata]"),
        (
            'client_id = "x"\nclient_secret = "a-long-enough-secret"\n[metadata]\n'
            'client_name = "x"\nredirect_uris = ["ftp://example.fi/cb"]\n',
            "redirect_uris",
        ),
        (
            'client_id = "x"\nclient_secret = "a-long-enough-secret"\n[metadata]\n'
            'client_name = "x"\nredirect_uris = ["http://127.0.0.1:5009/cb"]\n'
            'token_endpoint_auth_method = "none"\n',
            "secret",
        ),
        ("client_id = ", "bad.toml"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_field(app, tmp_path, text, problem):
    (tmp_path / "bad.toml").write_text(text)
    with app.app_context(), pytest.raises(DemoClientError, match=r"bad\.toml") as refused:
        seed_demo_clients(db.session, tmp_path, development=True)
    assert problem in str(refused.value)


def test_the_clients_folder_is_not_read_as_a_city():
    assert sorted(load_config().demo) == ["espoo", "oulu", "tampere", "turku", "vantaa"]

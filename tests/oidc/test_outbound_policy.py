"""Requests the broker makes on a service's behalf, in production mode, against a real listener
on loopback: a client's jwks_uri and backchannel_logout_uri at an address that is not public
are refused at registration and at every use (a row written before the rule, or a name that
resolved elsewhere at registration), and the listener receives nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.app import config_of
from core.db import db
from idp.app import build_app
from idp.oidc import logout
from tests.core.listener import listening
from tests.oidc.forge import KeyPair, assertion_form, register_service
from tests.oidc.test_registration import bearer

METADATA = {"client_name": "Oppimo", "redirect_uris": ["https://oppimo.espoo.fi/cb"]}


@pytest.fixture
def production(app: Flask) -> Iterator[Flask]:
    """The same broker and database in production mode."""
    cfg = config_of(app)
    server = cfg.settings.server.model_copy(update={"mode": "production"})
    oidc = cfg.settings.oidc.model_copy(update={"registration": True})
    settings = cfg.settings.model_copy(update={"server": server, "oidc": oidc})
    made = build_app(type(cfg)(cfg.folder, settings, cfg.cities, cfg.demo))
    made.config["TESTING"] = True
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("field", "build"),
    [
        ("jwks_uri", lambda port: f"https://127.0.0.1:{port}/jwks"),
        ("jwks_uri", lambda port: f"https://localhost:{port}/jwks"),
        ("jwks_uri", lambda port: "https://169.254.169.254/latest/meta-data/"),
        ("jwks_uri", lambda port: f"https://[::ffff:127.0.0.1]:{port}/jwks"),
        ("backchannel_logout_uri", lambda port: f"http://127.0.0.1:{port}/logout"),
        ("backchannel_logout_uri", lambda port: f"https://10.0.0.7:{port}/logout"),
        ("backchannel_logout_uri", lambda port: f"https://127.0.0.1:{port}/logout"),
    ],
)
def test_registration_refuses_a_server_uri_that_is_not_public(
    production, initial_token, field, build
):
    with listening() as listener:
        metadata = {**METADATA, field: build(listener.port)}
        if field == "jwks_uri":
            metadata["token_endpoint_auth_method"] = "private_key_jwt"
        response = production.test_client().post(
            "/oidc/register", json=metadata, headers=bearer(initial_token)
        )
        assert response.status_code == 400, response.get_json()
        assert response.json["error"] == "invalid_client_metadata"
        assert field in response.json["error_description"]
        assert listener.received == []


def test_a_stored_jwks_uri_at_loopback_is_not_fetched_in_production(app, production):
    """A client whose jwks_uri names a loopback listener (stored in development, or a name
    that resolved elsewhere when it was registered): private_key_jwt fails with
    invalid_client, and nothing reaches the listener, before or after the signature."""
    key = KeyPair.rsa()
    with listening() as listener:
        service = register_service(app, key, jwks=None, jwks_uri=listener.url("/jwks"))
        form = {"grant_type": "client_credentials", "scope": "edu:school",
                **assertion_form(service.assertion())}  # fmt: skip
        response = production.test_client().post("/oidc/token", data=form)
        assert response.status_code == 401 and response.json["error"] == "invalid_client"
        assert listener.received == []
        # The same request in development does reach it: the test would see a fetch.
        app.test_client().post("/oidc/token", data={**form, **assertion_form(service.assertion())})
        assert [path for _method, path, _headers in listener.received] == ["/jwks"]


def test_a_back_channel_logout_to_loopback_is_not_sent_in_production(app, production):
    from core import outbound

    with listening() as listener:
        uri = listener.url("/logout")
        assert not logout._deliver(uri, "token", "c1", outbound.Policy.for_mode(production=True))
        assert listener.received == []
        assert logout._deliver(uri, "token", "c1", outbound.Policy.for_mode(production=False))
        assert len(listener.received) == 1

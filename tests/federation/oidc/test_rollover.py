"""Key rollover at the real provider: oidc-provider restarts with a new signing key and the
broker, which has the old JWKS cached, still signs people in (it fetches the JWKS again when an
ID token names a key it has not seen). OpenID Connect Core 10.1.1."""

from __future__ import annotations

import logging

import pytest

from federation.oidc.discovery import CACHE
from tests.federation.oidc.cities import BROKER
from tests.federation.oidc.cities import tampere_directory as tampere
from tests.federation.oidc.fake import Key
from tests.federation.oidc.peer import callback_path, sign_in_at_provider

REFETCH = "unknown key id, fetching the provider's keys again"


@pytest.fixture
def rolling(start_provider):
    return start_provider()


@pytest.fixture
def oidc_cities(rolling):
    return {"tampere": tampere(rolling.issuer)}


def sign_in(app) -> str:
    client = app.test_client()
    client.get("/?lang=en")
    authorize = client.get("/login/tampere").headers["Location"]
    back = sign_in_at_provider(authorize, "eetu", f"{BROKER}/federation/tampere/callback")
    response = client.get(callback_path(back), follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def cached_kids() -> set[str]:
    return {key["kid"] for jwks in CACHE._jwks.values() for key in jwks.keys}


@pytest.mark.parametrize("keep_old", [True, False], ids=["old key still published", "old key gone"])
def test_sign_in_works_after_the_provider_switches_keys(app, rolling, caplog, keep_old):
    caplog.set_level(logging.INFO, "digione.federation.oidc")
    assert "<h1>Eetu Lahtinen</h1>" in sign_in(app)
    old = rolling.rsa
    assert old.kid in cached_kids()

    new = Key("tampere-2026-2")
    rolling.restart([new, old, rolling.ec] if keep_old else [new, rolling.ec])  # new one signs
    assert "<h1>Eetu Lahtinen</h1>" in sign_in(app)
    assert new.kid in cached_kids() and (old.kid in cached_kids()) is keep_old
    assert [r.getMessage() for r in caplog.records].count(REFETCH) == 1


def test_a_key_published_in_advance_is_used_without_fetching_again(app, rolling, caplog):
    caplog.set_level(logging.INFO, "digione.federation.oidc")
    old, new = rolling.rsa, Key("tampere-2026-2")
    rolling.restart([old, new, rolling.ec])  # the next key is published, the old one signs
    sign_in(app)
    assert new.kid in cached_kids()
    rolling.restart([new, old, rolling.ec])  # now the next key signs
    assert "<h1>Eetu Lahtinen</h1>" in sign_in(app)
    assert REFETCH not in [r.getMessage() for r in caplog.records]

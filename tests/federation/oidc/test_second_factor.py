"""A city's OpenID Connect provider states how the person signed in (OIDC Core section 2:
``amr``, ``acr``), and the administrators' console takes a multi-factor sign-in there as the
second factor it asks for. Against the real peer, oidc-provider, as Entra ID would answer:
Vantaa's consent administrators come from a group the city's file grants ``consent_admin``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from federation.models import CityIdentity
from tests.federation.oidc.cities import STRONG_ACR
from tests.federation.oidc.test_signin import signed_in_page


def session_amr(app) -> list[str]:
    from idp.sso.models import SsoSession

    with app.app_context():
        return db.session.scalars(select(SsoSession.amr)).one()


def test_a_group_the_city_names_grants_consent_admin(app, client, oidc_provider):
    html = signed_in_page(client, "vantaa", "ritva")
    assert 'href="/admin"' in html  # their own page links to the console
    with app.app_context():
        assert db.session.scalars(select(CityIdentity.permissions)).one() == ["consent_admin"]


def test_the_providers_multi_factor_sign_in_opens_the_console(app, client, oidc_provider):
    """Entra ID's amr ["pwd", "mfa"]: the console asks for no code of its own."""
    signed_in_page(client, "vantaa", "ritva")
    assert session_amr(app) == ["mfa"]
    response = client.get("/admin")
    assert response.status_code == 200, response.headers.get("Location")
    assert "Sari" not in response.get_data(as_text=True)


def test_a_password_at_the_provider_is_not_a_second_factor(app, client, oidc_provider):
    """amr ["pwd"] with an acr the city has not listed: the console sends Sari to the second
    factor, which she has not enrolled (403 with the page that says whom to ask)."""
    signed_in_page(client, "vantaa", "sari")
    assert session_amr(app) == []
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/second-factor")
    assert client.get(response.headers["Location"]).status_code == 403


@pytest.fixture
def strong_acr(config_folder):
    """Vantaa lists the provider's acr as a multi-factor sign-in (second_factor_acr)."""
    path = config_folder / "cities" / "vantaa.toml"  # a top-level key: before every table
    path.write_text(f'second_factor_acr = ["{STRONG_ACR}"]\n' + path.read_text())


def test_an_acr_the_city_lists_is_a_second_factor(strong_acr, app, client, oidc_provider):
    signed_in_page(client, "vantaa", "sari")
    assert session_amr(app) == ["mfa"]
    assert client.get("/admin").status_code == 200

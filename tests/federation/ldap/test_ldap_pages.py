"""Signing in through the pages at a city whose directory is LDAP / Active Directory, and what
a person sees when that directory goes down (the other cities keep working)."""

from __future__ import annotations

import dataclasses
import logging

from idp.app import build_app, config_of
from idp.config import CitySettings
from tests.conftest import require, sign_in
from tests.federation.ldap import slapd as slapd_module
from tests.federation.ldap.trees import CITIES, PASSWORD, directory_settings, tree


def _with_ldap_city(app, slug: str, urls: list[str]):
    """A second app on the test database where ``slug`` signs in at LDAP."""
    cfg = config_of(app)
    city = cfg.cities[slug].model_dump()
    city["directory"] = directory_settings(slug, urls)
    cities = {**cfg.cities, slug: CitySettings.model_validate(city)}
    ldap_app = build_app(dataclasses.replace(cfg, cities=cities))
    ldap_app.config["TESTING"] = True
    return ldap_app


def test_sign_in_through_active_directory_shows_the_person(app, slapd):
    ldap_app = _with_ldap_city(app, "espoo", [slapd.ldap_url])
    browser = ldap_app.test_client()
    response = sign_in(browser, "espoo", "pupil1", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    html = browser.get("/me").get_data(as_text=True)
    assert "Pupu Oppilas" in html and "Oppilas" in html and "ryhmä 4B" in html


def test_wrong_password_at_ldap_gets_the_generic_message(app, slapd):
    browser = _with_ldap_city(app, "turku", [slapd.ldap_url]).test_client()
    response = sign_in(browser, "turku", "pupil1", "nope")
    assert response.status_code == 401
    assert "Käyttäjätunnus tai salasana on väärin." in response.get_data(as_text=True)


def test_directory_down_mid_test_gives_a_readable_page_and_others_work(app, tmp_path, caplog):
    require(slapd_module.available(), "OpenLDAP slapd is not installed")
    (tmp_path / "down").mkdir()
    server = slapd_module.Slapd(tmp_path / "down", {"oulu": CITIES["oulu"][0]})
    server.load({"oulu": tree("oulu")})
    server.start()
    ldap_app = _with_ldap_city(app, "oulu", [server.ldap_url])
    browser = ldap_app.test_client()
    assert sign_in(browser, "oulu", "pupil1", PASSWORD).status_code == 302
    server.stop()
    with caplog.at_level(logging.WARNING):
        down = sign_in(ldap_app.test_client(), "oulu", "pupil1", PASSWORD)
    assert down.status_code == 503
    assert "ei juuri nyt saada yhteyttä" in down.get_data(as_text=True)
    assert any(getattr(r, "event", {}).get("city") == "oulu" for r in caplog.records)
    from core.db import db
    from federation.demo import seed

    with ldap_app.app_context():
        seed(db.session, config_of(ldap_app))
    other = sign_in(ldap_app.test_client(), "vantaa", "pupil1", "demo")
    assert other.status_code == 302  # the embedded cities are unaffected

"""Signing in through the pages, as a browser without JavaScript does (Flask test client)."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import sign_in

CITIES = {
    "espoo": "Espoo",
    "oulu": "Oulu",
    "tampere": "Tampere",
    "turku": "Turku",
    "vantaa": "Vantaa",
}


def test_chooser_lists_the_five_cities_in_finnish_by_default(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="fi">' in html
    for slug, name in CITIES.items():
        assert f'href="/login/{slug}"' in html and name in html


def test_swedish_from_accept_language_and_the_switch(client):
    html = client.get("/", headers={"Accept-Language": "sv-FI,sv;q=0.9"}).get_data(as_text=True)
    assert '<html lang="sv">' in html and "Åbo" in html and "Logga in" in html
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign in" in html
    html = client.get("/", headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert '<html lang="en">' in html  # the choice is remembered over the browser's


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_pupil_signs_in_and_sees_name_school_and_role(seeded, slug):
    client = seeded.test_client()
    response = sign_in(client, slug, "pupil1")
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    html = client.get("/me").get_data(as_text=True)
    assert "Oppilas" in html and "ryhmä 3A" in html
    assert re.search(r"<h1>\w[\w-]* \w+</h1>", html)


def test_guardian_sees_their_child(seeded):
    client = seeded.test_client()
    sign_in(client, "espoo", "guardian1")
    html = client.get("/me?lang=en").get_data(as_text=True)
    assert "Your children" in html and "Aino Virtanen" in html and "Guardian" in html


def test_wrong_password_and_unknown_user_get_the_same_answer(seeded):
    client = seeded.test_client()
    wrong = sign_in(client, "oulu", "pupil1", "nope")
    unknown = sign_in(client, "oulu", "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    message = "Käyttäjätunnus tai salasana on väärin."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_session_cookie_is_httponly_lax_and_rotated_at_sign_in(seeded):
    client = seeded.test_client()
    first = sign_in(client, "tampere", "teacher1")
    cookie = first.headers.getlist("Set-Cookie")
    sso = next(c for c in cookie if c.startswith("digione_sso="))
    assert "HttpOnly" in sso and "SameSite=Lax" in sso
    token1 = client.get_cookie("digione_sso").value
    sign_in(client, "tampere", "teacher1")
    token2 = client.get_cookie("digione_sso").value
    assert token1 != token2
    other = seeded.test_client()
    other.set_cookie("digione_sso", token1)
    assert other.get("/me").status_code == 302  # the replaced session is gone


def test_sign_out_ends_the_session(seeded):
    client = seeded.test_client()
    sign_in(client, "vantaa", "pupil2")
    token = client.get_cookie("digione_sso").value
    html = client.get("/me").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Olet kirjautunut ulos." in out.get_data(as_text=True)
    other = seeded.test_client()
    other.set_cookie("digione_sso", token)
    assert other.get("/me").status_code == 302


def test_forms_without_csrf_token_are_refused_with_a_page(seeded):
    client = seeded.test_client()
    response = client.post("/login/espoo", data={"username": "pupil1", "password": "demo"})
    assert response.status_code == 400
    assert "Lomake vanheni" in response.get_data(as_text=True)
    assert client.get_cookie("digione_sso") is None


def test_throttle_slows_guessing_and_says_how_long(seeded):
    client = seeded.test_client()
    for _ in range(5):
        assert sign_in(client, "turku", "pupil1", "guess").status_code == 401
    throttled = sign_in(client, "turku", "pupil1", "demo")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    wait = int(throttled.headers["Retry-After"])
    words = "sekunti ja" if wait == 1 else "sekuntia ja"  # the plural the number needs
    assert f"Odota {wait} {words} yritä uudelleen." in throttled.get_data(as_text=True)
    # Other accounts from the same address are not held up by it.
    assert sign_in(client, "turku", "pupil2", "demo").status_code == 302


def test_throttle_wait_is_short_and_bounded(seeded):
    from datetime import timedelta

    from core.app import config_of
    from core.db import db, utcnow
    from idp.signin.throttle import Throttle

    with seeded.app_context():
        settings = config_of(seeded).settings.login
        throttle = Throttle(db.session, "k", settings)
        keys = throttle.keys("espoo", "pupil1", "192.0.2.1")
        now = utcnow()
        for _ in range(40):
            throttle.failed(keys, now)
        assert throttle.wait_seconds(keys, now) == settings.max_delay_seconds
        later = now + timedelta(minutes=settings.window_minutes, seconds=1)
        assert throttle.wait_seconds(keys, later) == 0  # an attacker cannot lock a pupil out


def test_a_success_clears_the_accounts_count(seeded):
    from core.app import config_of
    from core.db import db
    from idp.signin.models import LoginFailures
    from idp.signin.throttle import Throttle

    with seeded.app_context():
        settings = config_of(seeded).settings.login
        throttle = Throttle(db.session, "k", settings)
        keys = throttle.keys("espoo", "pupil3", "192.0.2.9")
        for _ in range(2):
            throttle.failed(keys)
        fresh = Throttle(db.session, "k", settings)  # the next request's
        assert fresh.wait_seconds(keys) == 0  # within the free failures
        fresh.succeeded(keys)
        db.session.commit()
        assert db.session.get(LoginFailures, keys.account) is None
        assert db.session.get(LoginFailures, keys.address).failures == 2  # a school's NAT


def test_next_only_goes_to_this_broker(seeded):
    client = seeded.test_client()
    page = client.get("/login/espoo?next=https://evil.example/")
    assert "evil.example" not in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login/espoo",
        data={
            "csrf_token": csrf,
            "username": "pupil1",
            "password": "demo",
            "next": "//evil.example",
        },
    )
    assert response.headers["Location"] == "/me"


def test_unknown_city_and_page_are_readable_404s(client):
    for path in ("/login/helsinki", "/no/such/page"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Sivua ei löydy" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/login/espoo", "/nope", "/healthz", "/accessibility"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Request-Id"]


def test_no_personal_data_or_secrets_in_the_logs(seeded, caplog):
    client = seeded.test_client()
    with caplog.at_level(logging.DEBUG):
        sign_in(client, "espoo", "pupil1", "wrong-password-123")
        sign_in(client, "espoo", "pupil1", "demo")
        client.get("/me")
        token = client.get_cookie("digione_sso").value
    text = "\n".join(
        record.getMessage() + repr(getattr(record, "event", "")) for record in caplog.records
    )
    assert "signed in" in text and "sign-in failed" in text
    for secret in ("pupil1", "wrong-password-123", "Aino", "Virtanen", "1.2.246.562.24", token):
        assert secret not in text


def test_language_links_keep_the_page_and_its_next(client):
    html = client.get("/login/oulu?next=/me").get_data(as_text=True)
    assert 'href="/login/oulu?next=/me&amp;lang=sv"' in html


def test_chooser_search_works_without_javascript_in_every_language(client):
    html = client.get("/?q=åbo").get_data(as_text=True)
    assert 'href="/login/turku"' in html and 'href="/login/espoo"' not in html
    html = client.get("/?q=092").get_data(as_text=True)
    assert 'href="/login/vantaa"' in html and 'href="/login/oulu"' not in html
    html = client.get("/?q=helsinki").get_data(as_text=True)
    assert "Hakua ”helsinki” vastaavaa kaupunkia ei löytynyt." in html


def test_the_device_remembers_the_last_city(seeded):
    client = seeded.test_client()
    assert "Jatka:" not in client.get("/").get_data(as_text=True)
    sign_in(client, "tampere", "pupil2")
    html = client.get("/").get_data(as_text=True)
    assert "Jatka: Tampere" in html


def _browser(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_known_device_is_not_held_up_by_someone_elses_failures(seeded):
    """OWASP device cookies: the pupil's own browser signed in before, so its tries count on
    its own key; an attacker's failures at the pupil's user name, from any address (also the
    school's shared one), throttle everyone else, not that browser."""
    pupil = _browser(seeded, "198.51.100.7")
    assert sign_in(pupil, "turku", "pupil1", "demo").status_code == 302
    assert pupil.get_cookie("digione_device", path="/login/") is not None
    for address in ("203.0.113.1", "203.0.113.2", "198.51.100.7"):
        attacker = _browser(seeded, address)
        for _ in range(3):
            sign_in(attacker, "turku", "pupil1", "guess")
    assert sign_in(_browser(seeded, "203.0.113.9"), "turku", "pupil1", "demo").status_code == 429
    signed = sign_in(pupil, "turku", "pupil1", "demo")
    assert signed.status_code == 302, signed.get_data(as_text=True)[:300]


def test_guessing_from_a_known_device_is_still_throttled(seeded):
    device = _browser(seeded, "198.51.100.8")
    assert sign_in(device, "turku", "pupil2", "demo").status_code == 302
    for _ in range(5):
        assert sign_in(device, "turku", "pupil2", "guess").status_code == 401
    assert sign_in(device, "turku", "pupil2", "demo").status_code == 429


def test_a_forged_or_other_accounts_device_cookie_counts_as_none(seeded):
    device = _browser(seeded, "198.51.100.9")
    assert sign_in(device, "turku", "pupil2", "demo").status_code == 302  # pupil2's cookie
    for _ in range(5):
        sign_in(_browser(seeded, "203.0.113.5"), "turku", "pupil1", "guess")
    assert sign_in(device, "turku", "pupil1", "demo").status_code == 429  # not pupil1's device
    forged = _browser(seeded, "198.51.100.10")
    forged.set_cookie("digione_device", "W1siYWJjIiwieHl6Il1d.forged", path="/login/")
    assert sign_in(forged, "turku", "pupil1", "demo").status_code == 429

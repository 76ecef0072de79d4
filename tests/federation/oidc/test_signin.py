"""Signing in through a city's OpenID Connect provider, against the real peer: oidc-provider
(npm, OpenID Certified) with its own sign-in and consent pages, driven by plain HTTP form posts;
the broker's pages through Flask's test client. Tampere is shaped like Google Workspace (RS256),
Vantaa like Entra ID (ES256)."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from tests.federation.oidc.cities import BROKER
from tests.federation.oidc.peer import callback_path, sign_in_at_provider

REFUSED = "Sign-in through your city did not succeed"


def go_to_provider(client, slug: str) -> str:
    client.get("/?lang=en")  # the broker's pages in English from here on
    response = client.get(f"/login/{slug}")
    assert response.status_code == 302
    return response.headers["Location"]


def come_back(client, slug: str, login: str, change=None):
    """The whole round trip; ``change`` may alter the callback's parameters on the way."""
    authorize = go_to_provider(client, slug)
    back = sign_in_at_provider(authorize, login, f"{BROKER}/federation/{slug}/callback")
    if change is not None:
        query = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
        back = f"{BROKER}/federation/{slug}/callback?{urlencode(change(query))}"
    return client.get(callback_path(back))


def signed_in_page(client, slug: str, login: str) -> str:
    response = come_back(client, slug, login)
    assert response.status_code == 303, response.get_data(as_text=True)
    resume = response.headers["Location"]
    assert resume.startswith(f"/federation/{slug}/resume?handle=")
    assert client.get(resume).headers["Location"] == "/me"
    return client.get("/me").get_data(as_text=True)


def test_authorization_request_has_pkce_state_nonce_and_the_citys_hint(client, oidc_provider):
    query = parse_qs(urlsplit(go_to_provider(client, "tampere")).query)
    assert query["response_type"] == ["code"] and query["client_id"] == ["digione-tampere"]
    assert query["redirect_uri"] == [f"{BROKER}/federation/tampere/callback"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 43
    assert query["scope"] == ["openid profile email"] and query["hd"] == ["edu.tampere.fi"]


def test_google_workspace_pupil_signs_in_and_sees_name_city_and_role(client, oidc_provider):
    html = signed_in_page(client, "tampere", "eetu")
    assert "<h1>Eetu Lahtinen</h1>" in html and "Your city: Tampere." in html
    assert '<strong class="role">Pupil</strong>' in html


def test_google_workspace_staff_domain_maps_to_teacher(client, oidc_provider):
    html = signed_in_page(client, "tampere", "hanna")
    assert "<h1>Hanna Virtanen</h1>" in html and '<strong class="role">Teacher</strong>' in html
    assert "Pupil" not in html


def test_entra_id_groups_map_to_role_school_and_class(client, oidc_provider):
    html = signed_in_page(client, "vantaa", "onni")  # an ES256-signed ID token
    assert "<h1>Onni Korhonen</h1>" in html and "Your city: Vantaa." in html
    assert '<strong class="role">Pupil</strong>' in html
    assert '<span class="school">03312</span>' in html and "group 7B" in html


def test_entra_id_guardian_sees_the_child_named_by_learner_id(app, oidc_provider):
    signed_in_page(app.test_client(), "vantaa", "onni")  # the child is known to the broker
    html = signed_in_page(app.test_client(), "vantaa", "jukka")
    assert '<strong class="role">Guardian</strong>' in html
    assert "Your children" in html and "<li>Onni Korhonen</li>" in html


def test_an_account_outside_the_citys_domains_is_refused(client, oidc_provider, caplog):
    caplog.set_level(logging.WARNING, "digione")
    response = come_back(client, "tampere", "gmail")
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302  # not signed in
    reasons = [r.event["reason"] for r in caplog.records if getattr(r, "event", {}).get("reason")]
    assert reasons == ["the claim hd has none of the required values"]
    assert "gmail" not in caplog.text  # no personal data in the log


@pytest.mark.parametrize(
    "change",
    [
        lambda query: {**query, "iss": "https://accounts.example.com"},
        lambda query: {**query, "iss": query["iss"] + "/"},
        lambda query: {key: value for key, value in query.items() if key != "iss"},
    ],
    ids=["other issuer", "trailing slash", "missing although advertised"],
)
def test_a_mismatched_iss_response_parameter_is_refused(client, oidc_provider, change):
    response = come_back(client, "tampere", "eetu", change)
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_a_code_sent_back_twice_is_refused(client, oidc_provider):
    authorize = go_to_provider(client, "tampere")
    back = sign_in_at_provider(authorize, "eetu", f"{BROKER}/federation/tampere/callback")
    first = client.get(callback_path(back))
    assert first.status_code == 303
    assert client.get(callback_path(back)).status_code == 400  # the sign-in is already used


def test_the_person_cancelling_at_the_provider_ends_on_a_readable_page(client, oidc_provider):
    authorize = go_to_provider(client, "tampere")
    browser = requests.Session()
    interaction = browser.get(authorize, timeout=10)
    abort = re.search(r'href="([^"]*/abort)"', interaction.text).group(1)
    back = browser.get(urljoin(interaction.url, abort), allow_redirects=False, timeout=10)
    while not back.headers["Location"].startswith(BROKER):
        location = urljoin(back.url, back.headers["Location"])
        back = browser.get(location, allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    response = client.get(callback_path(back.headers["Location"]))
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)

"""What a person sees when the city's provider is down, slow or answers something unacceptable:
a readable page (503: try again later; 400: start again), never a 500; the log says which city
and why, without personal data. Tampere is connected to a provider under the test's control."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.federation.oidc.cities import tampere_directory

UNAVAILABLE = "Your city&#39;s sign-in cannot be reached right now"
REFUSED = "Sign-in through your city did not succeed"


@pytest.fixture
def oidc_cities(fake):
    return {"tampere": tampere_directory(fake.issuer, timeout_seconds=0.5)}


def go(client) -> dict[str, str]:
    client.get("/?lang=en")
    response = client.get("/login/tampere")
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def come_back(client, fake, query: dict[str, str]):
    return client.get(
        "/federation/tampere/callback",
        query_string={"code": "code-1", "state": query["state"], "iss": fake.issuer},
    )


def reasons(caplog) -> list[tuple[str, str]]:
    return [
        (record.event.get("city"), record.event["reason"])
        for record in caplog.records
        if "reason" in getattr(record, "event", {})
    ]


def test_signing_in_through_the_pages(client, fake):
    query = go(client)
    fake.id_token = fake.rsa.sign(fake.claims(query["nonce"]))
    response = come_back(client, fake, query)
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).headers["Location"] == "/me"
    assert "<h1>Eetu Lahtinen</h1>" in client.get("/me").get_data(as_text=True)


def test_provider_down_at_the_start_shows_the_unavailable_page(client, fake, caplog):
    fake.stop()
    client.get("/?lang=en")
    response = client.get("/login/tampere")
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and UNAVAILABLE in html and "Try again" in html
    assert reasons(caplog)[0][0] == "tampere" and "unreachable" in reasons(caplog)[0][1]


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("fi", "Kaupunkisi kirjautumispalveluun ei juuri nyt saada yhteyttä"),
        ("sv", "Det går inte att nå din stads inloggning just nu"),
    ],
)
def test_the_unavailable_page_in_finnish_and_swedish(client, fake, lang, title):
    fake.stop()
    client.get(f"/?lang={lang}")
    response = client.get("/login/tampere")
    assert response.status_code == 503 and title in response.get_data(as_text=True)


def test_provider_down_at_the_callback_shows_the_unavailable_page(client, fake):
    query = go(client)
    fake.stop()
    response = come_back(client, fake, query)
    assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)


def test_provider_hanging_shows_the_unavailable_page_in_time(client, fake):
    query = go(client)
    fake.delay = 3
    response = come_back(client, fake, query)
    assert response.status_code == 503 and UNAVAILABLE in response.get_data(as_text=True)


@pytest.mark.parametrize("status", [500, 401])
def test_token_endpoint_failure_or_wrong_client_secret_is_unavailable(client, fake, status):
    query = go(client)
    fake.token_answer = lambda: (status, {"error": "invalid_client"})
    assert come_back(client, fake, query).status_code == 503


def test_a_tampered_id_token_shows_the_refused_page_and_logs_why(client, fake, caplog):
    caplog.set_level(logging.WARNING, "digione")
    query = go(client)
    signed = fake.rsa.sign(fake.claims(query["nonce"]))
    fake.id_token = signed.rsplit(".", 1)[0] + "."  # the signature cut off
    response = come_back(client, fake, query)
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302
    assert reasons(caplog) == [
        ("tampere", "the ID token's signature does not verify with the provider's keys")
    ]
    assert "Eetu" not in caplog.text and "eetu" not in caplog.text


def test_a_mismatched_iss_parameter_shows_the_refused_page(client, fake):
    query = go(client)
    fake.id_token = fake.rsa.sign(fake.claims(query["nonce"]))
    response = client.get(
        "/federation/tampere/callback",
        query_string={"code": "c", "state": query["state"], "iss": "https://evil.example.com"},
    )
    assert response.status_code == 400 and REFUSED in response.get_data(as_text=True)
    assert fake.hits["/token"] == 0


def test_other_cities_keep_working_while_one_provider_is_down(client, fake):
    from tests.conftest import sign_in

    fake.stop()
    assert client.get("/login/tampere").status_code == 503
    assert client.get("/login/espoo").status_code == 200  # an embedded directory
    assert sign_in(client, "espoo", "nobody", "x").status_code == 401

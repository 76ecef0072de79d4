"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0, the latter received by a real HTTP
endpoint on the loopback interface."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from tests.oidc.helpers import exchange, get_code, register, signed_in_browser, verify


class _Receiver(BaseHTTPRequestHandler):
    received: list[str]

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = parse_qs(self.rfile.read(length).decode())
        self.server.received.append(body["logout_token"][0])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _rp(app, receiver, host="rp.example"):
    port = receiver.server_address[1]
    return register(
        app,
        redirect_uris=[f"https://{host}/cb"],
        post_logout_redirect_uris=[f"https://{host}/bye"],
        backchannel_logout_uri=f"http://127.0.0.1:{port}/backchannel",
    )


def _signed_in_with_tokens(app, rp):
    browser = signed_in_browser(app)
    code, verifier, _ = get_code(browser, rp)
    return browser, exchange(browser, rp, code, verifier).json


def test_rp_initiated_logout_with_id_token_hint_ends_the_session(seeded, receiver):
    rp = _rp(seeded, receiver)
    browser, tokens = _signed_in_with_tokens(seeded, rp)
    response = browser.get(
        "/oidc/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://rp.example/bye",
            "state": "s1",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://rp.example/bye?state=s1"
    assert browser.get("/me").status_code == 302  # signed out at the broker
    assert len(receiver.received) == 1


def test_back_channel_logout_token_reaches_every_service_of_the_session(seeded, receiver):
    one = _rp(seeded, receiver, "one.example")
    two = _rp(seeded, receiver, "two.example")
    browser = signed_in_browser(seeded)
    for rp in (one, two):
        code, verifier, _ = get_code(browser, rp)
        id_token = exchange(browser, rp, code, verifier).json["id_token"]
    sid = jwt.decode(id_token, options={"verify_signature": False})["sid"]
    html = browser.get("/me").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    browser.post("/logout", data={"csrf_token": csrf})
    assert len(receiver.received) == 2
    client = seeded.test_client()
    audiences = set()
    for token in receiver.received:
        header = jwt.get_unverified_header(token)
        assert header["typ"] == "logout+jwt"
        claims = verify(client, token)
        assert claims["sid"] == sid and "nonce" not in claims
        assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
        audiences.add(claims["aud"])
    assert audiences == {one.client_id, two.client_id}


def test_logout_revokes_the_sessions_refresh_tokens(seeded, receiver):
    rp = _rp(seeded, receiver)
    browser, tokens = _signed_in_with_tokens(seeded, rp)
    browser.get("/oidc/logout", query_string={"id_token_hint": tokens["id_token"]})
    refreshed = browser.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=rp.basic(),
    )
    assert refreshed.json["error"] == "invalid_grant"


def test_logout_without_hint_asks_the_person_first(seeded, receiver):
    rp = _rp(seeded, receiver)
    browser, _tokens = _signed_in_with_tokens(seeded, rp)
    page = browser.get("/oidc/logout", query_string={"client_id": rp.client_id})
    assert page.status_code == 200 and "Kirjaudu ulos" in page.get_data(as_text=True)
    assert browser.get("/me").status_code == 200  # still signed in
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = browser.post(
        "/oidc/logout/confirm",
        data={"csrf_token": csrf, "decision": "logout", "client_id": rp.client_id},
    )
    assert done.status_code == 302 and browser.get("/me").status_code == 302


def test_unregistered_post_logout_redirect_uri_is_never_followed(seeded, receiver):
    rp = _rp(seeded, receiver)
    browser, tokens = _signed_in_with_tokens(seeded, rp)
    response = browser.get(
        "/oidc/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert browser.get("/me").status_code == 200


def test_forged_id_token_hint_gets_a_page(seeded, receiver):
    rp = _rp(seeded, receiver)
    browser, _tokens = _signed_in_with_tokens(seeded, rp)
    forged = jwt.encode({"sub": "x", "aud": rp.client_id}, "secret", algorithm="HS256")
    response = browser.get("/oidc/logout", query_string={"id_token_hint": forged})
    assert response.status_code == 400 and browser.get("/me").status_code == 200


def test_logout_when_not_signed_in_just_returns(seeded, receiver):
    rp = _rp(seeded, receiver)
    response = seeded.test_client().get(
        "/oidc/logout",
        query_string={
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://rp.example/bye",
        },
    )
    assert urlsplit(response.headers["Location"]).netloc == "rp.example"


def test_discovery_lists_the_logout_endpoints(client):
    doc = client.get("/.well-known/openid-configuration").json
    assert doc["end_session_endpoint"] == "http://127.0.0.1:5000/oidc/logout"
    assert doc["backchannel_logout_supported"] is True

"""No input makes a 500: every route of the broker, every method it takes, with parameters that
crashed it before (a NUL character, which PostgreSQL's text cannot hold; `"` and `\\`, which an
OAuth error description may not carry; a very long value; deep JSON; Basic credentials that are
not UTF-8; a Host other than loopback over plain http). Each answer is a 4xx (or a redirect or
page), in the endpoint's own format: JSON for the protocol endpoints. Runs on SQLite and, in CI,
on PostgreSQL."""

from __future__ import annotations

import base64
import re

import pytest
from flask import Flask

from idp.errors import API_PREFIXES
from tests.oidc.helpers import register

RAW = object()  # bytes that are not UTF-8, sent percent-encoded as they are (%FF%FE)
VALUES = ["\x00", 'a"b', "a\\b", "x" * 5000, "%00", RAW]
NAMES = [
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "prompt", "login_hint", "grant_type", "code", "code_verifier",
    "refresh_token", "token", "token_type_hint", "client_secret", "id_token_hint",
    "post_logout_redirect_uri", "username", "password", "csrf_token", "next", "lang",
    "purpose", "audience", "subject_token", "subject_token_type", "resource", "endpoint",
    "_external", "learner_id", "name", "state", "cursor", "code",
]  # fmt: skip


def _path(rule, value: str) -> str:
    """The rule's path with ``value`` in each of its variables."""
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", value.replace("\x00", "%00"), rule.rule)


def _routes(app: Flask):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST", "PUT", "DELETE"}):
            yield rule, method


def _check(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code, response.get_data()[:300])
    if path.startswith(API_PREFIXES) and response.status_code >= 400 and response.data:
        assert response.mimetype in ("application/json", "text/plain"), (path, response.mimetype)


@pytest.mark.parametrize(
    "value", VALUES, ids=["nul", "quote", "backslash", "long", "pct00", "not-utf8"]
)
def test_every_route_answers_bad_values_without_a_500(seeded, value):
    client = seeded.test_client()
    raw = value is RAW
    params = {name: "x" if raw else value for name in NAMES}
    query = "&".join(f"{name}=%FF%FE" for name in NAMES) if raw else params
    for rule, method in _routes(seeded):
        path = _path(rule, "%FF%FE" if raw else value)
        if method == "GET":
            response = client.get(path, query_string=query)
        elif path.startswith(("/oidc/register", "/consent/api", "/admin/api")):
            response = client.open(path, method=method, json=params)
        else:
            response = client.open(path, method=method, data=params)
        _check(response, path)


def test_authorize_with_quotes_and_backslashes_in_the_request(seeded):
    """Authlib cannot build an error whose description would quote them: a page, not a 500,
    and never a redirect to an unregistered URI."""
    rp = register(seeded)
    client = seeded.test_client()
    for changes in (
        {"redirect_uri": 'https://rp.example/"cb'},
        {"redirect_uri": "https://rp.example/\\cb"},
        {"response_type": 'code"'},
        {"response_type": "code\\"},
        {"scope": 'openid "x'},
    ):
        query = {"client_id": rp.client_id, "redirect_uri": rp.redirect_uri,
                 "response_type": "code", "scope": "openid", "state": "s",
                 "code_challenge": "x" * 43, "code_challenge_method": "S256",
                 **changes}  # fmt: skip
        response = client.get("/oidc/authorize", query_string=query)
        assert response.status_code < 500, (changes, response.status_code)
        location = response.headers.get("Location", "")
        assert not location or location.startswith((rp.redirect_uri, "/")), location


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/introspect", "/oidc/revoke"])
def test_basic_credentials_that_are_not_utf8(seeded, path):
    header = "Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28").decode()
    response = seeded.test_client().post(
        path, data={"grant_type": "client_credentials", "token": "t"},
        headers={"Authorization": header},
    )  # fmt: skip
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


def test_deeply_nested_json_at_registration(seeded):
    body = "[" * 100_000 + "]" * 100_000
    response = seeded.test_client().post(
        "/oidc/register", data=body, content_type="application/json"
    )
    assert response.status_code in (400, 401, 404), response.status_code
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/introspect", "/oidc/revoke"])
def test_a_host_other_than_loopback_over_plain_http(seeded, path):
    """Authlib refuses plain http outside loopback before any handler: a 400 that says so."""
    response = seeded.test_client().post(
        path, data={"grant_type": "client_credentials", "token": "t"},
        base_url="http://broker.example",
    )  # fmt: skip
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_request"
    assert "https" in response.json["error_description"]


@pytest.mark.parametrize("query", ["endpoint=x", "_external=1", "_scheme=javascript", "_anchor=x"])
def test_query_parameter_names_are_not_arguments_of_url_for(seeded, query):
    response = seeded.test_client().get(f"/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"?{query}&amp;lang=sv" in html  # the language link keeps the parameter as data


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/authorize", "/login/espoo"])
def test_a_nul_in_a_repeated_parameters_later_value(seeded, path):
    """Not only each name's first value is looked at: ?scope=openid&scope=%00 is refused too."""
    client = seeded.test_client()
    query = "grant_type=client_credentials&scope=openid&scope=%00"
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, (path, response.status_code)
    form = client.post(path, data=query, content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400, (path, form.status_code)

"""The connector's protocol steps against a provider under the test's control (fake.py):
the authorization request, discovery and its cache, the ``iss`` response parameter (RFC 9207),
the code exchange (client_secret_basic, PKCE verifier), userinfo, the attribute map, and what a
provider that is down, slow or misbehaving leads to. Plus the settings' own checks."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from pydantic import ValidationError

from federation.connector import DirectoryUnavailable, UpstreamRejected
from federation.oidc import discovery
from federation.oidc.connector import OidcDirectory
from tests.federation.oidc.cities import (
    EXT,
    SECRET_ENV,
    city,
    tampere_directory,
    vantaa_directory,
)
from tests.federation.oidc.fake import CALLBACK, CLIENT_ID, CLIENT_SECRET

HANDLE = "handle-0123456789"


def connector_for(fake, slug="tampere", **changes) -> OidcDirectory:
    make = tampere_directory if slug == "tampere" else vantaa_directory
    return OidcDirectory(city(slug, make(fake.issuer, **changes)))


def run(fake, connector, claims=None, **answer):
    """start, then finish with an ID token of ``claims`` (changes to valid ones)."""
    _redirect, state = connector.start(CALLBACK, HANDLE)
    fake.id_token = fake.rsa.sign(fake.claims(state["nonce"], **(claims or {})))
    answer = {"code": "code-1", "state": HANDLE, "iss": fake.issuer, **answer}
    return connector.finish({k: v for k, v in answer.items() if v is not None}, state, CALLBACK)


# -- the authorization request and the code exchange ---------------------------------------------
def test_authorization_request(fake):
    redirect, state = connector_for(fake).start(CALLBACK, HANDLE)
    parts = urlsplit(redirect.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake.issuer}/auth"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(state["code_verifier"].encode()).digest()
    ).rstrip(b"=")
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid profile email",
        "state": HANDLE,
        "nonce": state["nonce"],
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
        "hd": "edu.tampere.fi",
    }
    assert 43 <= len(state["code_verifier"]) <= 128 and redirect.form == {}
    second = connector_for(fake).start(CALLBACK, HANDLE)[1]
    assert second["nonce"] != state["nonce"] and second["code_verifier"] != state["code_verifier"]


def test_code_exchange_uses_client_secret_basic_and_the_pkce_verifier(fake):
    connector = connector_for(fake)
    _redirect, state = connector.start(CALLBACK, HANDLE)
    fake.id_token = fake.rsa.sign(fake.claims(state["nonce"]))
    connector.finish({"code": "code-1", "state": HANDLE, "iss": fake.issuer}, state, CALLBACK)
    _path, headers, form = next(r for r in fake.requests if r[0] == "/token")
    assert form == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": CALLBACK,
        "code_verifier": state["code_verifier"],
    }
    scheme, _, value = headers["Authorization"].partition(" ")
    client_id, _, secret = base64.b64decode(value).decode().partition(":")
    assert scheme == "Basic" and unquote(client_id) == CLIENT_ID
    assert unquote(secret) == CLIENT_SECRET and secret != CLIENT_SECRET  # RFC 6749 2.3.1


def test_client_secret_from_a_file(fake, tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    (tmp_path / "secret").write_text(CLIENT_SECRET + "\n")
    connector = connector_for(
        fake, client_secret_env=None, client_secret_file=str(tmp_path / "secret")
    )
    assert run(fake, connector).given_name == "Eetu"


def test_a_missing_client_secret_is_unavailable_before_the_person_is_sent_away(fake, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(DirectoryUnavailable, match=SECRET_ENV):
        connector_for(fake).start(CALLBACK, HANDLE)


# -- discovery -----------------------------------------------------------------------------------
def test_discovery_is_cached_for_its_time(fake, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(discovery.CACHE, "clock", lambda: now[0])
    connector_for(fake).start(CALLBACK, HANDLE)
    connector_for(fake).start(CALLBACK, HANDLE)  # a new connector per request, one fetch
    assert fake.hits["/.well-known/openid-configuration"] == 1
    now[0] += 3600
    connector_for(fake).start(CALLBACK, HANDLE)
    assert fake.hits["/.well-known/openid-configuration"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "https://accounts.example.com"},
        {"issuer": None},
        {"token_endpoint": None},
        {"jwks_uri": "http://jwks.example.com/keys"},  # not https
        {"token_endpoint": "file:///etc/passwd"},
        {"authorization_endpoint": 42},
    ],
)
def test_a_discovery_document_that_does_not_fit_is_unavailable(fake, change):
    fake.discovery_extra = change
    with pytest.raises(DirectoryUnavailable):
        connector_for(fake).start(CALLBACK, HANDLE)


# -- the authorization response ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("advertised", "iss", "accepted"),
    [
        (True, "__issuer__", True),
        (True, None, False),
        (True, "https://accounts.example.com", False),
        (True, "__issuer__/", False),
        (False, None, True),
        (False, "__issuer__", True),
        (False, "https://accounts.example.com", False),  # checked whenever present
    ],
)
def test_iss_response_parameter(fake, advertised, iss, accepted):
    fake.discovery_extra = {"authorization_response_iss_parameter_supported": advertised}
    if iss is not None:
        iss = iss.replace("__issuer__", fake.issuer)
    if accepted:
        assert run(fake, connector_for(fake), iss=iss).given_name == "Eetu"
    else:
        with pytest.raises(UpstreamRejected, match="iss response parameter"):
            run(fake, connector_for(fake), iss=iss)
        assert fake.hits["/token"] == 0  # the code is never sent to anyone


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"state": "another-handle"}, "state"),
        ({"state": None}, "state"),
        ({"code": None}, "no code"),
        ({"code": None, "error": "access_denied"}, "error=access_denied"),
        ({"code": None, "error": "x<script>\nalert(1)"}, "error=xscriptalert1"),
    ],
)
def test_an_unusable_authorization_response_is_refused(fake, answer, reason):
    with pytest.raises(UpstreamRejected, match=reason):
        run(fake, connector_for(fake), **answer)
    assert fake.hits["/token"] == 0


# -- the token endpoint --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant"}, UpstreamRejected),
        (400, {"error": "invalid_request"}, UpstreamRejected),
        (401, {"error": "invalid_client"}, DirectoryUnavailable),  # our registration is wrong
        (200, {"access_token": "a", "token_type": "Bearer"}, UpstreamRejected),  # no id_token
        (200, {"access_token": "a", "token_type": "mac", "id_token": "x.y.z"}, UpstreamRejected),
        (500, {"error": "server_error"}, DirectoryUnavailable),
        (503, {}, DirectoryUnavailable),
        (302, {}, DirectoryUnavailable),  # redirects are not followed
    ],
)
def test_token_endpoint_answers(fake, status, body, error):
    fake.token_answer = lambda: (status, body)
    with pytest.raises(error):
        run(fake, connector_for(fake))


def test_a_provider_that_is_down_is_unavailable(fake):
    connector = connector_for(fake)
    _redirect, state = connector.start(CALLBACK, HANDLE)
    fake.stop()
    with pytest.raises(DirectoryUnavailable, match="unreachable"):
        connector.finish({"code": "c", "state": HANDLE, "iss": fake.issuer}, state, CALLBACK)


def test_a_provider_that_hangs_is_unavailable_within_the_timeout(fake):
    connector = connector_for(fake, timeout_seconds=0.5)
    _redirect, state = connector.start(CALLBACK, HANDLE)
    fake.delay = 3
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable):
        connector.finish({"code": "c", "state": HANDLE, "iss": fake.issuer}, state, CALLBACK)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("internal", [False, True])
def test_production_calls_no_provider_on_a_loopback_address(fake, internal):
    """In production the connector goes through the outbound client's policy: a provider at
    a loopback address is not called at all; ``internal_network`` lets a city's provider be
    on a private address, still over https only."""
    directory = tampere_directory(fake.issuer, internal_network=internal)
    connector = OidcDirectory(city("tampere", directory), production=True)
    with pytest.raises(DirectoryUnavailable, match="https" if internal else "not public|https"):
        connector.start(CALLBACK, HANDLE)
    assert fake.requests == []


# -- userinfo, required claims, the attribute map ------------------------------------------------
def test_userinfo_claims_join_the_id_tokens(fake):
    fake.userinfo = {"sub": "108214377213", "birthdate": "2015-03-14", "given_name": "Mallory"}
    identity = run(fake, connector_for(fake, use_userinfo=True))
    assert identity.birthdate.isoformat() == "2015-03-14"
    assert identity.given_name == "Eetu"  # the signed ID token wins
    _path, headers, _form = next(r for r in fake.requests if r[0] == "/userinfo")
    assert headers["Authorization"] == f"Bearer {fake.access_token}"


def test_userinfo_is_not_asked_unless_configured(fake):
    assert run(fake, connector_for(fake)).birthdate is None
    assert fake.hits["/userinfo"] == 0


@pytest.mark.parametrize(
    ("userinfo", "content_type", "reason"),
    [
        ({"sub": "someone-else", "birthdate": "2015-03-14"}, "application/json", "sub"),
        ({"birthdate": "2015-03-14"}, "application/json", "sub"),
        ({"sub": "108214377213"}, "application/jwt", "signed"),
    ],
)
def test_unusable_userinfo_is_refused(fake, userinfo, content_type, reason):
    fake.userinfo, fake.userinfo_type = userinfo, content_type
    with pytest.raises(UpstreamRejected, match=reason):
        run(fake, connector_for(fake, use_userinfo=True))


@pytest.mark.parametrize("hd", [None, "gmail.com", "evil-tampere.fi"])
def test_an_account_outside_the_required_domains_is_refused(fake, hd):
    with pytest.raises(UpstreamRejected, match="claim hd"):
        run(fake, connector_for(fake), {"hd": hd})


def test_google_staff_domain_maps_to_teacher(fake):
    identity = run(fake, connector_for(fake), {"hd": "tampere.fi", "locale": "sv"})
    assert [r.role for r in identity.roles] == ["teacher"] and identity.locale == "sv"


def test_entra_id_app_roles_and_extension_attributes(fake):
    attributes = {
        **vantaa_directory(fake.issuer)["attributes"],
        "groups": "roles",
        "role_groups": {"Teacher": {"role": "teacher"}, "Principal": {"role": "principal"}},
    }
    connector = connector_for(fake, "vantaa", attributes=attributes, required_claims={})
    identity = run(
        fake,
        connector,
        {
            "aud": "digione-vantaa",
            "oid": "3b8e1d6a-7c2f-4a9e-8b1d-5e6f7a8b9c0d",
            "roles": ["Teacher", "Principal", "Unknown"],
            f"{EXT}_schoolCode": "03312",
            "preferred_username": "maria.lindqvist@vantaa.fi",
        },
    )
    assert identity.subject == "3b8e1d6a-7c2f-4a9e-8b1d-5e6f7a8b9c0d"
    assert identity.email == "maria.lindqvist@vantaa.fi"
    assert [(r.role, r.municipality_code, r.school_code) for r in identity.roles] == [
        ("teacher", "092", "03312"),
        ("principal", "092", "03312"),
    ]


def test_a_mapping_failure_names_the_field_not_the_value(fake):
    connector = connector_for(fake, "vantaa", required_claims={})
    bad = "1.2.246.562.24.123"
    with pytest.raises(UpstreamRejected) as caught:
        run(fake, connector, {"aud": "digione-vantaa", "oid": "o-1", f"{EXT}_learnerId": bad})
    assert str(caught.value) == "attribute mapping failed: learner_id"


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "http://accounts.example.com"},
        {"issuer": "https://accounts.example.com?tenant=x"},
        {"client_secret_env": None},
        {"client_secret_file": "/run/secrets/x"},  # both
        {"scopes": ["profile", "email"]},
        {"authorize_params": {"state": "fixed"}},
        {"authorize_params": {"redirect_uri": "https://evil.example.com/"}},
        {"timeout_seconds": 0},
        {"client_id": ""},
    ],
)
def test_settings_that_cannot_work_are_refused_at_load(change):
    with pytest.raises(ValidationError):
        city("tampere", {**tampere_directory("https://accounts.google.com"), **change})


def test_settings_examples_load():
    assert city("tampere", tampere_directory("https://accounts.google.com")).directory.issuer
    entra = "https://login.microsoftonline.com/5c1e2d3f-9a8b-4c7d-8e6f-1a2b3c4d5e6f/v2.0"
    assert city("vantaa", vantaa_directory(entra)).directory.client_id == "digione-vantaa"


def test_a_discovery_url_of_its_own(fake):
    url = f"{fake.issuer}/.well-known/openid-configuration?appid={CLIENT_ID}"
    connector = connector_for(fake, discovery_url=url)
    assert run(fake, connector).given_name == "Eetu"
    path, _headers, _form = fake.requests[0]
    assert path == "/.well-known/openid-configuration"
    fake.discovery_extra = {"issuer": "https://login.example.com/other-tenant/v2.0"}
    discovery.CACHE.forget()
    with pytest.raises(DirectoryUnavailable):  # the issuer must still be the configured one
        connector_for(fake, discovery_url=url).start(CALLBACK, HANDLE)


def test_the_example_configuration(fake):
    """config/examples/oidc loads, and its maps read Google's and Entra ID's claims."""
    from idp.config import load_config
    from tests.federation.oidc.peer import ROOT

    example = load_config(ROOT / "config" / "examples" / "oidc", environ={})
    local = {"issuer": fake.issuer, "client_secret_env": SECRET_ENV, "client_secret_file": None}

    def connector(slug):
        city = example.cities[slug]
        directory = city.directory.model_copy(update=local)
        return OidcDirectory(city.model_copy(update={"directory": directory}))

    google = connector("tampere")
    pupil = run(fake, google, {"aud": google.directory.client_id, "email_verified": True})
    assert [(r.role, r.municipality_code) for r in pupil.roles] == [("learner", "837")]

    entra = connector("vantaa")
    ext = "extension_b7a4c2d19e8f4a3c9d2e1f0a6b5c4d3e"
    pupil = run(
        fake,
        entra,
        {
            "aud": entra.directory.client_id,
            "tid": "5c1e2d3f-9a8b-4c7d-8e6f-1a2b3c4d5e6f",
            "oid": "0a4f7c1e-5d2b-4e8a-9c3f-1b2d3e4f5a6b",
            "roles": ["Learner"],
            f"{ext}_learnerId": "1.2.246.562.24.40912345678",
            f"{ext}_schoolCode": "03312",
            f"{ext}_className": "7B",
        },
    )
    assert pupil.subject == "0a4f7c1e-5d2b-4e8a-9c3f-1b2d3e4f5a6b"
    assert pupil.learner_id == "1.2.246.562.24.40912345678"
    assert [(r.role, r.school_code, r.group) for r in pupil.roles] == [("learner", "03312", "7B")]

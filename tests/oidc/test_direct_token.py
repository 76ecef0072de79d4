"""The token endpoint's direct path (idp.oidc.direct_token): it answers a plain, valid
client_credentials grant as the full path would, and leaves everything else, errors above all,
to the full path."""

from __future__ import annotations

import base64

import jwt
import pytest
from sqlalchemy import update

from core.db import db, utcnow
from idp.oidc import OIDC
from idp.oidc.clients import hash_secret
from idp.oidc.direct_token import DirectToken, basic_credentials, plain_form
from idp.oidc.models import Client
from keys.app import KEYS
from tests.oidc.helpers import RP, register, verify

API = "https://api.example/school"
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def full_path(seeded, monkeypatch) -> list[int]:
    """One entry per request that reached the Flask endpoint (idp.oidc.endpoints.token)."""
    original, calls = seeded.view_functions["oidc_api.token"], []

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setitem(seeded.view_functions, "oidc_api.token", counting)
    return calls


def _service(app, method: str = "client_secret_basic") -> RP:
    return register(
        app,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="edu:school edu:roles",
        resources=[API],
        token_endpoint_auth_method=method,
    )


def _post(app, data: dict | str, headers: dict | None = None):
    """A form post; a str is sent as the body itself (a parameter may be repeated)."""
    kind = {"content_type": "application/x-www-form-urlencoded"} if isinstance(data, str) else {}
    return app.test_client().post("/oidc/token", data=data, headers=headers or {}, **kind)


def _warm(app, service: RP, full_path: list[int]) -> None:
    """A first grant reads the client from the database (the full path); then it is held."""
    assert _post(app, GRANT, service.basic()).status_code == 200
    full_path.clear()


def _without_jti_and_times(claims: dict) -> dict:
    return {k: v for k, v in claims.items() if k not in ("jti", "iat", "exp")}


@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("client_secret_basic", {}),
        ("client_secret_basic", {"scope": "edu:school"}),
        ("client_secret_basic", {"scope": "edu:roles edu:school", "resource": API}),
        ("client_secret_post", {"scope": "edu:school"}),
    ],
)
def test_direct_path_answers_as_the_full_path_does(seeded, full_path, monkeypatch, method, data):
    service = _service(seeded, method)
    if method == "client_secret_basic":
        headers, form = service.basic(), {**GRANT, **data}
    else:
        headers = {}
        form = {**GRANT, **data, "client_id": service.client_id, "client_secret": service.secret}
    assert _post(seeded, form, headers).status_code == 200  # the client is read and held
    full_path.clear()

    direct = _post(seeded, form, headers)
    assert direct.status_code == 200 and full_path == []
    monkeypatch.setattr(DirectToken, "_answer", lambda self, environ: None)
    full = _post(seeded, form, headers)
    assert full.status_code == 200 and full_path == [1]

    assert direct.json.keys() == full.json.keys() == {"access_token", "token_type",
                                                      "expires_in", "scope"}  # fmt: skip
    assert {k: v for k, v in direct.json.items() if k != "access_token"} == {
        k: v for k, v in full.json.items() if k != "access_token"
    }
    client = seeded.test_client()
    audience = data.get("resource", OIDC.of(seeded).provider.issuer)
    claims = [verify(client, r.json["access_token"], audience=audience) for r in (direct, full)]
    assert _without_jti_and_times(claims[0]) == _without_jti_and_times(claims[1])
    assert claims[0]["jti"] != claims[1]["jti"]
    headers_of = [jwt.get_unverified_header(r.json["access_token"]) for r in (direct, full)]
    assert headers_of[0] == headers_of[1] and headers_of[0]["typ"] == "at+jwt"
    for name in ("Content-Type", "Cache-Control", "Pragma", "X-Request-Id",
                 "Content-Security-Policy", "X-Content-Type-Options"):  # fmt: skip
        assert (name in direct.headers) and (name in full.headers), name
    assert direct.headers["Cache-Control"] == full.headers["Cache-Control"] == "no-store"


def _wrong_secret(service: RP) -> dict:
    raw = f"{service.client_id}:not-the-secret".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


# (why, form, headers(service) or None for the service's Basic, status, error or None for 200)
FULL_WAY = [
    ("wrong secret", GRANT, _wrong_secret, 401, "invalid_client"),
    (
        "unknown client",
        GRANT,
        lambda s: {"Authorization": "Basic " + base64.b64encode(b"nobody:secret").decode()},
        401,
        "invalid_client",
    ),
    ("openid", {**GRANT, "scope": "openid"}, None, 400, "invalid_request"),
    ("unknown scope", {**GRANT, "scope": "edu:nothing"}, None, 400, "invalid_scope"),
    (
        "scope twice",
        "grant_type=client_credentials&scope=edu%3Aschool&scope=edu%3Aroles",
        None,
        400,
        "invalid_request",
    ),  # RFC 6749 section 3.2
    ("an unknown parameter", {**GRANT, "extra": "1"}, None, 200, None),
    ("an empty scope", {**GRANT, "scope": ""}, None, 200, None),
    ("not form-encoded", None, None, 400, None),
    ("another grant", {"grant_type": "refresh_token", "refresh_token": "x"}, None, 400, None),
]


@pytest.mark.parametrize(("why", "form", "headers", "status", "error"), FULL_WAY,
                         ids=[case[0] for case in FULL_WAY])  # fmt: skip
def test_anything_else_goes_the_full_way(seeded, full_path, why, form, headers, status, error):
    service = _service(seeded)
    _warm(seeded, service, full_path)
    sent = headers(service) if headers else service.basic()
    if form is None:
        response = seeded.test_client().post("/oidc/token", json=GRANT, headers=sent)
    else:
        response = _post(seeded, form, sent)
    assert full_path == [1], why
    assert response.status_code == status, response.json
    assert response.is_json
    if error:
        assert response.json["error"] == error


def test_both_ways_of_authenticating_at_once_go_the_full_way(seeded, full_path):
    service = _service(seeded)
    _warm(seeded, service, full_path)
    both = {**GRANT, "client_id": service.client_id, "client_secret": service.secret}
    _post(seeded, both, service.basic())
    assert full_path == [1]


def test_a_client_registered_for_another_method_goes_the_full_way(seeded, full_path):
    service = _service(seeded, "client_secret_post")
    form = {**GRANT, "client_id": service.client_id, "client_secret": service.secret}
    assert _post(seeded, form).status_code == 200
    full_path.clear()
    response = _post(seeded, GRANT, service.basic())  # Basic, registered for post
    assert full_path == [1] and response.status_code == 401


def test_a_client_not_allowed_the_grant_goes_the_full_way(seeded, full_path):
    service = register(seeded, grant_types=["authorization_code"], scope="openid edu:school")
    _post(seeded, GRANT, service.basic())
    full_path.clear()
    response = _post(seeded, GRANT, service.basic())
    assert full_path == [1] and response.json["error"] == "unauthorized_client"


def test_key_upkeep_due_or_a_key_not_in_memory_goes_the_full_way(seeded, full_path):
    service = _service(seeded)
    _warm(seeded, service, full_path)
    keys = KEYS.of(seeded)
    keys._next_check = 0.0  # upkeep due
    assert _post(seeded, GRANT, service.basic()).status_code == 200
    assert full_path == [1]
    keys.store()._active.clear()  # the active key not read yet in this process
    assert _post(seeded, GRANT, service.basic()).status_code == 200
    assert full_path == [1, 1]
    assert _post(seeded, GRANT, service.basic()).status_code == 200
    assert full_path == [1, 1]  # the full path read both again


def test_a_secret_changed_elsewhere_is_checked_once_the_copy_is_old(seeded, full_path):
    """Another process rotates the secret: within client_cache_seconds the held copy answers;
    after that the full path checks the row, and the old secret no longer works."""
    service = _service(seeded)
    _warm(seeded, service, full_path)
    clients = OIDC.of(seeded).server.clients
    with seeded.app_context():  # as the CLI in another process would: no cache is told
        db.session.connection().execute(
            update(Client)
            .where(Client.client_id == service.client_id)
            .values(client_secret_hash=hash_secret("rotated-secret"), updated_at=utcnow())
        )
        db.session.commit()
    now = clients.clock()
    clients.clock = lambda: now + clients.ttl + 1
    response = _post(seeded, GRANT, service.basic())
    assert full_path == [1] and response.status_code == 401
    rotated = RP(service.client_id, "rotated-secret")
    assert _post(seeded, GRANT, rotated.basic()).status_code == 200
    full_path.clear()
    assert _post(seeded, GRANT, rotated.basic()).status_code == 200
    assert full_path == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"grant_type=client_credentials", {"grant_type": "client_credentials"}),
        (
            b"grant_type=client_credentials&scope=edu%3Aschool+edu%3Aroles",
            {"grant_type": "client_credentials", "scope": "edu:school edu:roles"},
        ),
        (b"grant_type=client_credentials&grant_type=client_credentials", None),
        (b"grant_type=client_credentials&scope=", None),
        (b"grant_type=client_credentials&scope", None),
        (b"grant_type=client_credentials&other=1", None),
        (b"grant_type=client_credentials&scope=%FF", None),
        ("grant_type=client_credentials&scope=ä".encode(), None),
    ],
)
def test_plain_form(body, expected):
    assert plain_form(body) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Basic " + base64.b64encode(b"id:secret").decode(), ("id", "secret")),
        ("basic " + base64.b64encode(b"id%3A1:se%3Acret").decode(), ("id:1", "se:cret")),
        ("Basic " + base64.b64encode(b"id:").decode(), None),
        ("Basic " + base64.b64encode(b"id").decode(), None),
        ("Basic not*base64", None),
        ("Bearer " + base64.b64encode(b"id:secret").decode(), None),
        ("Basic " + base64.b64encode(b"\xff:x").decode(), None),
    ],
)
def test_basic_credentials(header, expected):
    assert basic_credentials(header) == expected

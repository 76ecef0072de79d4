"""private_key_jwt client authentication (OIDC Core section 9, RFC 7523 sections 2.2 and 3) at
/oidc/token, /oidc/introspect and /oidc/revoke, mapped to CHECKLISTS.md "Client assertions
(private_key_jwt): none signature refused, signature checked, expiry checked, replay detected".
Every refusal is RFC 6749 section 5.2 invalid_client: 401 with WWW-Authenticate, a JSON body,
Cache-Control: no-store. (The full JWT forgery list for assertions is in test_jwt_attacks.)
"""

from __future__ import annotations

import pytest

from tests.oidc.forge import (
    ISSUER,
    TOKEN_ENDPOINT,
    KeyPair,
    Service,
    assertion_claims,
    assertion_form,
    compact,
    now,
    register_service,
    sign_rsa,
)
from tests.oidc.helpers import RP, register, verify


@pytest.fixture
def service(app) -> Service:
    return register_service(app)


def token_request(client, client_assertion: str | None, **data):
    form = {"grant_type": "client_credentials", "scope": "edu:school", **data}
    if client_assertion is not None:
        form.update(assertion_form(client_assertion))
    return client.post("/oidc/token", data=form)


def assert_invalid_client(response) -> None:
    """RFC 6749 section 5.2."""
    assert response.status_code == 401, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert response.json["error"] == "invalid_client"
    assert "access_token" not in response.json
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic ")
    assert 'error="invalid_client"' in response.headers["WWW-Authenticate"]
    assert response.headers["Cache-Control"] == "no-store"


def assert_token(response, service: Service) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "edu:school"
    return body


# -- accepted ------------------------------------------------------------------------------------


def test_valid_assertion_gets_token(client, service):
    """iss = sub = client_id, aud = the token endpoint, exp, jti: an access token for the client
    itself (sub = client_id, RFC 9068 section 2.2)."""
    body = assert_token(token_request(client, service.assertion()), service)
    claims = verify(client, body["access_token"], audience=ISSUER)
    assert claims["client_id"] == claims["sub"] == service.client_id
    assert claims["scope"] == "edu:school"


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_ENDPOINT, [TOKEN_ENDPOINT], ["x", ISSUER]])
def test_assertion_audience_issuer_or_token_endpoint(client, service, aud):
    """RFC 7523 section 3 point 3: the authorization server's issuer or its token endpoint."""
    assert_token(token_request(client, service.assertion(aud=aud)), service)


def test_expiry_within_leeway_accepted(client, service):
    """30 seconds of clock skew are allowed (PrivateKeyJwt leeway)."""
    claims = {"exp": now() - 10, "iat": now() - 100}
    assert_token(token_request(client, service.assertion(**claims)), service)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_advertised_signing_algs_accepted(app, client, alg):
    """Every alg of token_endpoint_auth_signing_alg_values_supported works."""
    advertised = client.get("/.well-known/openid-configuration").json
    assert alg in advertised["token_endpoint_auth_signing_alg_values_supported"]
    service = register_service(app, KeyPair.ec() if alg == "ES256" else KeyPair.rsa(alg))
    assert_token(token_request(client, service.assertion()), service)


def test_same_jti_for_two_clients_accepted(app, client, service):
    """Replay is per client (RFC 7523 section 3 point 7 speaks of the issuer's jti)."""
    other = register_service(app)
    assert_token(token_request(client, service.assertion(jti="shared")), service)
    assert_token(token_request(client, other.assertion(jti="shared")), other)


# -- refused -------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_refused(client, service, alg):
    claims = assertion_claims(service.client_id)
    assert_invalid_client(token_request(client, compact({"alg": alg}, claims)))
    header = {"alg": alg, "kid": service.key.kid, "typ": "JWT"}
    assert_invalid_client(token_request(client, compact(header, claims)))


def test_signature_by_another_key_refused(client, service):
    """Signature checked: the same claims signed by a key that is not the client's, under the
    client's kid, under the attacker's own kid and with no kid."""
    attacker = KeyPair.rsa()
    claims = assertion_claims(service.client_id)
    for header in ({"kid": service.key.kid}, {"kid": attacker.kid}, {}):
        forged = sign_rsa({"alg": "RS256", **header}, claims, attacker.private_key)
        assert_invalid_client(token_request(client, forged))
    assert_token(token_request(client, service.key.sign(claims)), service)


def test_expired_assertion_refused(client, service):
    expired = service.assertion(iat=now() - 600, exp=now() - 120)
    assert_invalid_client(token_request(client, expired))


def test_assertion_without_exp_refused(client, service):
    """exp is required (RFC 7523 section 3 point 4)."""
    assert_invalid_client(token_request(client, service.assertion(exp=None)))


def test_assertion_not_yet_valid_refused(client, service):
    assert_invalid_client(token_request(client, service.assertion(nbf=now() + 600)))
    assert_invalid_client(token_request(client, service.assertion(iat=now() + 600)))


def test_assertion_without_jti_refused(client, service):
    """Without jti a replay could not be detected (OIDC Core section 9: jti REQUIRED)."""
    assert_invalid_client(token_request(client, service.assertion(jti=None)))


def test_replayed_assertion_refused(client, service):
    """The same assertion twice: the second is a replay (RFC 7523 section 3 point 7)."""
    assertion = service.assertion()
    assert_token(token_request(client, assertion), service)
    assert_invalid_client(token_request(client, assertion))


def test_reused_jti_in_new_assertion_refused(client, service):
    """A new assertion (other exp and iat) with a jti already seen is a replay too."""
    assert_token(token_request(client, service.assertion(jti="once")), service)
    later = service.assertion(jti="once", iat=now() + 1, exp=now() + 300)
    assert_invalid_client(token_request(client, later))


def test_jti_spent_even_when_the_grant_fails(client, service):
    """An assertion that authenticated a request that then failed (here: a grant the client is
    not registered for) cannot be replayed."""
    assertion = service.assertion()
    data = {"grant_type": "authorization_code", "code": "x", "code_verifier": "y" * 43}
    failed = client.post("/oidc/token", data={**data, **assertion_form(assertion)})
    assert failed.status_code == 400, failed.json
    assert failed.json["error"] in ("unauthorized_client", "invalid_grant")
    assert_invalid_client(token_request(client, assertion))


@pytest.mark.parametrize(
    "aud",
    [
        "https://attacker.example/oidc/token",
        f"{ISSUER}/oidc/authorize",
        f"{ISSUER}/oidc/userinfo",
        "https://127.0.0.1:5000/oidc/token",
    ],
)
def test_wrong_audience_refused(client, service, aud):
    assert_invalid_client(token_request(client, service.assertion(aud=aud)))


def test_assertion_without_aud_refused(client, service):
    assert_invalid_client(token_request(client, service.assertion(aud=None)))


def test_iss_and_sub_must_both_be_the_client(app, client, service):
    """RFC 7523 section 3 points 1 and 2."""
    other = register_service(app, key=service.key)
    assert_invalid_client(token_request(client, service.assertion(iss=other.client_id)))
    assert_invalid_client(token_request(client, service.assertion(sub=other.client_id)))
    assert_invalid_client(token_request(client, service.assertion(iss=None)))
    assert_invalid_client(token_request(client, service.assertion(sub="no-such-client")))


def test_client_secret_basic_client_cannot_use_an_assertion(app, client):
    """A client registered for client_secret_basic cannot authenticate with private_key_jwt,
    even when it has registered keys and signs with them."""
    key = KeyPair.rsa()
    rp: RP = register(
        app,
        redirect_uris=[],
        grant_types=["client_credentials"],
        scope="edu:school",
        token_endpoint_auth_method="client_secret_basic",
        jwks=key.jwks(),
    )
    as_service = Service(rp.client_id, key)
    assert_invalid_client(token_request(client, as_service.assertion()))
    keyless = register(
        app, redirect_uris=[], grant_types=["client_credentials"], scope="edu:school"
    )
    assert_invalid_client(token_request(client, Service(keyless.client_id, key).assertion()))
    # its secret still works
    response = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=rp.basic()
    )
    assert response.status_code == 200, response.json


def test_private_key_jwt_client_cannot_use_a_secret_or_nothing(client, service):
    """The registered method only: no secret (it has none), no bare client_id."""
    basic = RP(service.client_id, "guessed").basic()
    response = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic)
    assert_invalid_client(response)
    post = {"client_id": service.client_id, "client_secret": "guessed"}
    assert_invalid_client(token_request(client, None, **post))
    assert_invalid_client(token_request(client, None, client_id=service.client_id))
    assert_invalid_client(token_request(client, None))


def test_wrong_assertion_type_refused(client, service):
    """client_assertion_type must be RFC 7523's jwt-bearer."""
    form = assertion_form(service.assertion())
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    response = client.post("/oidc/token", data={"grant_type": "client_credentials", **form})
    assert_invalid_client(response)


def test_malformed_claims_refused_not_500(client, service, subtests):
    """Odd claim values from a client that holds its key are refusals, never a 500 (e.g. the jti
    table's VARCHAR(255) on PostgreSQL, or an exp beyond datetime's range)."""
    cases = {
        "jti_int": {"jti": 12345},
        "jti_list": {"jti": ["a"]},
        "jti_object": {"jti": {"a": 1}},
        "jti_empty": {"jti": ""},
        "jti_too_long": {"jti": "j" * 1000},
        "exp_huge": {"exp": 2**62},
        "exp_string": {"exp": "soon"},
        "exp_float": {"exp": now() + 60.5},
        "sub_int": {"sub": 1, "iss": 1},
        "sub_long": {"sub": "s" * 500, "iss": "s" * 500},
        "aud_int": {"aud": 5},
    }
    header = {"alg": "RS256", "kid": service.key.kid}
    for name, changes in cases.items():
        with subtests.test(case=name):
            claims = assertion_claims(service.client_id, **changes)
            response = token_request(client, sign_rsa(header, claims, service.key.private_key))
            assert response.status_code in (200, 401), (name, response.status_code)
            if response.status_code == 401:
                assert_invalid_client(response)


# -- at introspection and revocation --------------------------------------------------------------


def test_assertion_at_introspection_and_revocation(client, service):
    """private_key_jwt authenticates at /oidc/introspect and /oidc/revoke as at the token
    endpoint (discovery lists it for both)."""
    token = assert_token(token_request(client, service.assertion()), service)["access_token"]
    introspect_aud = f"{ISSUER}/oidc/introspect"
    form = assertion_form(service.assertion(aud=ISSUER), token=token)
    response = client.post("/oidc/introspect", data=form)
    assert response.status_code == 200, response.json
    assert response.json["active"] is True
    assert response.json["client_id"] == service.client_id
    form = assertion_form(service.assertion(aud=ISSUER), token=token)
    assert client.post("/oidc/revoke", data=form).status_code == 200
    form = assertion_form(service.assertion(aud=ISSUER), token=token)
    assert client.post("/oidc/introspect", data=form).json == {"active": False}
    # the audience check applies there too
    form = assertion_form(service.assertion(aud=introspect_aud + "x"), token=token)
    assert_invalid_client(client.post("/oidc/introspect", data=form))


@pytest.mark.parametrize("endpoint", ["/oidc/introspect", "/oidc/revoke"])
def test_replayed_assertion_refused_at_introspection_and_revocation(client, service, endpoint):
    """Replay detection holds at every endpoint that accepts assertions, also where the
    request itself writes nothing (introspection)."""
    token = assert_token(token_request(client, service.assertion()), service)["access_token"]
    form = assertion_form(service.assertion(aud=ISSUER), token=token)
    assert client.post(endpoint, data=form).status_code == 200
    assert_invalid_client(client.post(endpoint, data=form))
    # ... and an assertion spent at one endpoint is spent at the others
    form = assertion_form(service.assertion(aud=ISSUER), token=token)
    assert client.post(endpoint, data=form).status_code == 200
    assert_invalid_client(token_request(client, form["client_assertion"]))

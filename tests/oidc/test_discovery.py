"""oidcc-discovery-endpoint-verification (OIDF Config OP) and RFC 8414 metadata."""

from __future__ import annotations


def test_oidcc_discovery_endpoint_verification(client):
    meta = client.get("/.well-known/openid-configuration")
    assert meta.status_code == 200
    doc = meta.json
    assert doc["issuer"] == "http://127.0.0.1:5000"
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "introspection_endpoint",
        "revocation_endpoint",
    ):
        assert doc[name].startswith(doc["issuer"] + "/")
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email", "edu:school"} <= set(doc["scopes_supported"])
    assert doc["response_types_supported"] == ["code"]
    assert set(doc["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",  # RFC 8693, consent-bound tokens
    }
    assert "password" not in doc["grant_types_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"sub", "name", "email", "edu_schools"} <= set(doc["claims_supported"])
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["request_parameter_supported"] is False
    assert doc["subject_types_supported"] == ["pairwise", "public"]


def test_jwks_uri_is_fetchable_and_has_signing_keys(client):
    doc = client.get("/.well-known/openid-configuration").json
    path = doc["jwks_uri"].removeprefix(doc["issuer"])
    keys = client.get(path).json["keys"]
    assert {key["alg"] for key in keys} >= {"RS256", "ES256"}
    assert all("d" not in key for key in keys)


def test_rfc8414_authorization_server_metadata(client):
    oauth = client.get("/.well-known/oauth-authorization-server").json
    assert oauth == client.get("/.well-known/openid-configuration").json

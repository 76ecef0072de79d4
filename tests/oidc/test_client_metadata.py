"""Client metadata rules (RFC 7591 section 2, RFC 8252, RFC 9700, OIDC Core 8.1) and the Client
model's Authlib ClientMixin methods. Pure functions: no database."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey, RSAKey

from idp.oidc.client_metadata import InvalidClientMetadata, validate_metadata
from idp.oidc.clients import hash_secret, new_secret, verify_secret
from idp.oidc.models import Client

WEB = "https://app.espoo.fi/cb"


def check(admin: bool = False, development: bool = False, **fields) -> dict:
    data = {"client_name": "Oppimisalusta", "redirect_uris": [WEB], **fields}
    return validate_metadata(data, admin=admin, development=development)


def refused(field: str, error: str = "invalid_client_metadata", **kwargs) -> None:
    with pytest.raises(InvalidClientMetadata) as caught:
        check(**kwargs)
    assert caught.value.error == error
    assert caught.value.description.startswith(field), caught.value.description


# -- defaults and unknown fields


def test_minimal_registration_gets_every_default():
    assert check() == {
        "client_name": "Oppimisalusta",
        "redirect_uris": [WEB],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid",
        "subject_type": "pairwise",
        "id_token_signed_response_alg": "RS256",
        "access_token_signed_response_alg": "RS256",
        "post_logout_redirect_uris": [],
        "approval_scopes": [],
        "resources": [],
    }


def test_unknown_fields_are_dropped():
    result = check(client_id="x", client_secret="y", software_statement="z", colour="blue")
    assert not {"client_id", "client_secret", "software_statement", "colour"} & set(result)


def test_null_counts_as_absent():
    assert check(scope=None, subject_type=None, grant_types=None) == check()


def test_metadata_must_be_an_object():
    with pytest.raises(InvalidClientMetadata, match="JSON object"):
        validate_metadata(["client_name"], admin=False, development=False)  # type: ignore[arg-type]


# -- redirect_uris


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.espoo.fi/cb",
        "https://app.espoo.fi:8443/cb?tenant=049",
        "http://127.0.0.1:5001/callback",  # RFC 8252 7.3 loopback IP
        "http://[::1]:5001/callback",
        "fi.espoo.app:/oauth2redirect",  # RFC 8252 7.1 private-use scheme
    ],
)
def test_redirect_uri_accepted(uri):
    assert check(redirect_uris=[uri])["redirect_uris"] == [uri]


@pytest.mark.parametrize(
    "uri",
    [
        "/cb",  # relative
        "app.espoo.fi/cb",  # no scheme
        "https://app.espoo.fi/cb#frag",
        "https://app.espoo.fi/cb#",
        "https://*.espoo.fi/cb",  # wildcard
        "https://app.espoo.fi/*",
        "http://app.espoo.fi/cb",  # plain http to a real host
        "http://localhost:5001/cb",  # localhost only in development
        "https://user:pw@app.espoo.fi/cb",
        "HTTPS://app.espoo.fi/cb",
        "https:///cb",
        "https://app.espoo.fi:port/cb",
        "https://app.espoo.fi/c b",
        "javascript:alert(1)",
        "myapp:/cb",  # private-use scheme without a dot
        "fi.espoo.app://cb",  # RFC 8252 7.1: a single slash
        "data:text/html,hi",
    ],
)
def test_redirect_uri_refused(uri):
    refused("redirect_uris", "invalid_redirect_uri", redirect_uris=[uri])


def test_redirect_uri_localhost_allowed_in_development():
    uri = "http://localhost:5001/cb"
    assert check(development=True, redirect_uris=[uri])["redirect_uris"] == [uri]


def test_redirect_uris_required_for_authorization_code():
    refused("redirect_uris", "invalid_redirect_uri", redirect_uris=[])
    with pytest.raises(InvalidClientMetadata):
        validate_metadata({"client_name": "x"}, admin=False, development=False)


def test_redirect_uris_not_required_for_client_credentials():
    result = validate_metadata(
        {"client_name": "Analytiikka", "grant_types": ["client_credentials"]},
        admin=False,
        development=False,
    )
    assert result["redirect_uris"] == [] and result["response_types"] == []


def test_redirect_uris_must_be_a_list_of_strings():
    refused("redirect_uris", redirect_uris=WEB)
    refused("redirect_uris", redirect_uris=[1])


def test_redirect_uris_are_kept_exactly_without_duplicates():
    uris = ["https://app.espoo.fi/cb", "https://app.espoo.fi/cb/", "https://app.espoo.fi/cb"]
    assert check(redirect_uris=uris)["redirect_uris"] == uris[:2]


# -- pairwise sector identifier (OIDC Core 8.1)


def test_pairwise_redirect_uris_on_one_host_accepted():
    uris = [WEB, "https://app.espoo.fi:8443/other"]
    assert check(redirect_uris=uris)["redirect_uris"] == uris


def test_pairwise_redirect_uris_on_two_hosts_refused():
    uris = [WEB, "https://app.vantaa.fi/cb"]
    refused("redirect_uris", "invalid_redirect_uri", redirect_uris=uris)


def test_public_subject_redirect_uris_on_two_hosts_accepted():
    uris = [WEB, "https://app.vantaa.fi/cb"]
    assert check(True, redirect_uris=uris, subject_type="public")["redirect_uris"] == uris


def test_sector_identifier_uri_refused_as_unsupported():
    refused("sector_identifier_uri", sector_identifier_uri="https://app.espoo.fi/sector.json")


# -- grant_types and response_types


def test_grant_types_all_three():
    grants = ["authorization_code", "refresh_token", "client_credentials"]
    assert check(grant_types=grants)["grant_types"] == grants


@pytest.mark.parametrize(
    "grants",
    [["password"], ["implicit"], ["authorization_code", "urn:x"], [], "authorization_code"],
)
def test_grant_types_refused(grants):
    refused("grant_types", grant_types=grants)


def test_refresh_token_only_with_authorization_code():
    refused("grant_types", grant_types=["client_credentials", "refresh_token"])


def test_response_types_code_accepted():
    assert check(response_types=["code"])["response_types"] == ["code"]


@pytest.mark.parametrize("types", [["token"], ["code", "id_token"], ["code id_token"], []])
def test_response_types_other_than_code_refused(types):
    refused("response_types", response_types=types)


def test_response_types_code_refused_without_authorization_code():
    refused("response_types", grant_types=["client_credentials"], response_types=["code"])


# -- token_endpoint_auth_method and keys


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "none"])
def test_auth_method_accepted(method):
    assert check(token_endpoint_auth_method=method)["token_endpoint_auth_method"] == method


def test_auth_method_unknown_refused():
    refused("token_endpoint_auth_method", token_endpoint_auth_method="client_secret_jwt")


def test_public_client_cannot_use_client_credentials():
    refused(
        "token_endpoint_auth_method",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "client_credentials"],
    )


def test_private_key_jwt_needs_keys():
    refused("token_endpoint_auth_method", token_endpoint_auth_method="private_key_jwt")


def test_private_key_jwt_with_jwks_uri_accepted():
    result = check(token_endpoint_auth_method="private_key_jwt", jwks_uri="https://app.fi/jwks")
    assert result["jwks_uri"] == "https://app.fi/jwks"


@pytest.mark.parametrize(
    "uri", ["http://app.espoo.fi/jwks", "http://127.0.0.1:5001/jwks", "https://app.fi/j#k"]
)
def test_jwks_uri_must_be_https(uri):
    refused("jwks_uri", token_endpoint_auth_method="private_key_jwt", jwks_uri=uri)


@pytest.mark.parametrize("key", [RSAKey.generate_key(2048), ECKey.generate_key("P-256")])
def test_private_key_jwt_with_public_jwks_accepted(key):
    jwks = {"keys": [key.as_dict(private=False)]}
    assert check(token_endpoint_auth_method="private_key_jwt", jwks=jwks)["jwks"] == jwks


def test_jwks_with_private_key_refused():
    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]}
    refused("jwks", token_endpoint_auth_method="private_key_jwt", jwks=jwks)


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},  # a shared secret is not a public key
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "abc", "y": "def"}]},  # unreadable
        {"keys": []},
        {"kid": "no keys"},
        "https://app.fi/jwks",
    ],
)
def test_bad_jwks_refused(jwks):
    refused("jwks", token_endpoint_auth_method="private_key_jwt", jwks=jwks)


def test_jwks_and_jwks_uri_together_refused():
    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    refused("jwks", token_endpoint_auth_method="private_key_jwt", jwks=jwks, jwks_uri=WEB)


# -- scope


def test_scope_subset_kept_in_order_without_duplicates():
    scope = "openid email profile email edu:school"
    assert check(scope=scope)["scope"] == "openid email profile edu:school"


@pytest.mark.parametrize("scope", ["openid address", "", "   ", ["openid"], 1])
def test_scope_unknown_or_wrong_type_refused(scope):
    refused("scope", scope=scope)


def test_learner_id_refused_without_admin():
    refused("scope", scope="openid edu:learner_id")


def test_learner_id_accepted_for_admin():
    assert check(admin=True, scope="openid edu:learner_id")["scope"] == "openid edu:learner_id"


def test_learner_id_kept_when_already_granted():
    data = {"client_name": "x", "redirect_uris": [WEB], "scope": "openid edu:learner_id"}
    held = {"scope": "openid edu:learner_id"}
    result = validate_metadata(data, admin=False, development=False, held=held)
    assert result["scope"] == "openid edu:learner_id"


def test_offline_access_needs_refresh_token_grant():
    refused("scope", scope="openid offline_access")
    grants = ["authorization_code", "refresh_token"]
    assert "offline_access" in check(scope="openid offline_access", grant_types=grants)["scope"]


# -- subject_type and id_token_signed_response_alg


def test_subject_type_public_accepted_and_other_refused():
    assert check(admin=True, subject_type="public")["subject_type"] == "public"
    refused("subject_type", subject_type="ppid")


def test_id_token_alg_es256_accepted():
    assert check(id_token_signed_response_alg="ES256")["id_token_signed_response_alg"] == "ES256"


@pytest.mark.parametrize("alg", ["none", "HS256", "rs256", "PS256"])
def test_id_token_alg_refused(alg):
    refused("id_token_signed_response_alg", id_token_signed_response_alg=alg)


# -- logout


def test_post_logout_redirect_uris_follow_redirect_rules():
    uris = ["https://app.espoo.fi/bye", "http://127.0.0.1:5001/bye", "fi.espoo.app:/bye"]
    assert check(post_logout_redirect_uris=uris)["post_logout_redirect_uris"] == uris
    refused("post_logout_redirect_uris", post_logout_redirect_uris=["https://app.fi/bye#x"])
    refused("post_logout_redirect_uris", post_logout_redirect_uris=["http://app.fi/bye"])


def test_backchannel_logout_uri_https_with_session_required_default():
    result = check(backchannel_logout_uri="https://app.espoo.fi/logout")
    assert result["backchannel_logout_uri"] == "https://app.espoo.fi/logout"
    assert result["backchannel_logout_session_required"] is True
    assert "backchannel_logout_session_required" not in check()


def test_backchannel_logout_http_loopback_only_in_development():
    """The broker itself calls a back-channel URI: loopback is a development convenience,
    never production's (a request the broker would make to itself)."""
    uri = "http://127.0.0.1:5001/logout"
    assert check(development=True, backchannel_logout_uri=uri)["backchannel_logout_uri"] == uri
    refused("backchannel_logout_uri", backchannel_logout_uri=uri)
    refused("backchannel_logout_uri", backchannel_logout_uri="https://127.0.0.1:5001/logout")


@pytest.mark.parametrize(
    "uri", ["http://app.espoo.fi/logout", "https://app.espoo.fi/logout#x", "fi.espoo.app:/lo"]
)
def test_backchannel_logout_uri_refused(uri):
    refused("backchannel_logout_uri", backchannel_logout_uri=uri)


def test_backchannel_logout_session_required_must_be_boolean():
    uri = "https://app.espoo.fi/logout"
    result = check(backchannel_logout_uri=uri, backchannel_logout_session_required=False)
    assert result["backchannel_logout_session_required"] is False
    refused(
        "backchannel_logout_session_required",
        backchannel_logout_uri=uri,
        backchannel_logout_session_required="yes",
    )


# -- names, informational URIs, contacts


def test_client_name_required():
    with pytest.raises(InvalidClientMetadata, match=r"^client_name"):
        validate_metadata({"redirect_uris": [WEB]}, admin=False, development=False)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, 7])
def test_client_name_refused(name):
    refused("client_name", client_name=name)


def test_client_name_language_variants_kept_others_dropped():
    variants = {"client_name#fi": "Oppimo", "client_name#sv": "Lärplats", "client_name#en": "Lp"}
    result = check(**variants, **{"client_name#de": "Lernplatz"})
    assert {key: result[key] for key in variants} == variants
    assert "client_name#de" not in result
    refused("client_name#sv", **{"client_name#sv": ""})


def test_informational_uris_https_only():
    uris = {name: f"https://app.espoo.fi/{name}" for name in ("client_uri", "logo_uri")}
    assert {k: v for k, v in check(**uris).items() if k in uris} == uris
    refused("tos_uri", tos_uri="http://app.espoo.fi/tos")
    refused("policy_uri", policy_uri=["https://app.espoo.fi/policy"])


def test_contacts_list_of_strings():
    assert check(contacts=["tuki@espoo.fi"])["contacts"] == ["tuki@espoo.fi"]
    refused("contacts", contacts="tuki@espoo.fi")


# -- DigiOne extensions


@pytest.mark.parametrize("seconds", [60, 300, 3600])
def test_access_token_lifetime_accepted(seconds):
    assert check(access_token_lifetime=seconds)["access_token_lifetime"] == seconds


@pytest.mark.parametrize("seconds", [59, 3601, "300", True, 300.0])
def test_access_token_lifetime_refused(seconds):
    refused("access_token_lifetime", access_token_lifetime=seconds)


def test_approval_scopes_subset_of_scope():
    result = check(scope="openid email edu:school", approval_scopes=["edu:school"])
    assert result["approval_scopes"] == ["edu:school"]
    refused("approval_scopes", scope="openid", approval_scopes=["email"])


def test_resources_https_uris():
    resources = ["https://api.espoo.fi/", "https://reports.espoo.fi/api"]
    assert check(admin=True, resources=resources)["resources"] == resources
    refused("resources", admin=True, resources=["http://api.espoo.fi/"])
    refused("resources", admin=True, resources=["https://api.espoo.fi/#x"])
    refused("resources", admin=True, resources="https://api.espoo.fi/")


# -- secrets


def test_secrets_are_256_bit_and_hashed():
    secret = new_secret()
    assert len(secret) >= 43 and secret != new_secret()
    stored = hash_secret(secret)
    assert len(stored) == 64 and secret not in stored
    assert verify_secret(stored, secret)
    assert not verify_secret(stored, secret + "x")
    assert not verify_secret(None, secret)
    assert not verify_secret(stored, None)
    assert not verify_secret(stored, 12)  # type: ignore[arg-type]


# -- Client: Authlib ClientMixin


def make_client(**fields) -> Client:
    metadata = check(admin=True, **fields)
    secret_hash = (
        hash_secret("s3cret") if metadata["token_endpoint_auth_method"] != "none" else None
    )
    return Client(client_id="c1", client_secret_hash=secret_hash, client_metadata=metadata)


def test_client_redirect_uri_matched_exactly():
    client = make_client(redirect_uris=[WEB, "https://app.espoo.fi/cb2"])
    assert client.check_redirect_uri(WEB)
    for near in (
        WEB + "/",
        WEB + "/x",
        WEB + "?a=1",
        "https://app.espoo.fi/c",
        "https://APP.espoo.fi/cb",
        "https://app.espoo.fi:443/cb",
        "https://app.espoo.fi/%63b",
        None,
    ):
        assert not client.check_redirect_uri(near), near


def test_client_default_redirect_uri_only_when_one():
    assert make_client().get_default_redirect_uri() == WEB
    assert make_client(redirect_uris=[WEB, WEB + "2"]).get_default_redirect_uri() is None


def test_client_allowed_scope_is_intersection_in_requested_order():
    client = make_client(scope="openid profile email")
    assert client.get_allowed_scope("email edu:roles openid email") == "email openid"
    assert client.get_allowed_scope(None) == ""
    assert client.scopes == ["openid", "profile", "email"]


def test_client_secret_checked_against_hash():
    client = make_client()
    assert client.check_client_secret("s3cret")
    assert not client.check_client_secret("s3cret ")
    assert not make_client(token_endpoint_auth_method="none").check_client_secret("s3cret")


def test_client_endpoint_auth_method_is_the_registered_one():
    client = make_client(token_endpoint_auth_method="client_secret_post")
    for endpoint in ("token", "introspection", "revocation"):
        assert client.check_endpoint_auth_method("client_secret_post", endpoint)
        assert not client.check_endpoint_auth_method("client_secret_basic", endpoint)
        assert not client.check_endpoint_auth_method("none", endpoint)
    assert not client.check_endpoint_auth_method("client_secret_post", "device_authorization")


def test_client_response_and_grant_types():
    client = make_client(grant_types=["authorization_code", "refresh_token"])
    assert client.check_response_type("code") and not client.check_response_type("token")
    assert client.check_grant_type("refresh_token")
    assert not client.check_grant_type("client_credentials")
    assert not client.check_grant_type("password")


def test_client_properties():
    client = make_client(token_endpoint_auth_method="none", subject_type="public")
    assert client.get_client_id() == "c1"
    assert client.is_public and client.subject_type == "public"
    assert client.redirect_uris == [WEB]
    assert client.metadata_value("client_name") == "Oppimisalusta"
    assert client.metadata_value("access_token_lifetime", 300) == 300
    assert not make_client().is_public and make_client().subject_type == "pairwise"


def test_access_token_alg_and_introspection_extensions():
    base = {"client_name": "API", "grant_types": ["client_credentials"], "scope": "edu:school"}
    checked = validate_metadata(
        {**base, "access_token_signed_response_alg": "ES256", "introspection": True},
        admin=True,
        development=False,
    )
    assert checked["access_token_signed_response_alg"] == "ES256"
    assert checked["introspection"] is True
    with pytest.raises(InvalidClientMetadata):
        validate_metadata({**base, "introspection": True}, admin=False, development=False)
    with pytest.raises(InvalidClientMetadata):
        validate_metadata({**base, "access_token_signed_response_alg": "HS256"}, admin=True,
                          development=False)  # fmt: skip


def test_an_admin_tools_reach_is_one_city_or_every_city_as_an_auditor():
    base = {"grant_types": ["client_credentials"], "scope": "digione:admin"}
    assert check(admin=True, **base, admin_city="espoo")["admin_city"] == "espoo"
    assert check(admin=True, **base, admin_auditor=True)["admin_auditor"] is True
    refused = {
        "admin_city": [
            {},  # a digione:admin client needs a reach
            {"admin_city": "espoo", "admin_auditor": True},
            {"admin_city": "Espoo; drop"},
            {"admin_city": ["espoo"]},
        ],
        "admin_auditor": [{"admin_auditor": "yes"}],
    }
    for field_name, cases in refused.items():
        for extra in cases:
            with pytest.raises(InvalidClientMetadata, match=field_name):
                check(admin=True, **base, **extra)
    with pytest.raises(InvalidClientMetadata, match="only a client with digione:admin"):
        check(admin=True, redirect_uris=[WEB], admin_city="espoo")
    with pytest.raises(InvalidClientMetadata, match="administrator"):
        validate_metadata(
            {"client_name": "x", **base, "admin_city": "espoo"},
            admin=False, development=False, held={"scope": "digione:admin"},
        )  # fmt: skip
    # admin_auditor false is the same as leaving it out
    assert "admin_auditor" not in check(admin=True, **base, admin_city="oulu", admin_auditor=False)


# -- the registration policy (docs/connect-your-service.md): what only an administrator grants
ADMIN_ONLY = {
    "resources": {"grant_types": ["client_credentials"], "scope": "edu:school",
                  "resources": ["https://api.espoo.fi/"]},
    "subject_type": {"subject_type": "public"},
    "introspection": {"grant_types": ["client_credentials"], "scope": "edu:school",
                      "introspection": True},
    "scope": {"scope": "openid edu:learner_id"},
    "scope ": {"grant_types": ["client_credentials"], "scope": "digione:admin",
               "admin_city": "espoo"},  # the admin API's scope, with its reach
    "grant_types": {"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"],
                    "scope": "edu:school"},
}  # fmt: skip


@pytest.mark.parametrize("field", sorted(ADMIN_ONLY))
def test_a_service_cannot_grant_itself_what_an_administrator_grants(field):
    fields = ADMIN_ONLY[field]
    assert check(admin=True, **fields)  # an administrator can
    with pytest.raises(InvalidClientMetadata, match=f"^{field.strip()}: .*administrator"):
        check(admin=False, **fields)


@pytest.mark.parametrize("field", sorted(ADMIN_ONLY))
def test_what_an_administrator_granted_is_kept_through_the_services_updates(field):
    fields = ADMIN_ONLY[field]
    held = check(admin=True, **fields)
    data = {"client_name": "Oppimisalusta", "redirect_uris": [WEB], **fields}
    kept = validate_metadata(data, admin=False, development=False, held=held)
    assert kept == held


def test_an_update_cannot_add_an_audience_to_those_granted():
    base = {"client_name": "x", "grant_types": ["client_credentials"], "scope": "edu:school"}
    held = validate_metadata({**base, "resources": ["https://api.espoo.fi/"]}, admin=True,
                             development=False)  # fmt: skip
    more = {**base, "resources": ["https://api.espoo.fi/", "https://grades.vantaa.fi/"]}
    with pytest.raises(InvalidClientMetadata, match=r"^resources: "):
        validate_metadata(more, admin=False, development=False, held=held)
    fewer = validate_metadata({**base, "resources": []}, admin=False, development=False,
                              held=held)  # fmt: skip
    assert fewer["resources"] == []

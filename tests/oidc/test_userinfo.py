"""Userinfo (OIDF oidcc-userinfo-*, oidcc-scope-*), ID token contents (oidcc-idtoken-*),
pairwise subjects and the education claims."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from sqlalchemy import update

from core.db import db
from federation.embedded.models import EmbeddedAccount
from tests.oidc.helpers import register, tokens, verify


@pytest.fixture
def rp(seeded):
    return register(seeded)


def _userinfo(client, access_token, how="get-header"):
    if how == "get-header":
        return client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if how == "post-header":
        return client.post("/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return client.post("/oidc/userinfo", data={"access_token": access_token})


@pytest.mark.parametrize("how", ["get-header", "post-header", "post-body"])
def test_oidcc_userinfo_get_post_header_post_body(seeded, rp, how):
    body = tokens(seeded, rp)
    response = _userinfo(seeded.test_client(), body["access_token"], how)
    assert response.status_code == 200
    id_token = verify(seeded.test_client(), body["id_token"], audience=rp.client_id)
    assert response.json["sub"] == id_token["sub"]
    assert response.headers["Cache-Control"] == "no-store"


def test_userinfo_without_a_token_asks_for_one(seeded):
    response = seeded.test_client().get("/oidc/userinfo")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_userinfo_refuses_two_token_methods_at_once(seeded, rp):
    body = tokens(seeded, rp)
    response = seeded.test_client().post(
        "/oidc/userinfo",
        data={"access_token": body["access_token"]},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert response.status_code == 401


def test_oidcc_scope_profile(seeded, rp):
    info = _userinfo(
        seeded.test_client(), tokens(seeded, rp, scope="openid profile")["access_token"]
    )
    assert info.json["given_name"] == "Aino" and info.json["family_name"] == "Virtanen"
    assert info.json["name"] == "Aino Virtanen" and info.json["birthdate"]
    assert "email" not in info.json and "edu_schools" not in info.json


def test_oidcc_scope_email(seeded, rp):
    body = tokens(seeded, rp, user="teacher1", scope="openid email")
    info = _userinfo(seeded.test_client(), body["access_token"]).json
    assert info["email"] == "leena.makinen@edu.espoo.fi" and info["email_verified"] is True
    assert "given_name" not in info


def test_oidcc_scope_all_with_education_claims(seeded, rp):
    scope = "openid profile email edu:school edu:roles edu:municipality"
    info = _userinfo(seeded.test_client(), tokens(seeded, rp, scope=scope)["access_token"]).json
    assert info["edu_schools"] == [
        {
            "school_code": "03215",
            "school_name": "Tapiolan koulu",
            "municipality_code": "049",
            "group": "3A",
            "class_level": 3,
        }
    ]
    assert info["edu_roles"] == [
        {"role": "learner", "municipality_code": "049", "school_code": "03215", "group": "3A"}
    ]
    assert info["edu_municipalities"] == [{"municipality_code": "049", "name": "Espoo"}]
    assert "learner_id" not in info


@pytest.mark.parametrize("scope", ["openid address", "openid phone"])
def test_oidcc_scope_address_and_phone_are_not_offered(seeded, rp, scope):
    """DigiOne holds no addresses or phone numbers: the scopes are refused as unknown."""
    from tests.oidc.helpers import auth_params, pkce, redirect_params, signed_in_browser

    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    params = auth_params(rp, challenge, scope=scope)
    result = redirect_params(browser.get("/oidc/authorize", query_string=params))
    assert result["error"] == "invalid_scope"


def test_learner_id_only_for_clients_registered_for_it(seeded):
    allowed = register(seeded, scope="openid edu:learner_id")
    body = tokens(seeded, allowed, scope="openid edu:learner_id")
    info = _userinfo(seeded.test_client(), body["access_token"]).json
    assert info["learner_id"] == "1.2.246.562.24.10000000101"


def test_protected_persons_contact_claims_are_never_released(seeded, rp):
    with seeded.app_context():
        db.session.execute(
            update(EmbeddedAccount)
            .where(EmbeddedAccount.city == "espoo", EmbeddedAccount.username == "teacher1")
            .values(protected=True)
        )
        db.session.commit()
    body = tokens(seeded, rp, user="teacher1", scope="openid profile email")
    info = _userinfo(seeded.test_client(), body["access_token"]).json
    assert "email" not in info and info["given_name"] == "Leena"


def test_oidcc_idtoken_signature_and_claims(seeded, rp):
    body = tokens(seeded, rp, nonce="n-0S6_WzA2Mj")
    client = seeded.test_client()
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = verify(client, body["id_token"], audience=rp.client_id)
    assert claims["iss"] == "http://127.0.0.1:5000"
    assert claims["aud"] == claims["azp"] == rp.client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["acr"] == "urn:digione:loa:password" and claims["amr"] == ["pwd"]
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    assert claims["sid"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_es256_id_tokens_per_client(seeded):
    rp = register(seeded, id_token_signed_response_alg="ES256")
    body = tokens(seeded, rp)
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"
    assert verify(seeded.test_client(), body["id_token"], audience=rp.client_id)


def test_oidcc_idtoken_unsigned_is_refused_at_registration(seeded):
    from idp.oidc.client_metadata import InvalidClientMetadata

    with pytest.raises(InvalidClientMetadata):
        register(seeded, id_token_signed_response_alg="none")


def test_access_token_is_an_rfc9068_jwt(seeded, rp):
    body = tokens(seeded, rp)
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    claims = verify(seeded.test_client(), body["access_token"], audience="http://127.0.0.1:5000")
    assert claims["client_id"] == rp.client_id and claims["scope"] == "openid profile"
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]


def test_access_token_lifetime_per_client(seeded):
    rp = register(seeded, access_token_lifetime=120)
    body = tokens(seeded, rp)
    assert body["expires_in"] == 120


def test_pairwise_subjects_differ_between_sectors_and_stay_stable(seeded):
    client = seeded.test_client()
    one = register(seeded, redirect_uris=["https://reading.example/cb"])
    two = register(seeded, redirect_uris=["https://maths.example/cb"])
    same_sector = register(seeded, redirect_uris=["https://reading.example/other"])

    def sub(rp):
        return verify(client, tokens(seeded, rp)["id_token"], audience=rp.client_id)["sub"]

    first = sub(one)
    assert first != sub(two)
    assert first == sub(one) == sub(same_sector)


def test_public_subject_only_when_registered(seeded):
    public = register(seeded, subject_type="public")
    pairwise = register(seeded)
    client = seeded.test_client()
    sub_public = verify(client, tokens(seeded, public)["id_token"], audience=public.client_id)
    sub_pair = verify(client, tokens(seeded, pairwise)["id_token"], audience=pairwise.client_id)
    assert sub_public["sub"] != sub_pair["sub"]
    assert len(sub_public["sub"]) == 36  # the person's id


def test_client_credentials_token_cannot_read_userinfo(seeded):
    service = register(
        seeded, grant_types=["client_credentials"], redirect_uris=[], scope="edu:school"
    )
    client = seeded.test_client()
    access = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=service.basic()
    ).json["access_token"]
    assert _userinfo(client, access).status_code == 403


def test_claims_parameter_puts_requested_claims_in_the_id_token(seeded, rp):
    import json

    claims = json.dumps({"id_token": {"given_name": {"essential": True}, "email": None}})
    body = tokens(seeded, rp, scope="openid profile", claims=claims)
    id_token = verify(seeded.test_client(), body["id_token"], audience=rp.client_id)
    assert id_token["given_name"] == "Aino"
    assert "email" not in id_token  # not covered by the granted scopes


def test_a_removed_clients_access_tokens_stop_working(seeded, rp):
    from idp.oidc import clients

    body = tokens(seeded, rp)
    with seeded.app_context():
        clients.remove(db.session, clients.get(db.session, rp.client_id))
        db.session.commit()
    assert _userinfo(seeded.test_client(), body["access_token"]).status_code == 401

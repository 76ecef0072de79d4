"""keys.verify.read_jwt, the one verifier of the broker's own JWTs (RFC 8725; RFC 9068 section 4;
OIDC Core section 3.1.2.1 for hints), against a KeyStore on the test database."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.db import utcnow
from keys.store import KeyStore
from keys.verify import REQUIRED, JwtError, read_jwt
from tests.oidc.forge import compact, hs256, public_key_forms, sign_as, sign_ec, sign_rsa

ISSUER = "https://digione.example.fi"  # the store fixture's (tests/keys/conftest.py)
AT = frozenset({"at+jwt"})


def claims(**changes) -> dict:
    now = int(time.time())
    values = {"iss": ISSUER, "sub": "s", "aud": "rp", "iat": now, "exp": now + 300, "jti": "j"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def header(store: KeyStore, use: str = "rs256", **members) -> dict:
    key = store.active(use)
    values = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt", **members}
    return {k: v for k, v in values.items() if v is not None}


def signed(store: KeyStore, use: str = "rs256", body: dict | None = None, **members) -> str:
    """Signed by our active ``use`` key, over exactly the header given."""
    return sign_as(header(store, use, **members), body or claims(), store.active(use).private_key)


def read(token: str, store: KeyStore, **options) -> dict:
    return read_jwt(token, store, **{"issuer": ISSUER, "typs": AT, **options})


def refused(token, store: KeyStore, match: str | None = None, **options) -> JwtError:
    with pytest.raises(JwtError, match=match) as caught:
        read(token, store, **options)
    if isinstance(token, str) and len(token) > 8:
        assert token not in str(caught.value)
    return caught.value


@pytest.fixture
def keys(store: KeyStore) -> KeyStore:
    store.ensure()
    return store


@pytest.mark.parametrize("use", ["rs256", "es256"])
def test_our_tokens_are_read(keys, use):
    token = keys.sign_jwt(claims(), use=use, headers={"typ": "at+jwt"})
    assert read(token, keys, audience="rp")["sub"] == "s"
    assert read(signed(keys, use), keys)["jti"] == "j"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_spelling_is_refused(keys, alg):
    refused(compact(header(keys, alg=alg), claims()), keys, "alg")
    _head, payload, signature = signed(keys).split(".")
    head = compact(header(keys, alg=alg), {}).split(".")[0]
    refused(f"{head}.{payload}.{signature}", keys, "alg")


@pytest.mark.parametrize("use", ["rs256", "es256"])
def test_hmac_keyed_with_our_public_key_is_refused(keys, use):
    """Algorithm confusion (RFC 8725 section 2.1): HS256 with the public key as the secret."""
    jwk = keys.active(use).public_jwk
    for secret in public_key_forms(jwk):
        refused(hs256(header(keys, use), claims(), secret), keys, "alg")


def test_alg_must_be_the_keys(keys):
    """A header saying ES256 with the RSA key's kid (or RS256 with the EC key's) is refused,
    whichever key signed it."""
    rsa_key, ec_key = keys.active("rs256"), keys.active("es256")
    assert isinstance(rsa_key.private_key, rsa.RSAPrivateKey)
    assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
    as_es = header(keys, "rs256", alg="ES256")
    refused(sign_rsa(as_es, claims(), rsa_key.private_key), keys, "not the key's")
    refused(sign_ec(as_es, claims(), ec_key.private_key), keys, "not the key's")
    as_rs = header(keys, "es256", alg="RS256")
    refused(sign_ec(as_rs, claims(), ec_key.private_key), keys, "not the key's")
    refused(sign_rsa(as_rs, claims(), rsa_key.private_key), keys, "not the key's")


@pytest.mark.parametrize(
    "members",
    [
        {"jwk": {"kty": "oct", "k": "AAAA"}},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIB"]},
        {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
        {"crit": ["b64"], "b64": True},
    ],
    ids=["jwk", "jku", "x5u", "x5c", "crit", "crit_b64"],
)
def test_keys_from_the_token_and_critical_extensions_are_refused(keys, members):
    """Signed by our own key, so only the header member is wrong (RFC 8725 section 3.10)."""
    refused(signed(keys, **members), keys, "header parameter|critical extension")


@pytest.mark.parametrize("kid", [["x"], 5, None, {"kid": "x"}, "", "../../etc/passwd", "k" * 43])
def test_kid_must_name_one_of_our_keys(keys, kid):
    refused(signed(keys, kid=kid), keys, "(?i)kid|key id")


@pytest.mark.parametrize("use", ["saml", "audit"])
def test_keys_of_other_uses_are_not_for_jwts(keys, use):
    """The SAML key (RS256, never in the JWKS) and the audit key (EdDSA) are not looked up."""
    kid = keys.active(use).kid
    token = sign_as(header(keys, "rs256", kid=kid), claims(), keys.active("rs256").private_key)
    refused(token, keys, "kid")
    if use == "saml":
        refused(signed(keys, "saml"), keys, "kid")
    else:
        refused(keys.sign_jwt(claims(), use="audit", headers={"typ": "at+jwt"}), keys, "alg")


@pytest.mark.parametrize("typ", ["JWT", "logout+jwt", "at+jwt+x", "jwt", 1, ["at+jwt"], None])
def test_wrong_typ_is_refused(keys, typ):
    refused(signed(keys, typ=typ), keys, "typ")


def test_typ_is_compared_as_a_media_type(keys):
    """RFC 8725 section 3.11: case-insensitive, the application/ prefix optional."""
    for typ in ("AT+JWT", "application/at+jwt", "Application/At+Jwt"):
        assert read(signed(keys, typ=typ), keys)["sub"] == "s"
    assert read(signed(keys, typ="JWT"), keys, typs=frozenset({"JWT"}))["sub"] == "s"
    assert read(signed(keys, typ="application/jwt"), keys, typs=frozenset({"JWT"}))
    assert read(signed(keys, typ=None), keys, typs=None)["sub"] == "s"  # not checked
    refused(signed(keys, typ="at+jwt"), keys, "typ", typs=frozenset({"JWT"}))


def test_wrong_iss_is_refused(keys):
    refused(signed(keys, body=claims(iss="https://attacker.example")), keys, "issuer")
    refused(signed(keys, body=claims(iss=None)), keys, "iss")


def test_audience_is_checked_when_given(keys):
    token = signed(keys, body=claims(aud="other"))
    refused(token, keys, "udience", audience="rp")
    assert read(token, keys)["aud"] == "other"  # not checked without an audience
    assert read(signed(keys, body=claims(aud=["x", "rp"])), keys, audience="rp")
    refused(signed(keys, body=claims(aud=["other"])), keys, "udience", audience="rp")


def test_expired_is_refused_unless_asked_not_to(keys):
    now = int(time.time())
    token = signed(keys, "es256", body=claims(iat=now - 7200, exp=now - 3600))
    refused(token, keys, "expired")
    assert read(token, keys, verify_exp=False)["sub"] == "s"
    refused(signed(keys, body=claims(nbf=now + 3600)), keys, "not yet valid")


@pytest.mark.parametrize("claim", REQUIRED)
def test_missing_required_claim_is_refused(keys, claim):
    refused(signed(keys, body=claims(**{claim: None})), keys, claim, verify_exp=False)


def test_callers_name_more_required_claims(keys):
    refused(signed(keys, body=claims(jti=None)), keys, "jti", require=(*REQUIRED, "jti"))
    body = claims(exp=None, iat=None)
    assert read(signed(keys, body=body), keys, require=("sub",))["sub"] == "s"


def test_keys_retired_long_ago_only_when_asked(keys):
    token = signed(keys)
    keys.rotate("rs256", now=utcnow() - timedelta(days=30))  # beyond the 14 days of grace
    refused(token, keys, "kid")
    assert read(token, keys, published_only=False)["sub"] == "s"


GARBAGE = ["", "x", "a.b.c", "e30.e30.", "W10.e30.", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.AA", "é.é.é"]


@pytest.mark.parametrize("token", [*GARBAGE, None])
def test_garbage_is_refused(keys, token):
    refused(token, keys)


def test_broken_signature_is_refused(keys):
    head, payload, _signature = signed(keys).split(".")
    refused(f"{head}.{payload}.{signed(keys, body=claims(sub='x')).split('.')[2]}", keys)
    refused(f"{head}.{payload}.", keys)

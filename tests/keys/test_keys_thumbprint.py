"""RFC 7638 JWK thumbprints (the kid of every key)."""

from __future__ import annotations

import pytest

from keys.thumbprint import jwk_thumbprint

# RFC 7638 section 3.1
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
    "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_rfc7638_example():
    assert jwk_thumbprint(RFC7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_only_required_members_count_in_any_order():
    reordered = {"e": "AQAB", "n": RFC7638_KEY["n"], "kty": "RSA", "use": "sig", "kid": "other"}
    assert jwk_thumbprint(reordered) == jwk_thumbprint(RFC7638_KEY)


def test_rfc8037_ed25519_example():
    # RFC 8037 appendix A.3
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize(
    "jwk", [{"kty": "XYZ"}, {"n": "x", "e": "AQAB"}, {"kty": "EC", "crv": "P-256", "x": "a"}]
)
def test_unusable_keys_are_refused(jwk: dict):
    with pytest.raises(ValueError):
        jwk_thumbprint(jwk)

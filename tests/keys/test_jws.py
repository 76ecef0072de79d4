"""keys.jws: the compact serialization (RFC 7515 section 7.1), checked with PyJWT and with
cryptography directly."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from keys.active import ActiveKey
from keys.jws import sign

CLAIMS = {"iss": "https://broker.example", "sub": "s", "exp": 2_000_000_000, "name": "Äijä"}


def _key(alg: str) -> ActiveKey:
    private = {
        "RS256": lambda: rsa.generate_private_key(65537, 2048),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[alg]()
    return ActiveKey("k" * 43, alg.lower(), alg, private, {})


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_tokens_verify_and_carry_the_keys_alg_and_kid(alg):
    key = _key(alg)
    token = sign(key, CLAIMS, {"typ": "at+jwt", "alg": "none", "kid": "other"})
    head, payload, signature = token.split(".")
    assert json.loads(_b64(head)) == {"alg": alg, "kid": key.kid, "typ": "at+jwt"}
    assert b" " not in _b64(head) + _b64(payload)  # compact JSON
    public = key.private_key.public_key()
    assert jwt.decode(token, public, algorithms=[alg], options={"verify_exp": False}) == CLAIMS
    data, raw = f"{head}.{payload}".encode(), _b64(signature)
    if alg == "RS256":
        public.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        assert len(raw) == 64  # R || S (RFC 7518 section 3.4), not DER
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(raw, data)


def test_another_algorithm_is_refused():
    key = ActiveKey("k" * 43, "x", "HS256", object(), {})
    with pytest.raises(ValueError, match="HS256"):
        sign(key, CLAIMS)

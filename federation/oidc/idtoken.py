"""Validation of an ID token from a city's provider (OpenID Connect Core 3.1.3.7), one explicit
check at a time; the JWT list of shared/design/CHECKLISTS.md applies.

- The signature is checked with a key from the provider's JWKS, found by ``kid``; never with a
  key the token brings or points to (``jwk``, ``jku``, ``x5u``, ``x5c`` are not read).
- Only RS256, PS256 and ES256: no ``none``, no HMAC (a public key used as an HMAC secret).
- Then iss, aud, azp, exp, iat, nbf (60 seconds of leeway), nonce, sub and at_hash.

Every refusal raises ``UpstreamRejected`` with a reason for the log, never a claim's value.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from core.hashing import b64url_decode, sha256_b64url
from federation.connector import UpstreamRejected

ALGORITHMS = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
LEEWAY = 60
MIN_RSA_BITS = 2048
# The provider's published keys, given the kid the token names (see discovery.ProviderCache).
KeysFor = Callable[[str | None], list[dict[str, Any]]]


def _header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 64 * 1024:
        raise UpstreamRejected("the ID token is not a signed JWT")
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except ValueError:
        raise UpstreamRejected("the ID token's header is not JSON") from None
    if not isinstance(header, dict):
        raise UpstreamRejected("the ID token's header is not a JSON object")
    return header


def _public_key(jwk: dict[str, Any], alg: str):
    """The key a JWK describes, when it may verify ``alg`` signatures; else None."""
    if jwk.get("kty") != ALGORITHMS[alg] or jwk.get("use", "sig") != "sig":
        return None
    if jwk.get("alg", alg) != alg or "verify" not in jwk.get("key_ops", ["verify"]):
        return None
    try:
        if alg == "ES256":
            if jwk.get("crv") != "P-256":
                return None
            key = ECAlgorithm.from_jwk(jwk)
        else:
            key = RSAAlgorithm.from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    key = key.public_key() if hasattr(key, "private_bytes") else key
    if alg != "ES256" and key.key_size < MIN_RSA_BITS:
        return None
    return key


def _verified_payload(token: str, alg: str, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    jws = jwt.PyJWS(algorithms=[alg])
    for jwk in candidates:
        key = _public_key(jwk, alg)
        if key is None:
            continue
        try:
            payload = jws.decode_complete(token, key=key, algorithms=[alg])["payload"]
        except (jwt.PyJWTError, ValueError):
            continue
        try:
            claims = json.loads(payload)
        except ValueError:
            raise UpstreamRejected("the ID token's payload is not JSON") from None
        if not isinstance(claims, dict):
            raise UpstreamRejected("the ID token's payload is not a JSON object")
        return claims
    raise UpstreamRejected("the ID token's signature does not verify with the provider's keys")


def _number(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UpstreamRejected(f"the ID token's {name} is missing or not a number")
    return value


def same(value: Any, expected: str) -> bool:
    """``value`` is the string ``expected`` (in constant time; any JSON value may come in)."""
    if not isinstance(value, str):
        return False
    return hmac.compare_digest(
        value.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def half_hash(value: str) -> str:
    """at_hash for the SHA-256 algorithms (Core 3.1.3.6)."""
    return sha256_b64url(value, 16)


def validate_id_token(
    token: str,
    *,
    keys_for: KeysFor,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of ``token`` once every check passes; raises UpstreamRejected."""
    header = _header(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise UpstreamRejected(f"the ID token's algorithm {str(alg)[:16]!r} is not allowed")
    if "crit" in header or "b64" in header:
        raise UpstreamRejected("the ID token has critical header extensions")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() != "jwt"):
        raise UpstreamRejected("the ID token's typ is not JWT")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= 256):
        raise UpstreamRejected("the ID token's kid is not a short string")
    keys = keys_for(kid)
    candidates = [key for key in keys if kid is None or key.get("kid") == kid]
    if not candidates:
        raise UpstreamRejected("the ID token names a key the provider does not publish")
    claims = _verified_payload(token, alg, candidates)

    if claims.get("iss") != issuer:
        raise UpstreamRejected("the ID token's iss is not the provider")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise UpstreamRejected("the ID token's aud is not this broker")
    if any(other != client_id for other in audiences):  # Core 3.1.3.7 (3): none untrusted
        raise UpstreamRejected("the ID token has audiences this broker does not trust")
    if "azp" in claims and claims["azp"] != client_id:
        raise UpstreamRejected("the ID token's azp is not this broker")

    now = time.time() if now is None else now
    if now - LEEWAY >= _number(claims, "exp", required=True):
        raise UpstreamRejected("the ID token has expired")
    if _number(claims, "iat", required=True) > now + LEEWAY:
        raise UpstreamRejected("the ID token is issued in the future")
    not_before = _number(claims, "nbf", required=False)
    if not_before is not None and not_before > now + LEEWAY:
        raise UpstreamRejected("the ID token is not valid yet (nbf)")

    if not same(claims.get("nonce"), nonce):
        raise UpstreamRejected("the ID token's nonce is not the one sent")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise UpstreamRejected("the ID token has no usable sub")
    at_hash = claims.get("at_hash")
    if (
        at_hash is not None
        and access_token is not None
        and not same(at_hash, half_hash(access_token))
    ):
        raise UpstreamRejected("the ID token's at_hash does not match the access token")
    return claims

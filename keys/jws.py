"""JWS Compact Serialization (RFC 7515 section 7.1) of a JWT (RFC 7519 section 7.1) signed
with an ActiveKey: RS256 (RFC 7518 section 3.3), ES256 (section 3.4: R and S, 32 bytes each)
and EdDSA (RFC 8037 section 3.1). The signatures are cryptography's; what is done here is the
encoding, with the header segment built once per key and header (PyJWT rebuilt it, and checked
its arguments, at every call: a tenth of a client_credentials grant).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from core.hashing import b64url
from keys.active import ActiveKey

_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(_SHA256)


@lru_cache(maxsize=64)
def _header_segment(alg: str, kid: str, extra: tuple[tuple[str, Any], ...]) -> str:
    header = {**dict(extra), "alg": alg, "kid": kid}  # alg and kid come from the key
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _signature(key: ActiveKey, data: bytes) -> bytes:
    if key.alg == "RS256":
        return key.private_key.sign(data, _PKCS1, _SHA256)
    if key.alg == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(data, _ECDSA))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if key.alg == "EdDSA":
        return key.private_key.sign(data)
    raise ValueError(f"no JWS signing with {key.alg}")


def sign(key: ActiveKey, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
    """``claims`` as a JWT signed by ``key``; ``headers`` adds header parameters (such as
    ``typ``) but cannot change ``alg`` or ``kid`` (RFC 7515 sections 4.1.1, 4.1.4). Header
    values must be hashable (strings, numbers)."""
    extra = tuple(sorted((headers or {}).items()))
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    data = f"{_header_segment(key.alg, key.kid, extra)}.{payload}"
    return f"{data}.{b64url(_signature(key, data.encode('ascii')))}"

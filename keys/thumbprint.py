"""JWK thumbprints (RFC 7638), used as every key's ``kid``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.hashing import sha256_b64url

# RFC 7638 section 3.2 (RSA, EC), RFC 8037 section 2 (OKP), RFC 7638 section 3.2 (oct).
REQUIRED_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The SHA-256 JWK thumbprint, base64url: the hash of the key's required members only, in
    lexicographic order, without whitespace (RFC 7638 section 3.1 and 3.3)."""
    kty = jwk.get("kty")
    members = REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError(f"no thumbprint for key type {kty!r}")
    missing = [name for name in members if not isinstance(jwk.get(name), str)]
    if missing:
        raise ValueError(f"{kty} key lacks required members {missing}")
    canonical = json.dumps(
        {name: jwk[name] for name in members},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    return sha256_b64url(canonical)

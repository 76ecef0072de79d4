"""Digests and secret hashing, in one place: SHA-256 in hex and in base64url, and the hash of
a high-entropy secret (client secrets, codes, tokens) with its constant-time check."""

from __future__ import annotations

import base64
import hashlib
import hmac


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding (RFC 7515 section 2), decoded."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sha256_hex(value: str | bytes) -> str:
    """SHA-256 in hex of ``value`` (text as UTF-8)."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def sha256_b64url(value: str | bytes, length: int | None = None) -> str:
    """SHA-256 in base64url of ``value`` (text as UTF-8), or of its first ``length`` bytes:
    PKCE S256 (RFC 7636 section 4.2), at_hash and c_hash (OIDC Core 3.1.3.6)."""
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return b64url(hashlib.sha256(data).digest()[:length])


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (RFC 6819 section 5.1.4.1.3): no salt or
    stretching is needed for 256 random bits, and a lookup by hash stays possible."""
    return sha256_hex(secret)


def verify_secret(stored_hash: str | None, secret: str | None) -> bool:
    """Whether ``secret`` hashes to ``stored_hash``, compared in constant time."""
    if not isinstance(secret, str) or not secret:
        return False
    digest = hash_secret(secret)  # also when nothing is stored: the same work either way
    return bool(stored_hash) and hmac.compare_digest(stored_hash, digest)

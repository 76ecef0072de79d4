"""The key that signs for a use right now, as handed out by KeyStore.active()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


@dataclass(frozen=True, repr=False)
class ActiveKey:
    """kid (RFC 7638 thumbprint), JWS alg (RFC 7518 section 3.1, RFC 8037 section 3.1), the
    unsealed private key object, the public JWK and, for SAML, the certificate PEM."""

    kid: str
    use: str
    alg: str
    private_key: PrivateKeyTypes
    public_jwk: dict[str, Any]
    certificate_pem: str | None = None

    def private_key_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM, for libraries that take no key object
        (python3-saml). Keep it in memory only; never log or store it."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def __repr__(self) -> str:  # never print the private half
        return f"ActiveKey(kid={self.kid!r}, use={self.use!r}, alg={self.alg!r})"

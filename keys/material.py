"""Fresh key material per use, and its public half as a JWK (RFC 7517, RFC 7518 section 6,
RFC 8037 section 2 for Ed25519).

=======  ===========================  =========
use      key                          JWS alg
=======  ===========================  =========
rs256    RSA 2048                     RS256
es256    ECDSA P-256                  ES256
audit    Ed25519                      EdDSA
saml     RSA 2048 + X.509 certificate RS256 (SAML: rsa-sha256)
=======  ===========================  =========
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID

from core.hashing import b64url
from keys.thumbprint import jwk_thumbprint

ALGS: dict[str, str] = {"rs256": "RS256", "es256": "ES256", "audit": "EdDSA", "saml": "RS256"}
ALL_USES: tuple[str, ...] = tuple(ALGS)
CERT_VALIDITY = timedelta(days=3 * 365)
# Members that only a private JWK has (RFC 7518 sections 6.2.2, 6.3.2, 6.4; RFC 8037 section 2).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

SIGNING_ONLY = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    """A new key: private half as PKCS#8 DER (to be sealed at once), public half as a JWK."""

    kid: str
    use: str
    alg: str
    private_der: bytes
    public_jwk: dict[str, Any]
    certificate_pem: str | None = None

    def __repr__(self) -> str:  # never print the private half
        return f"KeyMaterial(kid={self.kid!r}, use={self.use!r}, alg={self.alg!r})"


def _int_octets(value: int, length: int | None = None) -> str:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def public_jwk(public_key: PublicKeyTypes, alg: str) -> dict[str, Any]:
    """The public JWK of ``public_key`` with ``kid`` set to its RFC 7638 thumbprint."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk: dict[str, Any] = {
            "kty": "RSA",
            "n": _int_octets(numbers.n),
            "e": _int_octets(numbers.e),
        }
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are used")
        numbers = public_key.public_numbers()  # x, y full length (RFC 7518 section 6.2.1.2)
        jwk = {"kty": "EC", "crv": "P-256", "x": _int_octets(numbers.x, 32),
               "y": _int_octets(numbers.y, 32)}  # fmt: skip
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    else:
        raise ValueError(f"unsupported key type {type(public_key).__name__}")
    return {**jwk, "use": "sig", "alg": alg, "kid": jwk_thumbprint(jwk)}


def without_private_members(jwk: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``jwk`` with every private member removed (defence in depth for the JWKS)."""
    return {name: value for name, value in jwk.items() if name not in PRIVATE_MEMBERS}


def certificate_host(issuer: str) -> str:
    """The subject common name for SAML certificates: the issuer's host name."""
    return urlsplit(issuer).hostname or "digione"


def self_signed_certificate(
    private_key: rsa.RSAPrivateKey, common_name: str, now: datetime | None = None
) -> x509.Certificate:
    """A self-signed signing certificate (RFC 5280) for SAML metadata, valid three years."""
    now = now or datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public_key = private_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(SIGNING_ONLY, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )


def _new_private_key(use: str) -> PrivateKeyTypes:
    if use in ("rs256", "saml"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if use == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if use == "audit":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key use {use!r}; expected one of {', '.join(ALL_USES)}")


def generate(use: str, issuer: str = "") -> KeyMaterial:
    """New key material for ``use``; for ``saml`` also a certificate with CN = the issuer host."""
    private_key = _new_private_key(use)
    alg = ALGS[use]
    jwk = public_jwk(private_key.public_key(), alg)
    certificate_pem = None
    if use == "saml":
        assert isinstance(private_key, rsa.RSAPrivateKey)
        cert = self_signed_certificate(private_key, certificate_host(issuer))
        der = cert.public_bytes(serialization.Encoding.DER)
        certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        jwk["x5c"] = [base64.b64encode(der).decode("ascii")]  # RFC 7517 section 4.7
    der = private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyMaterial(jwk["kid"], use, alg, der, jwk, certificate_pem)


def load_private_key(der: bytes) -> PrivateKeyTypes:
    """Parse a PKCS#8 DER private key (as unsealed from the database)."""
    return serialization.load_der_private_key(der, password=None)

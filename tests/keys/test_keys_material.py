"""Key material per use: algorithms, public JWKs (RFC 7518 section 6, RFC 8037) and the SAML
certificate."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from keys.material import PRIVATE_MEMBERS, generate, load_private_key, public_jwk
from keys.thumbprint import jwk_thumbprint


def _b64url_length(value: str) -> int:
    return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


@pytest.mark.parametrize(
    ("use", "alg", "kty", "key_type"),
    [
        ("rs256", "RS256", "RSA", rsa.RSAPrivateKey),
        ("es256", "ES256", "EC", ec.EllipticCurvePrivateKey),
        ("audit", "EdDSA", "OKP", ed25519.Ed25519PrivateKey),
        ("saml", "RS256", "RSA", rsa.RSAPrivateKey),
    ],
)
def test_each_use_gets_its_algorithm(use: str, alg: str, kty: str, key_type: type):
    material = generate(use, "https://digione.example.fi")
    jwk = material.public_jwk
    assert (material.alg, jwk["alg"], jwk["kty"], jwk["use"]) == (alg, alg, kty, "sig")
    assert material.kid == jwk["kid"] == jwk_thumbprint(jwk)
    assert not PRIVATE_MEMBERS & set(jwk)
    private = load_private_key(material.private_der)
    assert isinstance(private, key_type)
    assert public_jwk(private.public_key(), alg)["kid"] == material.kid
    assert "private" not in repr(material).lower() and material.kid in repr(material)


def test_key_sizes_and_curves():
    rsa_jwk = generate("rs256").public_jwk
    assert _b64url_length(rsa_jwk["n"]) == 256 and rsa_jwk["e"] == "AQAB"
    ec_jwk = generate("es256").public_jwk
    assert ec_jwk["crv"] == "P-256"
    assert _b64url_length(ec_jwk["x"]) == _b64url_length(ec_jwk["y"]) == 32
    ed_jwk = generate("audit").public_jwk
    assert ed_jwk["crv"] == "Ed25519" and _b64url_length(ed_jwk["x"]) == 32


def test_saml_certificate_is_self_signed_and_matches_the_key():
    material = generate("saml", "https://digione.example.fi/broker")
    cert = x509.load_pem_x509_certificate(material.certificate_pem.encode())
    private = load_private_key(material.private_der)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "digione.example.fi"
    )
    cert.verify_directly_issued_by(cert)  # the signature checks out under its own key
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.public_key().public_numbers() == private.public_key().public_numbers()
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc <= now
    assert cert.not_valid_after_utc > now + timedelta(days=2 * 365)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    der = cert.public_bytes(serialization.Encoding.DER)
    assert material.public_jwk["x5c"] == [base64.b64encode(der).decode()]


def test_unknown_use_is_refused():
    with pytest.raises(ValueError, match="unknown key use"):
        generate("hs256")

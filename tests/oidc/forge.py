"""Building hostile JWTs for the attack tests (CHECKLISTS.md, JWT list): compact JWS values put
together by hand, tokens re-signed with the broker's own keys, and a relying party's own key pair
for private_key_jwt client assertions (RFC 7523)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from flask import Flask

ISSUER = "http://127.0.0.1:5000"  # config/defaults.toml
TOKEN_ENDPOINT = f"{ISSUER}/oidc/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def parts(token: str) -> tuple[dict, dict]:
    """The header and claims of a compact JWS, unverified."""
    header, payload, _signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload))


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    """header.payload.signature with the given (possibly bogus) signature bytes."""
    return f"{b64json(header)}.{b64json(claims)}.{b64url(signature)}"


def signing_input(header: dict, claims: dict) -> bytes:
    return f"{b64json(header)}.{b64json(claims)}".encode()


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    """An HMAC-SHA256 JWS keyed with ``secret`` (e.g. a public key: algorithm confusion)."""
    header = {**header, "alg": "HS256"}
    mac = hmac.new(secret, signing_input(header, claims), hashlib.sha256).digest()
    return compact(header, claims, mac)


def sign_rsa(header: dict, claims: dict, private_key, alg: str = "RS256") -> str:
    """A JWS over exactly ``header`` (no header member added or removed), signed with an RSA key."""
    pad = (
        padding.PKCS1v15()
        if alg == "RS256"
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    )
    signature = private_key.sign(signing_input(header, claims), pad, hashes.SHA256())
    return compact(header, claims, signature)


def sign_ec(header: dict, claims: dict, private_key) -> str:
    """An ES256 JWS (raw r||s signature, RFC 7518 section 3.4) over exactly ``header``."""
    der = private_key.sign(signing_input(header, claims), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return compact(header, claims, r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def sign_as(header: dict, claims: dict, private_key) -> str:
    """Sign with an RSA (RS256) or EC (ES256) key, the header exactly as given."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return sign_ec(header, claims, private_key)
    return sign_rsa(header, claims, private_key)


def now() -> int:
    return int(time.time())


# -- the broker's own keys -----------------------------------------------------------------------


def broker_sign(app: Flask, claims: dict, use: str = "rs256", headers: dict | None = None) -> str:
    """A JWT signed by the broker's active ``use`` key (KeyStore.sign_jwt sets alg and kid)."""
    from keys.app import key_store

    with app.app_context():
        return key_store().sign_jwt(claims, use=use, headers=headers)


def broker_private_key(app: Flask, use: str):
    """(kid, private key) of the broker's active key of ``use`` (rs256, es256, saml, audit)."""
    from keys.app import key_store

    with app.app_context():
        key = key_store().active(use)
        return key.kid, key.private_key


def resign(
    app: Flask,
    token: str,
    *,
    use: str = "rs256",
    headers: dict | None = None,
    drop: tuple[str, ...] = (),
    **claims,
) -> str:
    """``token``'s header and claims, changed as given, signed again by the broker's real key."""
    header, body = parts(token)
    body = {k: v for k, v in {**body, **claims}.items() if k not in drop}
    extra = {k: v for k, v in header.items() if k not in ("alg", "kid")}
    return broker_sign(app, body, use=use, headers={**extra, **(headers or {})})


def broker_jwk(client, alg: str = "RS256") -> dict:
    """The broker's first published public JWK of ``alg`` (from /.well-known/jwks.json)."""
    return next(k for k in client.get("/.well-known/jwks.json").json["keys"] if k["alg"] == alg)


def public_key_forms(jwk: dict) -> list[bytes]:
    """The ways an algorithm-confusion attacker would feed a public key to HMAC."""
    key = jwt.PyJWK(jwk).key
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = [pem, pem.strip(), der, json.dumps(jwk).encode()]
    if jwk["kty"] == "RSA":
        forms.append(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    return forms


# -- an attacker's (or a relying party's) own key --------------------------------------------------


@dataclass
class KeyPair:
    """A freshly generated key with its public JWK (kid = random)."""

    private_key: object
    alg: str
    kid: str

    @classmethod
    def rsa(cls, alg: str = "RS256") -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key, alg, secrets.token_urlsafe(8))

    @classmethod
    def ec(cls) -> KeyPair:
        return cls(ec.generate_private_key(ec.SECP256R1()), "ES256", secrets.token_urlsafe(8))

    def public_jwk(self) -> dict:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict, headers: dict | None = None, alg: str | None = None) -> str:
        header = {"kid": self.kid, **(headers or {})}
        return jwt.encode(claims, self.private_key, algorithm=alg or self.alg, headers=header)

    def certificate_b64(self) -> str:
        """A self-signed certificate of this key, base64 DER (an x5c entry)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
        start = datetime.now(UTC) - timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=30))
            .sign(self.private_key, hashes.SHA256())
        )
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def assertion_claims(client_id: str, aud: str = TOKEN_ENDPOINT, **changes) -> dict:
    """Claims of a client assertion (RFC 7523 section 3, OIDC Core section 9); a change of
    None drops the claim."""
    issued = now()
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": issued,
        "exp": issued + 120,
        "jti": secrets.token_urlsafe(16),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def assertion_form(assertion: str, **data) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **data}


@dataclass
class Service:
    """A registered private_key_jwt client and its key pair."""

    client_id: str
    key: KeyPair

    def assertion(self, aud: str = TOKEN_ENDPOINT, headers: dict | None = None, **changes) -> str:
        return self.key.sign(assertion_claims(self.client_id, aud, **changes), headers=headers)


def register_service(app: Flask, key: KeyPair | None = None, **metadata) -> Service:
    """A client_credentials client with private_key_jwt and ``key``'s public JWK Set."""
    from tests.oidc.helpers import register

    key = key or KeyPair.rsa()
    data = {
        "redirect_uris": [],
        "grant_types": ["client_credentials"],
        "scope": "edu:school",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": key.jwks(),
    }
    data.update(metadata)
    rp = register(app, **data)
    assert rp.secret is None
    return Service(rp.client_id, key)

"""The at-rest rule: no private key bytes are readable in the database or on disk."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from core.db import db
from keys.app import key_store
from keys.envelope import UnsealError, unseal
from keys.lifecycle import sealing_aad
from keys.material import load_private_key
from keys.models import SigningKey

NO = serialization.NoEncryption()


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def private_needles(der: bytes) -> list[bytes]:
    """Every form the private key could leak in: DER and PEM (PKCS#8 and traditional), the
    private JWK members (RFC 7518 section 6) and the raw private numbers."""
    key = load_private_key(der)
    needles = [der]
    formats = [serialization.PrivateFormat.PKCS8]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes_raw()
        needles += [raw, _b64url(raw)]
    else:
        formats.append(serialization.PrivateFormat.TraditionalOpenSSL)
        needles.append(key.private_bytes(serialization.Encoding.DER, formats[1], NO))
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        values = [numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp]
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
        needles += [jwk[name].encode() for name in ("d", "p", "q", "dp", "dq", "qi")]
        needles += [_int_bytes(value) for value in values]
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        value = key.private_numbers().private_value.to_bytes(32, "big")
        needles += [value, _b64url(value)]
    for fmt in formats:
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, NO).decode()
        body = [line for line in pem.splitlines() if "-----" not in line]
        needles += [line.encode() for line in body if len(line) >= 24]
        needles.append("".join(body).encode())
    return [needle for needle in needles if needle not in _public_forms(key)]


def _public_forms(key) -> bytes:
    """The public key in every encoding and alignment. An RSA private key repeats the public key
    (INTEGER n, INTEGER e, as in the certificate), so a PEM line lying wholly inside that run can
    equal a line of the certificate and is no leak."""
    public = key.public_key()
    runs = [
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ]
    if isinstance(key, rsa.RSAPrivateKey):
        pkcs1 = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        runs.append(pkcs1[4:])  # past the SEQUENCE header
    forms = []
    for run in runs:
        for offset in range(3):
            forms += [run, base64.b64encode(run[offset:]), _b64url(run[offset:])]
    return b"\n".join(forms)


def _row_dump(session) -> bytes:
    dump = []
    for row in session.execute(select(SigningKey.__table__)).all():
        for value in row:
            dump.append(
                bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            )
    if session.get_bind().dialect.name == "postgresql":
        dump += [r[0].encode() for r in session.execute(text("SELECT s::text FROM signing_keys s"))]
    return b"\n".join(dump)


def _disk_dump(url: str, folders: list[Path]) -> bytes:
    files = []
    if url.startswith("sqlite"):
        database = Path(make_url(url).database)
        files += [database, *database.parent.glob(database.name + "-*")]  # -wal, -journal
    for folder in folders:
        files += [path for path in folder.rglob("*") if path.is_file()]
    assert files or not url.startswith("sqlite")
    return b"".join(path.read_bytes() for path in files if path.exists())


def _assert_sealed(session, master: bytes, haystack: bytes) -> int:
    rows = session.scalars(select(SigningKey)).all()
    assert len(rows) == 8
    for row in rows:
        aad = sealing_aad(row.kid, row.use)
        der = unseal(master, row.sealed_private_key, aad)
        leaked = [needle for needle in private_needles(der) if needle in haystack]
        assert leaked == [], f"{row.use} {row.state}: private material readable at rest"
        with pytest.raises(UnsealError):
            unseal(secrets.token_bytes(32), row.sealed_private_key, aad)
    return len(rows)


def test_no_private_key_bytes_in_the_database(store, session, master, database_url):
    store.ensure()
    session.commit()
    haystack = _row_dump(session) + _disk_dump(database_url, [])
    assert _assert_sealed(session, master, haystack) == 8


def test_no_private_key_bytes_in_the_instance_folder_or_database(app, database_url):
    with app.app_context():
        store = key_store()
        store.active("saml")  # unsealed into memory only
        haystack = _row_dump(db.session) + _disk_dump(database_url, [Path(app.instance_path)])
        assert _assert_sealed(db.session, store._master, haystack) == 8


@pytest.mark.parametrize("use", ["rs256", "es256", "audit", "saml"])
def test_the_check_would_see_a_plain_key(use):
    from keys.material import generate

    der = generate(use).private_der
    key = load_private_key(der)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NO)
    needles = private_needles(der)
    for haystack in (der, pem, pem.replace(b"\n", b"")):
        assert any(needle in haystack for needle in needles)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = (
            jwt.algorithms.RSAAlgorithm if use in ("rs256", "saml") else jwt.algorithms.ECAlgorithm
        )
        assert any(needle in algorithm.to_jwk(key).encode() for needle in needles)

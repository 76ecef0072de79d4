"""Tampered ID tokens (CHECKLISTS.md, the JWT list, for upstream ID tokens), served by a provider
under the test's control (fake.py): each one goes through the connector's whole ``finish`` (code
exchange, then validation) and must be refused with a clear reason; the valid ones pass."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from federation.connector import UpstreamRejected
from federation.oidc import discovery
from federation.oidc.connector import OidcDirectory
from federation.oidc.idtoken import half_hash
from tests.federation.oidc.cities import city, tampere_directory
from tests.federation.oidc.fake import CALLBACK, CLIENT_ID, Key, compact, hs256

HANDLE = "handle-0123456789"
ATTACKER = Key("attacker-1")


@pytest.fixture
def connector(fake):
    return OidcDirectory(city("tampere", tampere_directory(fake.issuer)))


def finish(fake, connector, make_token):
    """start, the provider's token endpoint answering ``make_token(nonce)``, finish."""
    _redirect, state = connector.start(CALLBACK, HANDLE)
    fake.id_token = make_token(state["nonce"])
    answer = {"code": "code-1", "state": HANDLE, "iss": fake.issuer}
    return connector.finish(answer, state, CALLBACK)


def refused(fake, connector, make_token) -> str:
    with pytest.raises(UpstreamRejected) as caught:
        finish(fake, connector, make_token)
    return str(caught.value)


def self_signed(key: Key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.example.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key.private, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def flip(token: str) -> str:
    """The token with its signature's last bytes changed."""
    head, _, signature = token.rpartition(".")
    return f"{head}.{signature[:-6]}{'AAAAAA' if signature[-6:] != 'AAAAAA' else 'BBBBBB'}"


def swap_payload(token: str, claims: dict) -> str:
    """The token with other claims under the original signature."""
    header, _, signature = token.split(".")
    return f"{header}.{compact({}, claims).split('.')[1]}.{signature}"


def public_pem(fake) -> bytes:
    return fake.rsa.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# (id, token maker(fake, nonce), expected reason)
def _now(changes: dict) -> dict:
    """The claims to change, a time given as a function read when the token is made (the
    parameters are made when the tests are collected, maybe many minutes before)."""
    return {name: value() if callable(value) else value for name, value in changes.items()}


ATTACKS = [
    *[
        (
            f"alg {alg}",
            lambda f, n, alg=alg: compact({"alg": alg, "kid": f.rsa.kid}, f.claims(n)),
            "algorithm",
        )
        for alg in ("none", "None", "NONE", "nOnE")
    ],
    ("alg missing", lambda f, n: compact({"kid": f.rsa.kid}, f.claims(n), b"x"), "algorithm"),
    (
        "alg a list",
        lambda f, n: compact({"alg": ["RS256"], "kid": f.rsa.kid}, f.claims(n), b"x"),
        "algorithm",
    ),
    (
        "HS256 keyed with the provider's RSA public key (algorithm confusion)",
        lambda f, n: hs256({"kid": f.rsa.kid}, f.claims(n), public_pem(f)),
        "algorithm 'HS256'",
    ),
    (
        "HS256 keyed with the provider's JWK",
        lambda f, n: hs256({"kid": f.rsa.kid}, f.claims(n), f.rsa.jwk["n"].encode()),
        "algorithm 'HS256'",
    ),
    (
        "RS384 (not on the list)",
        lambda f, n: f.rsa.sign(f.claims(n), alg="RS384"),
        "algorithm 'RS384'",
    ),
    (
        "signature missing",
        lambda f, n: f.rsa.sign(f.claims(n)).rsplit(".", 1)[0] + ".",
        "signature does not verify",
    ),
    (
        "signature broken",
        lambda f, n: flip(f.rsa.sign(f.claims(n))),
        "signature does not verify",
    ),
    (
        "claims changed after signing",
        lambda f, n: swap_payload(f.rsa.sign(f.claims(n)), f.claims(n, sub="someone-else")),
        "signature does not verify",
    ),
    (
        "ECDSA signature r=s=0 (psychic signature)",
        lambda f, n: compact({"alg": "ES256", "kid": f.ec.kid}, f.claims(n), bytes(64)),
        "signature does not verify",
    ),
    (
        "jwk header with the attacker's key, provider's kid",
        lambda f, n: ATTACKER.sign(f.claims(n), kid=f.rsa.kid, jwk=ATTACKER.jwk),
        "signature does not verify",
    ),
    (
        "jwk header with the attacker's key, no kid",
        lambda f, n: ATTACKER.sign(f.claims(n), kid=None, jwk=ATTACKER.jwk),
        "signature does not verify",
    ),
    (
        "jku header to the attacker's JWKS",
        lambda f, n: ATTACKER.sign(f.claims(n), jku=f"{f.issuer}/attacker/jwks"),
        "does not publish",
    ),
    (
        "x5u header to the attacker's certificate",
        lambda f, n: ATTACKER.sign(f.claims(n), kid=f.rsa.kid, x5u=f"{f.issuer}/attacker/x5u"),
        "signature does not verify",
    ),
    (
        "x5c header with the attacker's certificate",
        lambda f, n: ATTACKER.sign(f.claims(n), kid=f.rsa.kid, x5c=[self_signed(ATTACKER)]),
        "signature does not verify",
    ),
    (
        "signed by a key the provider does not publish",
        lambda f, n: ATTACKER.sign(f.claims(n)),
        "does not publish",
    ),
    *[
        (
            f"kid injection {kid!r}",
            lambda f, n, kid=kid: ATTACKER.sign(f.claims(n), kid=kid),
            "does not publish",
        )
        for kid in ("../../../../../../dev/null", "x' UNION SELECT 'secret' --", "rsa-1\u0000")
    ],
    *[
        (
            f"kid of the wrong type {kid!r}",
            lambda f, n, kid=kid: ATTACKER.sign_raw({"kid": kid}, f.claims(n)),
            "kid is not a short string",
        )
        for kid in (7, {"$ne": None}, "", "k" * 300)
    ],
    (
        "RS256 by the provider's RSA key, but naming its EC key",
        lambda f, n: f.rsa.sign(f.claims(n), kid=f.ec.kid),
        "signature does not verify",
    ),
    (
        "unknown crit header",
        lambda f, n: f.rsa.sign(f.claims(n), crit=["urn:example:audit"]),
        "critical header",
    ),
    (
        "b64=false",
        lambda f, n: compact({"alg": "RS256", "kid": f.rsa.kid, "b64": False, "crit": ["b64"]}, {}),
        "critical header",
    ),
    *[
        (
            f"typ {typ}",
            lambda f, n, typ=typ: f.rsa.sign(f.claims(n), typ=typ),
            "typ is not JWT",
        )
        for typ in ("at+jwt", "logout+jwt", "dpop+jwt")
    ],
    ("not a JWT", lambda f, n: "not-a-jwt", "not a signed JWT"),
    ("JWE-shaped", lambda f, n: "a.b.c.d.e", "not a signed JWT"),
    ("header not JSON", lambda f, n: "bm90IGpzb24.e30.", "header is not JSON"),
    (
        "payload not JSON",
        lambda f, n: jwt.api_jws.encode(b"not json", f.rsa.private, "RS256", {"kid": f.rsa.kid}),
        "payload is not JSON",
    ),
    # the claims, signed by the provider's own key
    *[
        (
            f"exp {value}",
            lambda f, n, value=value: f.rsa.sign_raw({"kid": f.rsa.kid}, f.claims(n, exp=value)),
            "exp is missing or not a number",
        )
        for value in (float("nan"), float("inf"))
    ],
    (
        "nonce with a lone surrogate",
        lambda f, n: f.rsa.sign_raw({"kid": f.rsa.kid}, f.claims(n, nonce=n + "\ud800")),
        "nonce",
    ),
    (
        "iss with a trailing slash",
        lambda f, n: f.rsa.sign(f.claims(n, iss=f.issuer + "/")),
        "iss",
    ),
    *[
        (label, lambda f, n, changes=changes: f.rsa.sign(f.claims(n, **_now(changes))), reason)
        for label, changes, reason in [
            ("wrong iss", {"iss": "https://accounts.example.com"}, "iss"),
            ("iss missing", {"iss": None}, "iss"),
            ("wrong aud", {"aud": "another-service"}, "aud"),
            ("aud missing", {"aud": None}, "aud"),
            ("aud with an untrusted extra audience", {"aud": [CLIENT_ID, "other"]}, "audiences"),
            ("azp of another client", {"azp": "another-service"}, "azp"),
            ("expired", {"exp": lambda: int(time.time()) - 120}, "expired"),
            ("exp missing", {"exp": None}, "exp"),
            ("exp not a number", {"exp": "tomorrow"}, "exp"),
            ("issued in the future", {"iat": lambda: int(time.time()) + 600}, "future"),
            ("iat missing", {"iat": None}, "iat"),
            ("not valid yet", {"nbf": lambda: int(time.time()) + 600}, "nbf"),
            ("wrong nonce", {"nonce": "another-sign-in"}, "nonce"),
            ("nonce missing", {"nonce": None}, "nonce"),
            ("sub missing", {"sub": None}, "sub"),
            ("sub empty", {"sub": ""}, "sub"),
            ("at_hash of another access token", {"at_hash": half_hash("other")}, "at_hash"),
        ]
    ],
]


@pytest.mark.parametrize(("make", "reason"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_tampered_id_token_is_refused(fake, connector, make, reason):
    assert reason in refused(fake, connector, lambda nonce: make(fake, nonce))
    assert fake.hits["/attacker/jwks"] == fake.hits["/attacker/x5u"] == 0  # never fetched


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("RS256", lambda f, n: f.rsa.sign(f.claims(n))),
        ("ES256", lambda f, n: f.ec.sign(f.claims(n))),
        ("no kid, the one usable key", lambda f, n: f.rsa.sign(f.claims(n), kid=None)),
        ("aud as a list", lambda f, n: f.rsa.sign(f.claims(n, aud=[CLIENT_ID], azp=CLIENT_ID))),
        ("exp 30 s ago (leeway)", lambda f, n: f.rsa.sign(f.claims(n, exp=int(time.time()) - 30))),
        (
            "iat 30 s ahead (leeway)",
            lambda f, n: f.rsa.sign(f.claims(n, iat=int(time.time()) + 30)),
        ),
        ("at_hash right", lambda f, n: f.rsa.sign(f.claims(n, at_hash=half_hash(f.access_token)))),
        ("typ JWT", lambda f, n: f.rsa.sign(f.claims(n), typ="JWT")),
    ],
)
def test_valid_id_token_is_accepted(fake, connector, label, make):
    if label.startswith("no kid"):
        fake.published = [fake.rsa.jwk]
    identity = finish(fake, connector, lambda nonce: make(fake, nonce))
    assert (identity.subject, identity.given_name, identity.family_name) == (
        "108214377213",
        "Eetu",
        "Lahtinen",
    )
    assert identity.email == "eetu.lahtinen@edu.tampere.fi"
    assert [(r.role, r.municipality_code) for r in identity.roles] == [("learner", "837")]


def test_ps256_is_accepted_with_a_key_published_for_it(fake, connector):
    ps = Key("ps-1", "PS256")
    fake.published.append(ps.jwk)
    assert finish(fake, connector, lambda n: ps.sign(fake.claims(n))).given_name == "Eetu"


def test_a_key_published_for_another_algorithm_is_not_used(fake, connector):
    ps = Key("ps-1", "PS256")
    fake.published.append(ps.jwk)
    reason = refused(fake, connector, lambda n: ps.sign(fake.claims(n), alg="RS256"))
    assert "signature does not verify" in reason


def test_a_weak_rsa_key_in_the_jwks_is_not_used(fake, connector):
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = Key("weak-1")
    weak.private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    public = jwt.algorithms.RSAAlgorithm.to_jwk(weak.private.public_key(), as_dict=True)
    fake.published.append({**public, "kid": "weak-1"})
    reason = refused(fake, connector, lambda n: weak.sign_raw({"kid": "weak-1"}, fake.claims(n)))
    assert "signature does not verify" in reason


# -- key rollover, seen from the broker's side ---------------------------------------------------
def test_an_unknown_kid_fetches_the_jwks_once_more_and_then_verifies(fake, connector):
    finish(fake, connector, lambda n: fake.rsa.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 1
    new = Key("rsa-2")
    fake.published = [new.jwk, fake.rsa.jwk]
    assert finish(fake, connector, lambda n: new.sign(fake.claims(n))).given_name == "Eetu"
    assert fake.hits["/jwks"] == 2
    finish(fake, connector, lambda n: new.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 2  # cached


def test_unknown_kids_fetch_the_jwks_at_most_once_per_interval(fake, connector, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(discovery.CACHE, "clock", lambda: now[0])
    finish(fake, connector, lambda n: fake.rsa.sign(fake.claims(n)))
    for _ in range(5):
        refused(fake, connector, lambda n: ATTACKER.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 2  # the first and one more, not six
    now[0] += discovery.REFETCH_INTERVAL
    refused(fake, connector, lambda n: ATTACKER.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 3


def test_the_jwks_is_fetched_again_when_its_time_is_up(fake, connector, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(discovery.CACHE, "clock", lambda: now[0])
    finish(fake, connector, lambda n: fake.rsa.sign(fake.claims(n)))
    now[0] += 3599
    finish(fake, connector, lambda n: fake.rsa.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 1 and fake.hits["/.well-known/openid-configuration"] == 1
    now[0] += 1
    finish(fake, connector, lambda n: fake.rsa.sign(fake.claims(n)))
    assert fake.hits["/jwks"] == 2 and fake.hits["/.well-known/openid-configuration"] == 2

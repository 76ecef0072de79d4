"""KeyStore against the test database (SQLite, or PostgreSQL with DIGIONE_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.db import utcnow
from core.settings.schema import KeysSettings
from keys.envelope import UnsealError
from keys.material import ALL_USES
from keys.models import ACTIVE, NEXT, RETIRED, SigningKey
from keys.store import KeyStore, NoActiveKey

ISSUER = "https://digione.example.fi"
CLAIMS = {"iss": ISSUER, "sub": "subject", "aud": "client-1"}


def _states(session: Session) -> Counter:
    session.expire_all()
    return Counter((row.use, row.state) for row in session.scalars(select(SigningKey)))


def _verify(token: str, jwks: dict) -> dict:
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience="client-1")


def test_ensure_makes_one_active_and_one_next_per_use_and_is_idempotent(store, session):
    store.ensure()
    kids = {row.kid for row in store.list_keys()}
    store.ensure()
    assert {row.kid for row in store.list_keys()} == kids
    assert _states(session) == Counter({(u, s): 1 for u in ALL_USES for s in (ACTIVE, NEXT)})


def test_rotate_moves_next_to_active_to_retired(store, session):
    store.ensure()
    before = {row.state: row.kid for row in store.list_keys() if row.use == "rs256"}
    new = store.rotate("rs256")
    rows = {row.kid: row for row in store.list_keys() if row.use == "rs256"}
    assert new.kid == before[NEXT] and rows[before[NEXT]].state == ACTIVE
    assert rows[before[ACTIVE]].state == RETIRED and rows[before[ACTIVE]].retired_at is not None
    assert rows[new.kid].activated_at is not None
    assert len(rows) == 3 and store.active("rs256").kid == new.kid
    assert _states(session)[("es256", RETIRED)] == 0  # other uses untouched


def test_jwks_shows_next_active_and_retired_within_grace_only(store):
    store.ensure()
    old = store.active("rs256").kid
    store.rotate("rs256")
    rs = {row.state: row.kid for row in store.list_keys() if row.use == "rs256"}
    es = {row.state: row.kid for row in store.list_keys() if row.use == "es256"}
    jwks = store.public_jwks()
    kids = [key["kid"] for key in jwks["keys"]]
    assert kids == [rs[ACTIVE], es[ACTIVE], rs[NEXT], es[NEXT], old]  # active first, retired last
    assert all(set(key) >= {"kty", "kid", "alg", "use"} for key in jwks["keys"])
    assert not any({"d", "p", "q"} & set(key) for key in jwks["keys"])
    later = utcnow() + timedelta(days=15)  # grace is 14 days
    assert old not in [key["kid"] for key in store.public_jwks(now=later)["keys"]]
    assert store.public_key(old) is not None
    assert old in {row.kid for row in store.list_keys()}  # kept in the database


def test_retired_key_beyond_grace_is_found_only_when_asked(store, session):
    store.ensure()
    old = store.active("audit").kid
    store.rotate("audit", now=utcnow() - timedelta(days=30))
    assert store.public_key(old) is None
    assert store.public_key(old, published_only=False).key_id == old
    assert old not in [key["kid"] for key in store.public_jwks(uses=("audit",))["keys"]]


@pytest.mark.parametrize("use", ["rs256", "es256"])
def test_signatures_verify_with_the_published_jwks(store, use):
    store.ensure()
    token = store.sign_jwt(CLAIMS, use=use, headers={"typ": "JWT", "alg": "none", "kid": "x"})
    header = jwt.get_unverified_header(token)
    assert header["kid"] == store.active(use).kid and header["alg"] == use.upper()
    assert _verify(token, store.public_jwks())["sub"] == "subject"
    store.rotate(use)  # a token signed before rotation still verifies (retired, in grace)
    assert _verify(token, store.public_jwks())["sub"] == "subject"


def test_next_key_is_published_before_it_signs(store):
    store.ensure()
    jwks = store.public_jwks()
    store.rotate("rs256")
    assert _verify(store.sign_jwt(CLAIMS), jwks)["aud"] == "client-1"


def test_eddsa_signing_for_audit(store):
    store.ensure()
    token = store.sign_jwt({"seq": 1}, use="audit")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    key = store.public_key(header["kid"])
    assert jwt.decode(token, key.key, algorithms=["EdDSA"]) == {"seq": 1}


def test_saml_active_key_has_certificate_and_pem(store):
    store.ensure()
    key = store.active("saml")
    assert key.certificate_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert key.private_key_pem().startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE" not in repr(key)
    with pytest.raises(ValueError, match="do not sign JWTs"):
        store.sign_jwt(CLAIMS, use="saml")


def test_private_key_is_unsealed_once_and_cached(store):
    store.ensure()
    assert store.active("es256").private_key is store.active("es256").private_key


def test_errors(store):
    with pytest.raises(NoActiveKey):
        store.active("rs256")
    with pytest.raises(ValueError, match="unknown key use"):
        store.ensure(["hs256"])
    store.ensure(["rs256"])
    kid = store.active("rs256").kid
    for bad in (kid + "\n", "../../etc/passwd", kid[:-1] + "'", 42, ""):
        assert store.public_key(bad) is None


def test_swapped_sealed_keys_do_not_open(store, session):
    store.ensure()
    rows = {row.use: row for row in store.list_keys() if row.state == ACTIVE}
    rs, saml = rows["rs256"], rows["saml"]
    rs.sealed_private_key, saml.sealed_private_key = saml.sealed_private_key, rs.sealed_private_key
    session.commit()
    fresh = KeyStore(session, store._master, store.settings)
    with pytest.raises(UnsealError):
        fresh.active("rs256")


def test_rotate_all(store, session):
    store.ensure()
    new = store.rotate()
    assert [key.use for key in new] == list(ALL_USES)
    assert _states(session) == Counter(
        {(u, s): 1 for u in ALL_USES for s in (ACTIVE, NEXT, RETIRED)}
    )


def test_rotate_due_by_age(store, session, master):
    store.ensure()
    now = utcnow()
    assert store.rotate_due(now + timedelta(days=89)) == []
    assert store.rotate_due(now + timedelta(days=90, minutes=1)) == list(ALL_USES)
    assert store.rotate_due(now + timedelta(days=90, minutes=2)) == []
    off = KeyStore(session, master, KeysSettings(rotate_after_days=0))
    assert off.rotate_due(now + timedelta(days=10_000)) == []
    later = now + timedelta(days=181)
    assert store.rotate_due(later, uses=["es256"]) == ["es256"]
    assert _states(session)[("es256", RETIRED)] == 2 and _states(session)[("rs256", RETIRED)] == 1


def test_rotate_without_keys_creates_them(store, session):
    store.rotate("es256")
    assert _states(session) == Counter({("es256", ACTIVE): 1, ("es256", NEXT): 1})


def _race(engine: Engine, master: bytes, action) -> None:
    barrier, errors = threading.Barrier(2), []

    def run() -> None:
        with Session(engine) as session:
            store = KeyStore(session, master, KeysSettings(), issuer=ISSUER)
            barrier.wait()
            try:
                action(store)
            except Exception as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_concurrent_ensure_makes_exactly_one_active_and_next(engine, session, master):
    _race(engine, master, lambda store: store.ensure())
    assert _states(session) == Counter({(u, s): 1 for u in ALL_USES for s in (ACTIVE, NEXT)})


def test_concurrent_rotate_due_rotates_once(engine, session, store, master):
    store.ensure()
    session.execute(update(SigningKey).values(activated_at=utcnow() - timedelta(days=100)))
    session.commit()
    _race(engine, master, lambda other: other.rotate_due())
    assert _states(session) == Counter(
        {(u, s): 1 for u in ALL_USES for s in (ACTIVE, NEXT, RETIRED)}
    )

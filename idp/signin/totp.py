"""The administrators' second factor at the broker: time-based one-time passwords (RFC 6238,
with pyotp: HMAC-SHA1, 6 digits, 30-second steps, as every authenticator app reads them from an
``otpauth://`` URI). The key is sealed under the master key; a code is accepted once (section
5.2: the step it was accepted for is kept) and one step of clock drift either way."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.db import utcnow
from idp.signin.models import SecondFactor
from keys.store import KeyStore

ISSUER = "DigiOne"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # RFC 6238 section 6: at most one step of drift either way
# The demo's administrators' key (`digione demo seed`; development only): public, like the
# demo accounts' password.
DEMO_SECRET = "DIGIONEDEMOADMINSECONDFACTOR2345"


def _purpose(person_id: str) -> str:
    return f"totp\0{person_id}"


def enroll(session: Session, keys: KeyStore, person_id: str, secret: str | None = None) -> str:
    """Give the person a new TOTP key (replacing any); returns it in base32. Flushes."""
    secret = secret or pyotp.random_base32(32)  # 160 bits, RFC 4226 section 4's recommendation
    row = session.get(SecondFactor, person_id) or SecondFactor(person_id=person_id)
    row.kind, row.created_at, row.last_step, row.last_used_at = "totp", utcnow(), None, None
    row.sealed_secret = keys.seal_secret(secret.encode("ascii"), _purpose(person_id))
    session.add(row)
    session.flush()
    return secret


def enrolled(session: Session, person_id: str) -> bool:
    return session.get(SecondFactor, person_id) is not None


def remove(session: Session, person_id: str) -> bool:
    """Remove the person's key; False when they had none."""
    return bool(
        session.execute(delete(SecondFactor).where(SecondFactor.person_id == person_id)).rowcount
    )


def uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code) for ``account``."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def verify(
    session: Session, keys: KeyStore, person_id: str, code: str, now: datetime | None = None
) -> bool:
    """Whether ``code`` is the person's code now (or one step either side) and was not
    accepted before; an accepted one is remembered. Takes the key's row lock."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    row = session.get(SecondFactor, person_id, with_for_update=True, populate_existing=True)
    if row is None:
        return False
    totp = pyotp.TOTP(keys.unseal_secret(row.sealed_secret, _purpose(person_id)).decode("ascii"))
    now = now or utcnow()
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if row.last_step is not None and step <= row.last_step:
            continue  # a code once accepted, or an older one, is never accepted again
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            row.last_step, row.last_used_at = step, now
            session.flush()
            return True
    return False

"""Key rows through their life, next → active → retired, safe against concurrent writers.

The partial unique indexes on ``signing_keys`` allow one active and one next key per use; every
state change is a compare-and-set on the old state. A writer that loses a race gets an
IntegrityError or a conflict, rolls back, and :func:`retrying` runs its step again on fresh rows.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from keys.envelope import seal
from keys.material import generate
from keys.models import ACTIVE, NEXT, RETIRED, SigningKey

log = logging.getLogger("digione.keys")
T = TypeVar("T")
RETRIES = 6


class Conflict(Exception):
    """Another process changed the keys between our read and our write."""


def sealing_aad(kid: str, use: str) -> bytes:
    """Associated data binding a sealed private key to its row's kid and use."""
    return f"digione/signing_keys/{use}/{kid}".encode("ascii")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError | Conflict):
        return True
    code = getattr(
        getattr(exc, "orig", None), "sqlstate", None
    )  # PostgreSQL deadlock, serialization
    return code in ("40001", "40P01") or "database is locked" in str(exc)


def retrying(session: Session, action: Callable[[], T]) -> T:
    """Run ``action`` and commit; on a lost race roll back and run it again (a few times)."""
    for attempt in range(RETRIES):
        try:
            result = action()
            session.commit()
            return result
        except (IntegrityError, OperationalError, Conflict) as exc:
            session.rollback()
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise
            time.sleep(0.02 * (attempt + 1) + random.random() * 0.05)  # noqa: S311 (jitter)
    raise AssertionError("unreachable")


def add(
    session: Session, master: bytes, issuer: str, use: str, state: str, now: datetime
) -> SigningKey:
    """Generate a key for ``use``, seal its private half and insert it in ``state``."""
    material = generate(use, issuer)
    row = SigningKey(
        kid=material.kid,
        use=use,
        alg=material.alg,
        state=state,
        public_jwk=material.public_jwk,
        sealed_private_key=seal(master, material.private_der, sealing_aad(material.kid, use)),
        certificate_pem=material.certificate_pem,
        created_at=now,
        activated_at=now if state == ACTIVE else None,
    )
    session.add(row)
    session.flush()
    log.info("signing key created", extra={"event": {"use": use, "state": state, "kid": row.kid}})
    return row


def move(session: Session, row: SigningKey, old: str, new: str, **values: Any) -> None:
    """Compare-and-set ``row`` from ``old`` to ``new`` state; Conflict if it moved meanwhile."""
    statement = (
        update(SigningKey)
        .where(SigningKey.id == row.id, SigningKey.state == old)
        .values(state=new, **values)
        .execution_options(synchronize_session="fetch")
    )
    if session.execute(statement).rowcount != 1:
        raise Conflict(f"{row.use} key changed meanwhile")


def ensure_one(session: Session, master: bytes, issuer: str, use: str, now: datetime) -> None:
    """Add whichever of the active and next keys of ``use`` is missing."""
    query = select(SigningKey.state).where(
        SigningKey.use == use, SigningKey.state.in_((ACTIVE, NEXT))
    )
    states = set(session.scalars(query))
    for state in (ACTIVE, NEXT):
        if state not in states:
            add(session, master, issuer, use, state, now)


def rotate_one(
    session: Session,
    master: bytes,
    issuer: str,
    use: str,
    now: datetime,
    due_before: datetime | None = None,
) -> SigningKey | None:
    """Retire the active key, activate the next one (or a new one if there is none) and add a new
    next key. With ``due_before``, do nothing unless the active key was activated by then."""
    query = (
        select(SigningKey)
        .where(SigningKey.use == use, SigningKey.state.in_((ACTIVE, NEXT)))
        .with_for_update()  # PostgreSQL; SQLite serialises writers itself
    )
    current = {row.state: row for row in session.scalars(query)}
    active, upcoming = current.get(ACTIVE), current.get(NEXT)
    if due_before is not None and (
        active is None or (active.activated_at or active.created_at) > due_before
    ):
        return None  # not due, or another process rotated it meanwhile
    if active is not None:
        move(session, active, ACTIVE, RETIRED, retired_at=now)
    if upcoming is not None:
        move(session, upcoming, NEXT, ACTIVE, activated_at=now)
    else:
        upcoming = add(session, master, issuer, use, ACTIVE, now)
    add(session, master, issuer, use, NEXT, now)
    log.info("signing key rotated", extra={"event": {"use": use, "kid": upcoming.kid}})
    return upcoming

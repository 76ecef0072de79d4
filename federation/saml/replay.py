"""Assertion replay: each assertion is accepted once (SAML 2.0 profiles, section 4.1.4.5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.hashing import sha256_hex
from federation.saml.models import SeenAssertion


def assertion_key(city: str, idp_entity_id: str, assertion_id: str) -> str:
    return sha256_hex("\0".join((city, idp_entity_id, assertion_id)))


def first_use(session: Session, key: str, until: datetime) -> bool:
    """Remember ``key`` until ``until``; False when it was already remembered (a replay).

    The row is flushed at once, so of two requests racing with one assertion the second waits
    on the primary key and fails; the caller's commit makes the memory permanent."""
    session.execute(delete(SeenAssertion).where(SeenAssertion.expires_at < utcnow()))
    if session.get(SeenAssertion, key) is not None:
        return False
    session.add(SeenAssertion(id=key, expires_at=until))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True

"""The single sign-on session: a random cookie token, only its SHA-256 kept server-side.

A new token is issued at every sign-in (no session fixation); the session ends at its absolute
lifetime, after the idle timeout, or at sign-out.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.db import utcnow
from core.hashing import sha256_hex
from core.settings.schema import SessionSettings
from federation.models import CityIdentity
from idp.sso.models import SsoSession

TOUCH_EVERY = timedelta(minutes=1)  # write last_seen_at at most this often


def start(
    db: Session,
    link: CityIdentity,
    settings: SessionSettings,
    *,
    acr: str,
    amr: list[str],
    replaces: str | None = None,
) -> str:
    """Open a session for ``link``; end the one whose token is ``replaces``; return the token."""
    if replaces:
        end(db, replaces)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        SsoSession(
            id=sha256_hex(token),
            person_id=link.person_id,
            identity_id=link.id,
            city=link.city,
            auth_time=now,
            acr=acr,
            amr=amr,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=settings.lifetime_minutes),
        )
    )
    return token


def current(db: Session, token: str | None, settings: SessionSettings) -> SsoSession | None:
    """The live session the cookie token names, or None (unknown, expired, idle too long)."""
    if not token or len(token) > 128:
        return None
    row = db.get(SsoSession, sha256_hex(token))
    if row is None:
        return None
    now = utcnow()
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=settings.idle_minutes) <= now:
        db.delete(row)
        db.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row


def end(db: Session, token: str) -> None:
    db.execute(delete(SsoSession).where(SsoSession.id == sha256_hex(token)))

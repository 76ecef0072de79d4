"""Server-side single sign-on sessions. The cookie holds a random token; only its hash is stored."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from federation.models import CityIdentity, Person


class SsoSession(Base):
    __tablename__ = "sso_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie token
    # The public session id: the ID token's ``sid`` and back-channel logout's key.
    sid: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(24)
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[str] = mapped_column(ForeignKey("city_identities.id", ondelete="CASCADE"))
    city: Mapped[str] = mapped_column(String(32))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    # Every use of a session needs its person: read with it (one query for authorize, not two)
    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)
    identity: Mapped[CityIdentity] = relationship()


class SignInCount(Base):
    """Sign-ins per day (Finnish time), city, directory type and the service the person was
    on the way to ('' for the broker's own pages): counted at each sign-in, for the cities'
    statistics; no person is in it."""

    __tablename__ = "sign_in_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    directory: Mapped[str] = mapped_column(String(16), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

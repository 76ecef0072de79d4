"""Counters of failed sign-ins, keyed by an HMAC of the account or address (no personal data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class LoginFailures(Base):
    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UpstreamLogin(Base):
    """A sign-in in progress at a city's SAML or OpenID Connect directory.

    Kept server-side because a SAML answer arrives as a cross-site POST, which carries none of
    the browser's SameSite=Lax cookies: the answer is checked and parked here, then the browser
    is sent to a same-site URL where its session proves it started this sign-in."""

    __tablename__ = "upstream_logins"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    city: Mapped[str] = mapped_column(String(32))
    binding_hash: Mapped[str] = mapped_column(String(64))
    connector_state: Mapped[dict] = mapped_column(JSON, default=dict)
    next_url: Mapped[str | None] = mapped_column(Text)
    identity: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SecondFactor(Base):
    """A person's TOTP key (RFC 6238), sealed under the master key (keys.store.seal_secret),
    and the last time step a code was accepted for, so that no code is accepted twice."""

    __tablename__ = "second_factors"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="totp")
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Assertions already used, remembered until they expire (assertion replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SeenAssertion(Base):
    """One accepted SAML assertion. ``id`` is a SHA-256 of the city, the IdP's entity id and the
    assertion's ID (bounded length whatever the IdP sends); the row may go once ``expires_at``
    has passed, because by then the assertion's own validity window refuses it."""

    __tablename__ = "saml_seen_assertions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

"""Stored signing keys: one row per key, its private half sealed under the master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

NEXT, ACTIVE, RETIRED = "next", "active", "retired"


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        # At most one active and one next key per use, enforced by the database itself.
        Index(
            "uq_signing_keys_active",
            "use",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "uq_signing_keys_next",
            "use",
            unique=True,
            sqlite_where=text("state = 'next'"),
            postgresql_where=text("state = 'next'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)  # RFC 7638 thumbprint
    use: Mapped[str] = mapped_column(String(16))  # rs256 | es256 | audit | saml
    alg: Mapped[str] = mapped_column(String(16))  # JWS alg: RS256 | ES256 | EdDSA
    state: Mapped[str] = mapped_column(String(8))  # next | active | retired
    public_jwk: Mapped[dict] = mapped_column(JSON)
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_pem: Mapped[str | None] = mapped_column(Text)  # SAML keys only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

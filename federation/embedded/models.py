"""Accounts of the embedded directory: a city's people kept in DigiOne's own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class EmbeddedAccount(Base):
    __tablename__ = "embedded_accounts"
    __table_args__ = (Index("uq_embedded_accounts_city_username", "city", "username", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    city: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    # argon2id in PHC string format; rehashed at sign-in when the parameters change.
    password_hash: Mapped[str] = mapped_column(String(255))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birthdate: Mapped[date | None] = mapped_column(Date)
    learner_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5), default="fi")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"role": ..., "school": "12345", "group": "3A", "class_level": 3}]
    roles: Mapped[list[dict]] = mapped_column(JSON, default=list)
    # learner ids of the children this account is a guardian of
    children: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

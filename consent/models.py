"""Storage of guardian consent (CONSENT.md): purposes and their versions, consent records, the
append-only events a record's state is derived from, and the audit trail.

Records, events and audit entries are only ever inserted: the code never updates or deletes
them, and migration 0006 adds database triggers that refuse UPDATE and DELETE on them
(consent.schema). A purpose version is immutable too, apart from ``withdrawn_at``, set once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Purpose(Base):
    """One version of a data-sharing purpose. Texts are ``{"fi": …, "sv": …, "en": …}``;
    ``notice_hash`` is the SHA-256 of the version's notice (consent.purposes.notice_hash), so a
    record proves which text was shown."""

    __tablename__ = "consent_purposes"

    purpose_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict] = mapped_column(JSON)
    data_description: Mapped[dict] = mapped_column(JSON)  # the data, in plain words
    retention: Mapped[dict] = mapped_column(JSON)  # how long the recipient keeps it, in words
    category: Mapped[str] = mapped_column(String(64))  # purpose category (ISO/IEC TS 27560)
    scopes: Mapped[list[str]] = mapped_column(JSON)  # data categories: the source's scopes
    source_client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"))
    recipient_client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"))
    lawful_basis: Mapped[str] = mapped_column(String(32))
    who: Mapped[str] = mapped_column(String(16))  # all_guardians | any_guardian
    child_from_age: Mapped[int | None] = mapped_column(Integer)
    child_alongside_guardians: Mapped[bool] = mapped_column(Boolean, default=False)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    valid_until: Mapped[date | None] = mapped_column(Date)
    requires_reconsent: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_url: Mapped[str | None] = mapped_column(Text)
    notice_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def text(self, field: str, locale: str) -> str:
        texts = getattr(self, field) or {}
        return texts.get(locale) or texts.get("fi") or next(iter(texts.values()), "")


class ConsentRecord(Base):
    """A request for (or, under another lawful basis, a recording of) one child's data being
    shared for one purpose version. Never changes; its state comes from its events."""

    __tablename__ = "consent_records"
    __table_args__ = (
        ForeignKeyConstraint(
            ["purpose_id", "purpose_version"],
            ["consent_purposes.purpose_id", "consent_purposes.version"],
            name="fk_consent_records_purpose",
        ),
        Index("ix_consent_records_child_purpose", "child_id", "purpose_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose_id: Mapped[str] = mapped_column(String(64))
    purpose_version: Mapped[int] = mapped_column(Integer)
    child_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    city: Mapped[str] = mapped_column(String(32))  # the controller: the child's city
    requested_by: Mapped[str | None] = mapped_column(String(64))  # the client that asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Its leaf in the audit log (consent.ledger.entries), unique; None only for a row written
    # behind the broker's back, which `digione audit verify` names.
    leaf: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)


class ConsentEvent(Base):
    """Something that happened to a record: ``kind`` is requested, recorded, approve, refuse,
    withdraw, custody (the deciders changed) or invalidate. ``deciders`` is the custody
    basis at that moment (consent.policy.Deciders as lists); ``acr`` the actor's sign-in."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(
        ForeignKey("consent_records.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # guardian, child, service, admin, system
    actor_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))  # page, api, cli, system
    acr: Mapped[str | None] = mapped_column(String(64))
    deciders: Mapped[dict | None] = mapped_column(JSON)
    purpose_version: Mapped[int | None] = mapped_column(Integer)  # the text the actor saw
    reason: Mapped[str | None] = mapped_column(String(64))
    # Its leaf in the audit log (consent.ledger.entries), unique; None only for a row written
    # behind the broker's back, which `digione audit verify` names.
    leaf: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)


class AuditEntry(Base):
    """One line of the audit trail: who (actor type and id), what (action), when, from where
    (channel and a keyed hash of the address, never the address) and which record or purpose.
    ``detail`` holds identifiers only, never personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    record_id: Mapped[str | None] = mapped_column(String(36), index=True)
    purpose_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address_hash: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # Its leaf in the audit log (consent.ledger.entries), unique; None only for a row written
    # behind the broker's back, which `digione audit verify` names.
    leaf: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)


class ConsentStatus(Base):
    """A record's state as its events last left it, one row per record: what the
    administrators' lists filter and page on (consent.status), so that a filtered page does not
    fold the events of every record. Derived and rewritten, never a source: the record's events
    are (`digione consent reindex` rebuilds it from them). A given consent's expiry is read
    against ``valid_until`` at query time; a purpose's end rewrites its records' rows."""

    __tablename__ = "consent_status"
    __table_args__ = (
        Index("ix_consent_status_city_created", "city", "created_at", "record_id"),
        Index("ix_consent_status_created", "created_at", "record_id"),
        Index("ix_consent_status_purpose_state", "purpose_id", "state"),
        # A state filter reads each stored state newest first (consent.search), within a city
        # or, for an auditor, in every city.
        Index("ix_consent_status_city_state_created", "city", "state", "created_at", "record_id"),
        Index("ix_consent_status_state_created", "state", "created_at", "record_id"),
    )

    record_id: Mapped[str] = mapped_column(
        ForeignKey("consent_records.id", ondelete="CASCADE"), primary_key=True
    )
    city: Mapped[str] = mapped_column(String(32))
    child_id: Mapped[str] = mapped_column(String(36), index=True)
    purpose_id: Mapped[str] = mapped_column(String(64))
    purpose_version: Mapped[int] = mapped_column(Integer)
    source_client_id: Mapped[str] = mapped_column(String(64))
    recipient_client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # its latest event
    events: Mapped[int] = mapped_column(Integer)


class ConsentDaily(Base):
    """The consent statistics of one day (Finnish time) per city, school, purpose and service,
    aggregated from the stored states once the day is over (consent.stats): records asked
    for, given, refused, withdrawn, expired and ended otherwise that day, and how long the
    decisions made that day took (counts per band of hours). No person is in it."""

    __tablename__ = "consent_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    city: Mapped[str] = mapped_column(String(32), primary_key=True)
    school_code: Mapped[str] = mapped_column(String(5), primary_key=True)  # '' none known
    purpose_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    given: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    invalidated: Mapped[int] = mapped_column(Integer, default=0)
    # The decisions made that day by how long they took from the request (consent.stats.BANDS)
    within_1h: Mapped[int] = mapped_column(Integer, default=0)
    within_6h: Mapped[int] = mapped_column(Integer, default=0)
    within_24h: Mapped[int] = mapped_column(Integer, default=0)
    within_72h: Mapped[int] = mapped_column(Integer, default=0)
    within_168h: Mapped[int] = mapped_column(Integer, default=0)
    within_720h: Mapped[int] = mapped_column(Integer, default=0)
    later: Mapped[int] = mapped_column(Integer, default=0)


class StatsDay(Base):
    """A day whose statistics (ConsentDaily) are made: the days to aggregate are the ones
    after the last of these, up to yesterday."""

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    aggregated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Storage of people: one Person, their identities per city, schools, roles and guardianships."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Person(Base):
    """One human being, whatever number of city directories know them (ARCHITECTURE.md profile)."""

    __tablename__ = "people"
    # Administrators find a child by the start of a name (consent.search), case-insensitively:
    # indexes on lower(given_name) and lower(family_name) (below the class).

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    learner_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birthdate: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5), default="fi")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    identities: Mapped[list[CityIdentity]] = relationship(
        back_populates="person", order_by="CityIdentity.city"
    )


# On PostgreSQL with text_pattern_ops, so that LIKE 'prefix%' uses them in any collation.
for _name in ("given_name", "family_name"):
    _lower = func.lower(getattr(Person, _name)).label(f"{_name}_lower")
    Index(f"ix_people_{_name}_lower", _lower, postgresql_ops={_lower.name: "text_pattern_ops"})


class CityIdentity(Base):
    """A person's account in one city's directory; ``subject`` is that directory's stable id."""

    __tablename__ = "city_identities"
    __table_args__ = (
        Index("uq_city_identities_city_subject", "city", "subject", unique=True),
        # account -> person from the index alone (a school's pupils, consent.search)
        Index("ix_city_identities_id_person", "id", "person_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    city: Mapped[str] = mapped_column(String(32))
    municipality_code: Mapped[str] = mapped_column(String(3))
    subject: Mapped[str] = mapped_column(String(255))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Why this identity belongs to its person: "new" (first seen), "learner_id" (linked to an
    # existing person by the verified national learner id) or "unlinked" (an admin undid a
    # link with `digione people unlink`; never linked by learner id again).
    linked_by: Mapped[str] = mapped_column(
        String(16), default="new", server_default="new", index=True
    )  # indexed: the few linked accounts are read for administrators' scopes (consent.scope)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(back_populates="identities")
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="identity", cascade="all, delete-orphan", order_by="RoleAssignment.id"
    )


class School(Base):
    __tablename__ = "schools"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(3), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_sv: Mapped[str | None] = mapped_column(String(200))


class RoleAssignment(Base):
    """A role as the city directory last stated it: learner, teacher, staff, principal, guardian."""

    __tablename__ = "role_assignments"
    # A school's pupils for administrators' lists (consent.search): read from the index alone.
    __table_args__ = (Index("ix_role_assignments_school_code", "school_code", "identity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(
        ForeignKey("city_identities.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    school_code: Mapped[str | None] = mapped_column(ForeignKey("schools.code"))
    group: Mapped[str | None] = mapped_column(String(32))
    class_level: Mapped[int | None] = mapped_column(Integer)

    identity: Mapped[CityIdentity] = relationship(back_populates="roles")
    school: Mapped[School | None] = relationship()


class Guardianship(Base):
    """guardian -> child as a city directory stated it; ``ended_at`` set once it stops saying so."""

    __tablename__ = "guardianships"
    __table_args__ = (
        Index(
            "uq_guardianships_active",
            "guardian_id",
            "child_id",
            "city",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guardian_id: Mapped[str] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    child_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    city: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

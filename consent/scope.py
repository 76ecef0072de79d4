"""Which consent records an administrator sees (CONSENT.md: the controller is the child's city).

A person's roles come from their city identities' broker permissions, as each city's
directory asserts them: ``consent_admin`` in a city sees and acts on the records of that city's
children; ``auditor`` (a national auditor) reads every city's records and changes nothing. A
child is of a city when the record names it as the controller or when the child has an
account in its directory, so a child linked across two cities is seen by both cities'
administrators. Whatever is not in scope is answered as if it did not exist (a 404, not a 403).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from consent.models import ConsentRecord
from federation.models import CityIdentity

CONSENT_ADMIN = "consent_admin"
AUDITOR = "auditor"
PERMISSIONS = (CONSENT_ADMIN, AUDITOR)


@dataclass(frozen=True)
class Scope:
    """What one administrator sees: the children of ``cities``, or of every city."""

    role: str  # consent_admin or auditor: shown to guardians with each view (never the name)
    cities: frozenset[str] = frozenset()
    every_city: bool = False

    def may_change(self, city: str) -> bool:
        """Consent administrators act in their own cities; auditors only read."""
        return city in self.cities

    def records(
        self, session: Session, city=ConsentRecord.city, child=ConsentRecord.child_id
    ) -> ColumnElement[bool]:
        """A WHERE clause on the records this scope sees, given a record's ``city`` (the
        controller) and ``child`` columns (ConsentRecord's, or consent.status's). The children
        of these cities whose records another city holds are few (people with accounts in two
        cities): they are read first, so that the clause is two index conditions."""
        if self.every_city:
            return true()
        linked = self.linked_children(session)
        return or_(city.in_(self.cities), child.in_(linked)) if linked else city.in_(self.cities)

    def linked_children(self, session: Session) -> list[str]:
        """The people with an account in one of these cities and in another city (an account
        linked to an existing person, federation.accounts: ``linked_by`` learner_id)."""
        linked = select(CityIdentity.person_id).where(CityIdentity.linked_by == "learner_id")
        return list(
            session.scalars(
                select(CityIdentity.person_id)
                .where(CityIdentity.city.in_(self.cities), CityIdentity.person_id.in_(linked))
                .distinct()
            )
        )

    def sees(self, session: Session, record: ConsentRecord) -> bool:
        """Whether this scope sees ``record``."""
        if self.every_city or record.city in self.cities:
            return True
        found = session.scalar(
            select(CityIdentity.id)
            .where(CityIdentity.person_id == record.child_id)
            .where(CityIdentity.city.in_(self.cities))
            .limit(1)
        )
        return found is not None

    def visible(self, session: Session, record_id: str) -> ConsentRecord | None:
        """The record ``record_id`` if it exists and this scope sees it, else None."""
        record = session.get(ConsentRecord, record_id) if len(record_id) <= 36 else None
        return record if record is not None and self.sees(session, record) else None


def scope_of_client(metadata: dict) -> Scope | None:
    """The scope of an administrator's tool, from its registered ``admin_city`` or
    ``admin_auditor`` (idp.oidc.client_metadata); None for a client registered with neither."""
    if metadata.get("admin_auditor") is True:
        return Scope(AUDITOR, every_city=True)
    city = metadata.get("admin_city")
    return Scope(CONSENT_ADMIN, frozenset({city})) if isinstance(city, str) else None


def scope_of(session: Session, person_id: str) -> Scope | None:
    """The person's administrator scope from their city identities' permissions, or None for
    someone who administers nothing. An auditor anywhere reads every city."""
    rows = session.execute(
        select(CityIdentity.city, CityIdentity.permissions).where(
            CityIdentity.person_id == person_id
        )
    ).all()
    auditor = any(AUDITOR in (permissions or []) for _city, permissions in rows)
    cities = frozenset(city for city, permissions in rows if CONSENT_ADMIN in (permissions or []))
    if cities:  # an administrator who is also an auditor reads everywhere, acts in their city
        return Scope(CONSENT_ADMIN, cities, every_city=auditor)
    return Scope(AUDITOR, every_city=True) if auditor else None

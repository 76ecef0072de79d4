"""Turn an Identity from a city directory into the broker's Person and its city identity.

Called at every sign-in, so the broker's view follows the directory: the profile is refreshed,
the roles are replaced, and guardianships the directory no longer states are ended (with the
time), never deleted.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import insert_or_skip, utcnow
from federation.models import CityIdentity, Guardianship, Person, RoleAssignment, School
from federation.profile import Identity
from federation.signals import custody_changed


def _person_for(session: Session, identity: Identity) -> tuple[Person, CityIdentity | None]:
    link = session.scalar(
        select(CityIdentity).where(
            CityIdentity.city == identity.city, CityIdentity.subject == identity.subject
        )
    )
    if link is not None:
        return link.person, link
    person = None
    if identity.learner_id:  # the verified national identifier links accounts across cities
        person = session.scalar(select(Person).where(Person.learner_id == identity.learner_id))
    if person is None:
        person = Person(given_name=identity.given_name, family_name=identity.family_name)
        session.add(person)
    return person, None


def _linked_by(session: Session, person: Person, identity: Identity) -> str:
    linked = person.id is not None and session.scalar(
        select(CityIdentity.id).where(CityIdentity.person_id == person.id).limit(1)
    )
    return "learner_id" if linked and identity.learner_id else "new"


def provision(session: Session, identity: Identity, *, signed_in: bool = True) -> CityIdentity:
    """Create or refresh the Person and CityIdentity for ``identity``; flush, do not commit."""
    person, link = _person_for(session, identity)
    person.given_name = identity.given_name
    person.family_name = identity.family_name
    person.birthdate = identity.birthdate
    if link is None or link.linked_by != "unlinked":
        person.learner_id = identity.learner_id or person.learner_id
    person.email = identity.email
    person.locale = identity.locale
    became_protected = identity.protected and not person.protected
    person.protected = identity.protected
    if link is None:
        link = CityIdentity(
            person=person,
            city=identity.city,
            municipality_code=identity.municipality_code,
            subject=identity.subject,
            linked_by=_linked_by(session, person, identity),
        )
        session.add(link)
    _ensure_schools(session, identity)
    link.permissions = list(identity.permissions)
    if signed_in:
        link.last_login_at = utcnow()
    _sync_roles(link, identity)
    session.flush()
    changed = _sync_guardianships(session, person, identity)
    if became_protected and person.id:
        changed.add(person.id)
    _reevaluate_consents(session, changed)
    return link


def provision_once_more(session: Session, identity: Identity) -> CityIdentity:
    """provision() at a sign-in, in a savepoint: when another request made the same city
    account between this one's read and its write (a sign-in form sent twice at once), the
    unique constraint stops the second; it is undone to the savepoint and done once more, and
    then finds the other's rows (a 500 before)."""
    try:
        with session.begin_nested():
            return provision(session, identity)
    except IntegrityError:
        return provision(session, identity)


def _sync_roles(link: CityIdentity, identity: Identity) -> None:
    """The identity's roles become the directory's; when they are the same as last time (most
    sign-ins) no row is touched (two writes fewer per sign-in)."""
    wanted = [(c.role, c.school_code, c.group, c.class_level) for c in identity.roles]
    held = [(r.role, r.school_code, r.group, r.class_level) for r in link.roles]
    if Counter(held) == Counter(wanted):
        return
    link.roles = [
        RoleAssignment(role=role, school_code=school, group=group, class_level=level)
        for role, school, group, level in wanted
    ]


def _reevaluate_consents(session: Session, child_ids: set[str]) -> None:
    """Custody or protection changed: whoever keeps decisions about the children is told
    (consent re-evaluates their consents, CONSENT.md; it builds on federation, not the reverse)."""
    if child_ids:
        custody_changed.send(session, child_ids=frozenset(child_ids))


SCHOOL = insert_or_skip(School)


def _ensure_schools(session: Session, identity: Identity) -> None:
    """A school a directory names for the first time is recorded (its name when stated).
    Pupils of a new school sign in at once at the start of a term: the row is inserted only if
    no concurrent sign-in has (ON CONFLICT DO NOTHING; a read-then-insert raced)."""
    new = {
        claim.school_code: {
            "code": claim.school_code,
            "municipality_code": claim.municipality_code,
            "name": claim.school_name or claim.school_code,
        }
        for claim in identity.roles
        if claim.school_code and session.get(School, claim.school_code) is None
    }
    session.flush()
    if new:
        connection = session.connection()
        connection.execute(SCHOOL[connection.dialect.name], list(new.values()))


def _sync_guardianships(session: Session, guardian: Person, identity: Identity) -> set[str]:
    """End the guardianships the directory no longer states, add the new ones; return the
    ids of the children whose guardians changed."""
    children = (
        {
            child.learner_id: child
            for child in session.scalars(
                select(Person).where(Person.learner_id.in_(identity.children))
            )
        }
        if identity.children
        else {}
    )
    current = {
        row.child_id: row
        for row in session.scalars(
            select(Guardianship).where(
                Guardianship.guardian_id == guardian.id,
                Guardianship.city == identity.city,
                Guardianship.ended_at.is_(None),
            )
        )
    }
    wanted = {child.id for child in children.values()}
    for child_id, row in current.items():
        if child_id not in wanted:
            row.ended_at = utcnow()
    for child_id in wanted - current.keys():
        session.add(
            Guardianship(
                guardian_id=guardian.id, child_id=child_id, city=identity.city, source="directory"
            )
        )
    session.flush()
    return wanted ^ current.keys()


def unlink(session: Session, identity: CityIdentity) -> Person:
    """Undo a wrong link: move ``identity`` to a person of its own (without the learner id,
    which stays with the person it was linked to) and mark it so that it is never linked by
    learner id again. Flushes, does not commit."""
    old = identity.person
    person = Person(
        given_name=old.given_name,
        family_name=old.family_name,
        birthdate=old.birthdate,
        email=old.email,
        locale=old.locale,
        protected=old.protected,
    )
    session.add(person)
    identity.person = person
    identity.linked_by = "unlinked"
    session.flush()
    return person

"""The index from a service's ``sub`` back to the person (OIDC Core 8.1 pairwise subjects are
one-way HMACs): recorded when a service is given a ``sub`` at an authorization, read when the
service names a child to the consent API."""

from __future__ import annotations

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from federation.models import Person
from idp.oidc.models import Client, PairwiseSubject
from idp.oidc.subject import sector_of, subject_for

# Built once per dialect: on every authorization, building the statement cost more than the
# round trip.
REMEMBER = {
    "postgresql": postgresql.insert(PairwiseSubject).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(PairwiseSubject).on_conflict_do_nothing(),
}


def _values(person_id: str, client: Client, secret: bytes) -> dict | None:
    metadata = client.client_metadata or {}
    if metadata.get("subject_type") == "public":
        return None
    return {
        "sector": sector_of(metadata, client.client_id),
        "sub": subject_for(person_id, metadata, client.client_id, secret),
        "person_id": person_id,
    }


def remember(session: Session, person_id: str, client: Client, secret: bytes) -> None:
    """Record (once; concurrent sign-ins do not collide) the ``sub`` ``client`` sees."""
    values = _values(person_id, client, secret)
    if values is not None:
        session.connection().execute(REMEMBER[session.get_bind().dialect.name], values)


# remember's statements with their own parameter names (pairwise_<column>), to go with another.
_NAMED = {name: bindparam(f"pairwise_{name}") for name in ("sector", "sub", "person_id")}
REMEMBER_NAMED = {dialect: statement.values(_NAMED) for dialect, statement in REMEMBER.items()}


def remembering(
    session: Session, person_id: str, client: Client, secret: bytes
) -> tuple[Insert, dict] | None:
    """remember's prebuilt INSERT and values, to run with another (idp.db.insert_together);
    None where the client sees the public ``sub``."""
    values = _values(person_id, client, secret)
    if values is None:
        return None
    named = {f"pairwise_{name}": value for name, value in values.items()}
    return REMEMBER_NAMED[session.get_bind().dialect.name], named


def person_for(session: Session, client: Client, sub: str) -> Person | None:
    """The person ``client`` knows as ``sub``, or None."""
    if not isinstance(sub, str) or not 0 < len(sub) <= 64:
        return None
    metadata = client.client_metadata or {}
    if metadata.get("subject_type") == "public":
        return session.get(Person, sub)
    return session.scalar(
        select(Person)
        .join(PairwiseSubject, PairwiseSubject.person_id == Person.id)
        .where(
            PairwiseSubject.sector == sector_of(metadata, client.client_id),
            PairwiseSubject.sub == sub,
        )
    )  # one query: the index row and the person

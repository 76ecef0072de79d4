"""The index from a service's ``sub`` back to the person (OIDC Core 8.1 pairwise subjects are
one-way HMACs): recorded when a service is given a ``sub`` at an authorization, read when the
service names a child to the consent API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Prebuilt, Write, insert_or_skip, insert_together
from federation.models import Person
from idp.oidc.models import Client, PairwiseSubject
from idp.oidc.subject import sector_of, subject_for

# Built once per dialect: on every authorization, building the statement cost more than the
# round trip.
REMEMBER = {
    dialect: Prebuilt(statement, "pairwise", ("sector", "sub", "person_id"))
    for dialect, statement in insert_or_skip(PairwiseSubject).items()
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
    insert_together(session, remembering(session, person_id, client, secret))


def remembering(session: Session, person_id: str, client: Client, secret: bytes) -> Write | None:
    """remember's prebuilt INSERT and values, to run with another (core.db.insert_together);
    None where the client sees the public ``sub``."""
    values = _values(person_id, client, secret)
    if values is None:
        return None
    return REMEMBER[session.get_bind().dialect.name].row(values)


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

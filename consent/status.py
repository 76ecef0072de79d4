"""Each consent record's state as its events last left it (consent.models.ConsentStatus), kept
in the transaction of every event, so that administrators' lists filter and page on states
without folding every record's events (CONSENT.md: the state is derived from the events; this
is that derivation, stored).

Two endings need no event: a given consent's expiry, read against ``valid_until`` when a list
asks (:func:`state_is`), and a purpose's end (withdrawn, or a version demanding re-consent),
which rewrites the rows of the purpose's open records at once (:func:`end_by_purpose`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, or_, update
from sqlalchemy.orm import Session

from consent.models import ConsentRecord, ConsentStatus, Purpose
from consent.states import Derived

OPEN = ("requested", "partially_approved", "given", "recorded")
STATES = (*OPEN, "refused", "withdrawn", "expired", "invalidated")
BATCH = 500


def values(
    record: ConsentRecord, purpose: Purpose, derived: Derived, *, events: int, changed_at
) -> dict:
    """The status row of ``record`` with its ``derived`` state."""
    return {
        "record_id": record.id,
        "city": record.city,
        "child_id": record.child_id,
        "purpose_id": record.purpose_id,
        "purpose_version": record.purpose_version,
        "source_client_id": purpose.source_client_id,
        "recipient_client_id": purpose.recipient_client_id,
        "created_at": record.created_at,
        "state": derived.state,
        "given_at": derived.given_at,
        "valid_until": derived.valid_until,
        "ended_at": derived.ended_at,
        "reason": derived.reason,
        "changed_at": changed_at,
        "events": events,
    }


def store(session: Session, row: dict) -> None:
    """Insert or rewrite one record's status row (the caller holds the child's lock)."""
    existing = session.get(ConsentStatus, row["record_id"])
    if existing is None:
        session.add(ConsentStatus(**row))
        return
    for name, value in row.items():
        setattr(existing, name, value)


def refresh(session: Session, record: ConsentRecord, derived: Derived, purpose: Purpose) -> None:
    """Store ``record``'s status after an event was appended to it (consent.records): its
    events are the steps of ``derived``'s history that have one, read already."""
    events = [step.at for step in derived.history if step.event_id is not None]
    store(session, values(record, purpose, derived, events=len(events), changed_at=max(events)))


def end_by_purpose(
    session: Session, purpose_id: str, at: datetime, reason: str, below_version: int | None = None
) -> int:
    """The purpose ended its open records (of versions below ``below_version``) at ``at``: a
    given consent that had expired by then is expired, every other open one invalidated
    (consent.states: expiry comes first). Returns the rows rewritten."""
    expired = and_(ConsentStatus.state == "given", ConsentStatus.valid_until <= at)
    query = update(ConsentStatus).where(
        ConsentStatus.purpose_id == purpose_id, ConsentStatus.state.in_(OPEN)
    )
    if below_version is not None:
        query = query.where(ConsentStatus.purpose_version < below_version)
    return session.execute(
        query.values(
            state=case((expired, "expired"), else_="invalidated"),
            ended_at=case((expired, ConsentStatus.valid_until), else_=at),
            reason=case((expired, "validity"), else_=reason),
        ).execution_options(synchronize_session=False)
    ).rowcount


Group = tuple[str, ColumnElement[bool] | None]


def state_groups(states: Iterable[str], now: datetime) -> list[Group]:
    """The stored states that read as one of ``states`` at ``now``, each with the condition a
    row in it must also meet (or None): a stored "given" whose validity has passed reads as
    expired. One index range per stored state (consent.search reads them newest first)."""
    wanted = set(states)
    lapsed = and_(ConsentStatus.valid_until.is_not(None), ConsentStatus.valid_until <= now)
    groups: list[Group] = [
        (state, None) for state in STATES if state in wanted and state not in ("given", "expired")
    ]
    if "expired" in wanted:
        groups.append(("expired", None))
    if "given" in wanted:
        groups.append(("given", None if "expired" in wanted else ~lapsed))
    elif "expired" in wanted:
        groups.append(("given", lapsed))
    return groups


def state_is(states: Iterable[str], now: datetime) -> ColumnElement[bool]:
    """A WHERE clause: the record's state at ``now`` is one of ``states``."""
    clauses = [
        ConsentStatus.state == state if condition is None
        else and_(ConsentStatus.state == state, condition)
        for state, condition in state_groups(states, now)
    ]  # fmt: skip
    return or_(*clauses) if clauses else ConsentStatus.state.in_([])


def state_now(row: ConsentStatus, now: datetime) -> tuple[str, datetime | None, str | None]:
    """The state, when it ended and why, of a stored row (or a row of its columns) read at
    ``now``."""
    if row.state == "given" and row.valid_until is not None and row.valid_until <= now:
        return "expired", row.valid_until, "validity"
    return row.state, row.ended_at, row.reason

"""A consent record as JSON, with its full history: what `digione consent show --json` prints
and GET /admin/api/consents/<id> returns. Identifiers only (the child's internal person id and
learner id, the actors' ids), never a name.

Also the export of every record of a city, one row at a time (`digione consent export`, the
console's export), read from the records' stored states.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from consent import purposes, records, status
from consent.models import ConsentEvent, ConsentRecord, ConsentStatus, Purpose
from consent.states import Derived, Step, derive
from core.db import utcnow
from federation.models import Person

EXPORT_FIELDS = (
    "record_id", "purpose_id", "purpose_version", "child_id", "learner_id", "city",
    "requested_by", "created_at", "state", "reason", "given_at", "valid_until", "ended_at",
    "events",
)  # fmt: skip
BATCH = 500


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _step(step: Step, raw: ConsentEvent | None) -> dict:
    """One line of the history; a derived step (expiry, the purpose's end) has no raw event."""
    return {
        "at": _iso(step.at),
        "kind": step.kind,
        "actor_type": raw.actor_type if raw is not None else "system",
        "actor_id": step.actor_id if step.actor_id is not None else "broker",
        "method": raw.method if raw is not None else "system",
        "acr": raw.acr if raw is not None else None,
        "reason": step.reason,
        "deciders": raw.deciders if raw is not None else None,
        "purpose_version": raw.purpose_version if raw is not None else None,
        "state": step.state,
        "counted": step.counted,
        "event_id": step.event_id,
    }


def _state(derived: Derived) -> dict:
    return {
        "state": derived.state,
        "reason": derived.reason,
        "given_at": _iso(derived.given_at),
        "valid_until": _iso(derived.valid_until),
        "ended_at": _iso(derived.ended_at),
    }


def record_to_dict(session: Session, record: ConsentRecord, now: datetime | None = None) -> dict:
    """The record, its state now and its history (every event, and derived endings)."""
    current = records.view(session, record, now)
    raw = {row.id: row for row in records.events(session, record.id)}
    child = session.get(Person, record.child_id)
    derived = current.derived
    return {
        "id": record.id,
        "purpose": {
            "id": record.purpose_id,
            "version": record.purpose_version,
            "lawful_basis": current.purpose.lawful_basis,
            "notice_hash": current.purpose.notice_hash,
        },
        "child": {"id": record.child_id, "learner_id": child.learner_id if child else None},
        "city": record.city,
        "requested_by": record.requested_by,
        "created_at": _iso(record.created_at),
        **_state(derived),
        "history": [_step(step, raw.get(step.event_id)) for step in derived.history],
    }


def _batch(session: Session, batch: list[ConsentRecord], now: datetime, cache: dict):
    """Each record of a batch with its purpose version, derived state and events: their
    events in one query, purposes cached."""
    ids = [record.id for record in batch]
    by_record: dict[str, list] = {record_id: [] for record_id in ids}
    for row in session.scalars(
        select(ConsentEvent).where(ConsentEvent.record_id.in_(ids)).order_by(ConsentEvent.id)
    ):
        by_record[row.record_id].append(records.to_event(row))
        session.expunge(row)  # memory stays flat however many records the city has
    for record in batch:
        key = (record.purpose_id, record.purpose_version)
        if key not in cache:
            purpose = session.get(Purpose, key)
            cache[key] = (purpose, purposes.validity_of(purpose), purposes.end_of(session, purpose))
        purpose, validity, end = cache[key]
        events = by_record[record.id]
        yield record, purpose, derive(events, validity=validity, now=now, purpose_end=end), events


def _batches(session: Session, query) -> Iterator[list[ConsentRecord]]:
    """The records of ``query``, oldest first, in batches (a server-side cursor on
    PostgreSQL); each batch leaves the session once read."""
    query = query.order_by(ConsentRecord.created_at, ConsentRecord.id).execution_options(
        yield_per=BATCH
    )
    for partition in session.scalars(query).partitions():
        batch = list(partition)
        yield batch
        for record in batch:
            session.expunge(record)


def rebuild_status(session: Session, now: datetime | None = None) -> int:
    """Rewrite every record's status row (consent.status) from its events; returns how many.
    For a database whose rows were written without them (an upgrade, a restore)."""
    now, cache, count = now or utcnow(), {}, 0
    for batch in _batches(session, select(ConsentRecord)):
        rows = [
            status.values(
                record,
                purpose,
                derived,
                events=len(events),
                changed_at=max((event.at for event in events), default=record.created_at),
            )
            for record, purpose, derived, events in _batch(session, batch, now, cache)
        ]
        ids = [row["record_id"] for row in rows]
        session.execute(delete(ConsentStatus).where(ConsentStatus.record_id.in_(ids)))
        session.execute(insert(ConsentStatus), rows)
        count += len(rows)
    return count


def export_rows(session: Session, city: str, now: datetime | None = None) -> Iterator[dict]:
    """Every record of ``city`` with its state now and its number of events, oldest first.
    Read from the stored states (consent.status: one row per record, kept with every event)
    through a server-side cursor on PostgreSQL, so that neither time per row nor memory grows
    with the records' histories."""
    now = now or utcnow()
    query = (
        select(*ConsentStatus.__table__.c, ConsentRecord.requested_by, Person.learner_id)
        .join(ConsentRecord, ConsentRecord.id == ConsentStatus.record_id)
        .outerjoin(Person, Person.id == ConsentStatus.child_id)
        .where(ConsentStatus.city == city)
        .order_by(ConsentStatus.created_at, ConsentStatus.record_id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        state, ended_at, reason = status.state_now(row, now)
        yield {
            "record_id": row.record_id,
            "purpose_id": row.purpose_id,
            "purpose_version": row.purpose_version,
            "child_id": row.child_id,
            "learner_id": row.learner_id,
            "city": row.city,
            "requested_by": row.requested_by,
            "created_at": _iso(row.created_at),
            "state": state,
            "reason": reason,
            "given_at": _iso(row.given_at),
            "valid_until": _iso(row.valid_until),
            "ended_at": _iso(ended_at),
            "events": row.events,
        }


def still_open(session: Session, purpose_id: str, below_version: int | None = None) -> int:
    """How many records of a purpose (of its versions below ``below_version``) are not ended
    now: requested, partially approved, given or recorded. Publishing a version that demands
    re-consent, or withdrawing the purpose, ends them. Counted on the stored states
    (consent.status), so that it costs an index range, not a fold of every record's events."""
    query = (
        select(func.count())
        .select_from(ConsentStatus)
        .where(ConsentStatus.purpose_id == purpose_id, status.state_is(status.OPEN, utcnow()))
    )
    if below_version is not None:
        query = query.where(ConsentStatus.purpose_version < below_version)
    return session.scalar(query) or 0

"""Consent records: asking, answering, re-evaluating after a custody change, and finding the
consent a token exchange rests on (CONSENT.md).

Every change is a new ConsentEvent (and an audit entry); a record's state is always derived
by consent.states.derive. Operations on one child take a row lock on the child's Person first
(PostgreSQL; on SQLite the database's write lock, by a no-op write), so that the state an
answer is checked against is the state it is appended to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from consent import audit, purposes, status
from consent.ledger import entries
from consent.models import ConsentEvent, ConsentRecord, Purpose, new_id
from consent.notify import notifier
from consent.policy import CannotConsent, Child, Deciders, deciders, needs_consent
from consent.states import HELSINKI, TERMINAL, Derived, Event, derive
from core.db import db, utcnow
from federation.models import CityIdentity, Guardianship, Person


class ConsentError(Exception):
    """A request or answer that cannot be accepted. ``code`` names why (for the API and the
    pages): not_a_decider, closed, wrong_answer, purpose_withdrawn, cannot_consent."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class View:
    """A record with its purpose version and derived state."""

    record: ConsentRecord
    purpose: Purpose
    derived: Derived


def today() -> date:
    """Ages are counted in Finnish time."""
    return utcnow().astimezone(HELSINKI).date()


def child_of(session: Session, person: Person) -> Child:
    """The child as the policy sees it: birthdate, protection and current guardians."""
    guardians = session.scalars(
        select(Guardianship.guardian_id).where(
            Guardianship.child_id == person.id, Guardianship.ended_at.is_(None)
        )
    )
    return Child(person.id, person.birthdate, bool(person.protected), frozenset(guardians))


def deciders_to_json(who: Deciders) -> dict:
    return {"all_of": sorted(who.all_of), "any_of": sorted(who.any_of)}


def deciders_from_json(data: dict | None) -> Deciders | None:
    if not data:
        return None
    return Deciders(frozenset(data.get("all_of", [])), frozenset(data.get("any_of", [])))


def _lock_child(session: Session, child_id: str) -> Person:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks, and pysqlite begins a transaction only at the first write,
        # so two requests could both read "no open record" and both insert one. A no-op write
        # takes the database's write lock now (waiting out the busy timeout), so everything
        # read after it is what the new event is appended to.
        session.execute(text("UPDATE people SET protected = protected WHERE id = :id"),
                        {"id": child_id})  # fmt: skip
    person = session.get(Person, child_id, with_for_update=True, populate_existing=True)
    if person is None:
        raise ConsentError("unknown_child", "no such child")
    return person


def _city_of(session: Session, person: Person) -> str:
    return (
        session.scalar(
            select(CityIdentity.city)
            .where(CityIdentity.person_id == person.id)
            .order_by(CityIdentity.created_at)
        )
        or "-"
    )


def events(session: Session, record_id: str) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.record_id == record_id)
            .order_by(ConsentEvent.id)
        )
    )


def to_event(row: ConsentEvent) -> Event:
    return Event(
        row.id, row.kind, row.at, row.actor_id, deciders_from_json(row.deciders), row.reason
    )


def view(session: Session, record: ConsentRecord, now: datetime | None = None) -> View:
    every = purposes.versions(session, [record.purpose_id])[record.purpose_id]
    return _view(record, events(session, record.id), now or utcnow(), every)


def _view(
    record: ConsentRecord,
    rows: list[ConsentEvent],
    now: datetime,
    every: list[Purpose],
) -> View:
    """The record's state folded from its event ``rows``; ``every`` is each version of its
    purpose (what may end it)."""
    purpose = next(row for row in every if row.version == record.purpose_version)
    derived = derive(
        [to_event(row) for row in rows],
        validity=purposes.validity_of(purpose),
        now=now,
        purpose_end=purposes.end_in(purpose, every),
    )
    return View(record, purpose, derived)


def _append(session: Session, record: ConsentRecord, kind: str, **fields) -> View:
    """Append an event of ``kind`` to ``record`` with its audit entry, and store the state it
    leaves the record in (consent.status); returns the record's view after it."""
    values = {"record_id": record.id, "kind": kind, "at": utcnow(), **fields}
    row = ConsentEvent(**values, leaf=entries.append(session, "event", values))
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor_type=fields["actor_type"],
        actor_id=fields["actor_id"],
        action=f"consent.{kind}",
        channel=fields["method"],
        record_id=record.id,
        purpose_id=record.purpose_id,
        detail={"event": row.id, "reason": fields.get("reason")},
    )
    after = view(session, record)
    status.refresh(session, record, after.derived, after.purpose)
    return after


# A child's records with their events, in one query (prebuilt: the token exchange reads it on
# every request). Every record has at least its "requested" event; the outer join is a guard.
_TRAIL = (
    select(ConsentRecord, ConsentEvent)
    .outerjoin(ConsentEvent, ConsentEvent.record_id == ConsentRecord.id)
    .where(ConsentRecord.child_id == bindparam("child_id"))
    .order_by(ConsentRecord.created_at.desc(), ConsentRecord.id, ConsentEvent.id)
)
TRAIL = {None: _TRAIL, "one": _TRAIL.where(ConsentRecord.purpose_id == bindparam("purpose_id"))}


def records_of(
    session: Session,
    child_id: str,
    purpose_id: str | None = None,
    *,
    every: dict[str, list[Purpose]] | None = None,
) -> list[View]:
    """Every record of a child (of one purpose), newest first. ``every`` holds the versions
    of the purposes (consent.purposes.versions) when the caller has read them already."""
    params = {"child_id": child_id}
    if purpose_id is not None:
        params["purpose_id"] = purpose_id
    trail: dict[str, tuple[ConsentRecord, list[ConsentEvent]]] = {}
    for record, event in session.execute(TRAIL["one" if purpose_id else None], params):
        rows = trail.setdefault(record.id, (record, []))[1]
        if event is not None:
            rows.append(event)
    if not trail:
        return []
    wanted = {record.purpose_id for record, _rows in trail.values()}
    if every is None or not wanted <= every.keys():
        every = purposes.versions(session, wanted)
    now = utcnow()
    return [_view(record, rows, now, every[record.purpose_id]) for record, rows in trail.values()]


def request(
    session: Session, purpose: Purpose, child: Person, *, client_id: str, method: str = "api"
) -> tuple[View, bool]:
    """Ask the deciders for consent to ``purpose`` (its current version) for ``child``, or,
    under another lawful basis, record the sharing. Returns the open record for it if there
    is one already (created False). Raises ConsentError; flushes, the caller commits."""
    child = _lock_child(session, child.id)
    if purpose.withdrawn_at is not None:
        raise ConsentError("purpose_withdrawn", "the purpose has been withdrawn")
    policy = purposes.policy_of(purpose)
    subject = child_of(session, child)
    if subject.protected:
        _refused(session, purpose, child.id, client_id, method, "child_protected")
        raise ConsentError("cannot_consent", "this child's data is never shared")
    who = None
    if needs_consent(policy):
        try:
            who = deciders(policy, subject, today())
        except CannotConsent as exc:
            _refused(session, purpose, child.id, client_id, method, "no_decider")
            raise ConsentError("cannot_consent", str(exc)) from None
    for existing in records_of(session, child.id, purpose.purpose_id):
        if existing.record.purpose_version == purpose.version and (
            existing.derived.state not in TERMINAL
        ):
            return existing, False
    values = {
        "id": new_id(),
        "purpose_id": purpose.purpose_id,
        "purpose_version": purpose.version,
        "child_id": child.id,
        "city": _city_of(session, child),
        "requested_by": client_id,
        "created_at": utcnow(),
    }
    record = ConsentRecord(**values, leaf=entries.append(session, "record", values))
    session.add(record)
    session.flush()
    common = {"actor_type": "service", "actor_id": client_id, "method": method}
    if who is None:
        return _append(session, record, "recorded", reason=purpose.lawful_basis, **common), True
    after = _append(session, record, "requested", deciders=deciders_to_json(who), **common)
    notifier().consent_requested(record.id, sorted(who.everyone))
    return after, True


def _refused(session, purpose: Purpose, child_id: str, client_id: str, method: str, why: str):
    audit.append(
        session,
        actor_type="service",
        actor_id=client_id,
        action="consent.request_refused",
        channel=method,
        purpose_id=purpose.purpose_id,
        detail={"reason": why, "child": child_id},
    )


def answer(
    session: Session,
    record: ConsentRecord,
    person: Person,
    kind: str,
    *,
    method: str,
    acr: str | None,
    version_seen: int | None = None,
) -> View:
    """``person`` approves, refuses or withdraws. Checked against the state derived under the
    child's lock; raises ConsentError. ``version_seen``: the purpose version whose text the
    person was shown (a page posts it), which must be the record's. When nobody may decide
    any more (the child became protected, no guardian is left) the record is invalidated and
    ConsentError raised: the caller commits that too."""
    if kind not in ("approve", "refuse", "withdraw"):
        raise ConsentError("wrong_answer", "unknown answer")
    child = _lock_child(session, record.child_id)
    current = view(session, record)
    state = current.derived.state
    if state in TERMINAL or state == "recorded":
        raise ConsentError("closed", f"the consent is {state}")
    if version_seen is not None and version_seen != record.purpose_version:
        raise ConsentError("closed", "the purpose's text has changed; reload the page")
    subject = child_of(session, child)
    try:
        who = deciders(purposes.policy_of(current.purpose), subject, today())
    except CannotConsent as exc:  # the record is ended; the caller commits even on this error
        why = "child_protected" if subject.protected else "no_decider"
        _append(
            session, record, "invalidate", actor_type="system", actor_id="broker",
            method="system", reason=why,
        )  # fmt: skip
        raise ConsentError("cannot_consent", str(exc)) from None
    if person.id not in who.everyone:
        raise ConsentError("not_a_decider", "you do not decide on this consent")
    mine = current.derived.answers.get(person.id)
    if kind == "withdraw" and state != "given" and mine != "approve":
        raise ConsentError("wrong_answer", "there is nothing to withdraw")
    if kind != "withdraw" and (state == "given" or mine is not None):
        raise ConsentError("wrong_answer", "you have already answered")
    return _append(
        session,
        record,
        kind,
        actor_type="child" if person.id == record.child_id else "guardian",
        actor_id=person.id,
        method=method,
        acr=acr,
        deciders=deciders_to_json(who),
        purpose_version=record.purpose_version,
    )


def reevaluate(session: Session, child_id: str, reason: str) -> int:
    """After a custody change (or a change of protection): every open record of the child gets
    a ``custody`` event with today's deciders, or is invalidated when nobody may decide any
    more; the derivation then ends a given consent that lost the approvals it rested on.
    Returns how many records got an event. Flushes."""
    child = _lock_child(session, child_id)
    subject = child_of(session, child)
    touched = 0
    for current in records_of(session, child_id):
        if current.derived.state in TERMINAL:
            continue
        system = {"actor_type": "system", "actor_id": "broker", "method": "system"}
        if subject.protected:
            _append(session, current.record, "invalidate", reason="child_protected", **system)
            touched += 1
            continue
        if current.derived.state == "recorded":
            continue
        try:
            who = deciders(purposes.policy_of(current.purpose), subject, today())
        except CannotConsent:
            _append(session, current.record, "invalidate", reason="no_decider", **system)
            touched += 1
            continue
        if who != current.derived.deciders:
            _append(
                session, current.record, "custody", deciders=deciders_to_json(who),
                reason=reason, **system,
            )  # fmt: skip
            touched += 1
    return touched


def active_for(
    session: Session,
    child_id: str,
    purpose_id: str,
    *,
    every: dict[str, list[Purpose]] | None = None,
) -> View | None:
    """The record a token exchange for ``purpose_id`` may rest on: given (or recorded under
    another lawful basis) and not ended, newest first (``every``: as for records_of)."""
    for current in records_of(session, child_id, purpose_id, every=every):
        if current.derived.active:
            return current
    return None


def on_custody_changed(session: Session, child_ids: frozenset[str]) -> None:
    """federation.signals.custody_changed's receiver: the children's consents are
    re-evaluated in the sign-in's transaction (CONSENT.md)."""
    for child_id in sorted(child_ids):
        reevaluate(session, child_id, "custody_changed")


def token_consent_active(claims: dict) -> bool:
    """The OP's token check (idp.oidc.OidcState.register_token_check): whether the consent
    record a consent-bound token names is active now (True for tokens that name none)."""
    consent_id = claims.get("consent_id")
    if consent_id is None:
        return True
    if not isinstance(consent_id, str) or len(consent_id) > 36:
        return False
    record = db.session.get(ConsentRecord, consent_id)
    return record is not None and view(db.session, record).derived.active

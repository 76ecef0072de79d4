"""A consent record's state, derived from its append-only events (CONSENT.md).

Pure: no storage. Events are folded in their order of insertion, so however answers race
each other the same set of events always gives the same state. A terminal state (refused,
withdrawn, expired, invalidated) is final: later events are kept for the audit but change
nothing. Given stays given until a decider withdraws, a custody change leaves it without the
approvals it needs, it expires, or the purpose ends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from consent.policy import Deciders, outcome
from core.db import HELSINKI

State = Literal[
    "requested", "partially_approved", "given", "refused", "withdrawn", "expired",
    "invalidated", "recorded",
]  # fmt: skip
TERMINAL = frozenset({"refused", "withdrawn", "expired", "invalidated"})
ANSWERS = frozenset({"approve", "refuse", "withdraw"})
# The time zone in which "valid until <date>" ends (at the end of that day): core.db.HELSINKI.


@dataclass(frozen=True)
class Event:
    """The parts of a stored event (consent.models.ConsentEvent) the state depends on."""

    id: int
    kind: str  # requested, recorded, approve, refuse, withdraw, custody, invalidate
    at: datetime
    actor_id: str
    deciders: Deciders | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Validity:
    """How long a given consent lasts: ``days`` from when it was given, and/or ``until`` the
    end of a date (Helsinki time), whichever is earlier."""

    days: int | None = None
    until: date | None = None

    def ends(self, given_at: datetime) -> datetime | None:
        ends = []
        if self.days is not None:
            ends.append(given_at + timedelta(days=self.days))
        if self.until is not None:
            end_of_day = datetime.combine(self.until + timedelta(days=1), time(), HELSINKI)
            ends.append(end_of_day)
        return min(ends) if ends else None


@dataclass(frozen=True)
class PurposeEnd:
    """The purpose ended the record: withdrawn, or a newer version demands re-consent."""

    at: datetime
    reason: str  # purpose_withdrawn | purpose_new_version


@dataclass
class Step:
    """One line of a record's history: an event or a derived change (expiry, purpose end),
    with the state after it."""

    at: datetime
    kind: str
    actor_id: str | None
    state: State
    reason: str | None = None
    event_id: int | None = None
    counted: bool = True  # False: it came after the record had ended and changed nothing


@dataclass
class Derived:
    state: State
    answers: dict[str, str] = field(default_factory=dict)
    deciders: Deciders | None = None
    given_at: datetime | None = None
    valid_until: datetime | None = None
    ended_at: datetime | None = None
    reason: str | None = None
    history: list[Step] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Data may move on this record now."""
        return self.state in ("given", "recorded")

    def approved_by(self) -> set[str]:
        return {person for person, answer in self.answers.items() if answer == "approve"}


def _progress(deciders: Deciders, answers: dict[str, str]) -> State:
    result = outcome(deciders, answers)
    return "requested" if result == "pending" else result


def _apply(derived: Derived, event: Event) -> None:
    state = derived.state
    if event.kind == "requested":
        derived.deciders = event.deciders
        return
    if event.kind == "recorded":
        derived.state, derived.given_at = "recorded", event.at
        return
    if event.kind == "invalidate":
        derived.state, derived.reason, derived.ended_at = "invalidated", event.reason, event.at
        return
    if event.kind == "custody":
        _custody(derived, event)
        return
    if event.kind not in ANSWERS:
        return
    if event.deciders is not None:
        derived.deciders = event.deciders
    deciders = derived.deciders
    if deciders is None or event.actor_id not in deciders.everyone:
        return
    derived.answers[event.actor_id] = event.kind
    if state == "given":
        if event.kind in ("withdraw", "refuse"):  # refusing what was given withdraws it
            derived.state, derived.ended_at = "withdrawn", event.at
        return
    now = _progress(deciders, derived.answers)
    derived.state = now
    if now == "given":
        derived.given_at = event.at
    elif now in TERMINAL:
        derived.ended_at = event.at


def _custody(derived: Derived, event: Event) -> None:
    """The deciders changed. A given consent that rested on a departed decider's approval is
    re-evaluated among the deciders who remain (a newly arrived guardian does not undo it, but
    may withdraw it); an open request simply continues with the new deciders."""
    old, new = derived.deciders, event.deciders
    if new is None or derived.state == "recorded":
        return
    derived.deciders = new
    if derived.state != "given" or old is None:
        derived.state = _progress(new, derived.answers)
        if derived.state == "given":
            derived.given_at = event.at
        return
    departed = old.everyone - new.everyone
    if not departed & derived.approved_by():
        return
    kept = Deciders(new.all_of & old.everyone, new.any_of & old.everyone)
    if not kept.everyone or _progress(kept, derived.answers) != "given":
        derived.state, derived.reason, derived.ended_at = "invalidated", event.reason, event.at


def derive(
    events: list[Event],
    *,
    validity: Validity,
    now: datetime,
    purpose_end: PurposeEnd | None = None,
) -> Derived:
    """The record's state at ``now`` and its history, from its events (any order given)."""
    derived = Derived(state="requested")
    for event in sorted(events, key=lambda e: e.id):
        _end_before(derived, event.at, purpose_end)
        if derived.state in TERMINAL:
            derived.history.append(_step(event, derived, counted=False))
            continue
        before = derived.state
        _apply(derived, event)
        if derived.state == "given" and before != "given":
            derived.valid_until = validity.ends(derived.given_at)
        derived.history.append(_step(event, derived))
    _end_before(derived, now, purpose_end, inclusive=True)
    return derived


def _end_before(
    derived: Derived, moment: datetime, end: PurposeEnd | None, *, inclusive: bool = False
) -> None:
    """Apply what ended the record by itself before ``moment``: expiry, then the purpose."""

    def passed(at: datetime) -> bool:
        return at < moment or (inclusive and at == moment)

    if derived.state == "given" and derived.valid_until is not None and passed(derived.valid_until):
        _expire(derived)
    if end is not None and derived.state not in TERMINAL and passed(end.at):
        _end_by_purpose(derived, end)


def _expire(derived: Derived) -> None:
    derived.state, derived.ended_at, derived.reason = "expired", derived.valid_until, "validity"
    derived.history.append(Step(derived.valid_until, "expired", None, "expired", "validity"))


def _end_by_purpose(derived: Derived, end: PurposeEnd) -> None:
    derived.state, derived.ended_at, derived.reason = "invalidated", end.at, end.reason
    derived.history.append(Step(end.at, "invalidated", None, "invalidated", end.reason))


def _step(event: Event, derived: Derived, *, counted: bool = True) -> Step:
    return Step(
        event.at,
        event.kind,
        event.actor_id,
        derived.state,
        event.reason,
        event_id=event.id,
        counted=counted,
    )

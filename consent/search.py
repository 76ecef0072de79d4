"""Administrators' lists of consent records: filters, keyset pages and what a row shows (the
admin API's GET /admin/api/consents and the console). Read from each record's stored status
(consent.status) within an administrator's scope (consent.scope), newest first.

Filters: ``state`` (one or more, comma-separated), ``purpose``, ``service`` (the recipient
client), ``source`` (the source system's client), ``school`` (a school code the child has a
role at), ``from`` and ``to`` (the day the record was made, Finnish time, both included),
``learner_id``, and ``name`` (the start of the child's given or family name, or both as
"given family"). A page ends with an opaque cursor for the next one: (created_at, record id)
of its last row, so a page costs the same however deep it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, String, and_, any_, bindparam, func, or_, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from consent import status
from consent.models import ConsentStatus
from consent.scope import Scope
from consent.states import HELSINKI
from federation.models import CityIdentity, Person, RoleAssignment

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
NAMES = ("state", "purpose", "service", "source", "school", "from", "to", "learner_id", "name")
TEXT = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # identifiers: purpose and client ids
SCHOOL = re.compile(r"[0-9]{5}")
LEARNER = re.compile(r"[A-Za-z0-9._-]{1,32}")
NEWEST = (ConsentStatus.created_at.desc(), ConsentStatus.record_id.desc())


class FilterError(ValueError):
    """A filter that cannot be read; the message names it."""


@dataclass(frozen=True)
class Filters:
    states: tuple[str, ...] = ()
    purpose: str | None = None
    service: str | None = None
    source: str | None = None
    school: str | None = None
    since: date | None = None
    until: date | None = None
    learner_id: str | None = None
    name: str | None = None

    def used(self) -> list[str]:
        """The names of the filters given (for the audit entry: never their values, a name
        is personal data)."""
        given = {
            "state": self.states, "purpose": self.purpose, "service": self.service,
            "source": self.source, "school": self.school, "from": self.since, "to": self.until,
            "learner_id": self.learner_id, "name": self.name,
        }  # fmt: skip
        return [name for name, value in given.items() if value]


@dataclass
class Page:
    rows: list[dict] = field(default_factory=list)
    next: str | None = None  # the cursor of the next page, None on the last


def _match(args: Mapping[str, str], name: str, pattern: re.Pattern, what: str) -> str | None:
    value = args.get(name) or None
    if value is not None and not pattern.fullmatch(value):
        raise FilterError(f"{name}: must be {what}")
    return value


def _day(args: Mapping[str, str], name: str) -> date | None:
    value = args.get(name) or None
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: must be a date, YYYY-MM-DD") from None


def parse(args: Mapping[str, str]) -> Filters:
    """Filters from query parameters (absent or empty ones are not used); FilterError."""
    states = tuple(dict.fromkeys(part for part in (args.get("state") or "").split(",") if part))
    unknown = [state for state in states if state not in status.STATES]
    if unknown:
        raise FilterError(f"state: must be among {', '.join(status.STATES)}")
    name = " ".join((args.get("name") or "").split()) or None
    if name is not None and (len(name) > 100 or any(ord(c) < 32 for c in name)):
        raise FilterError("name: must be at most 100 characters")
    filters = Filters(
        states=states,
        purpose=_match(args, "purpose", TEXT, "a purpose id"),
        service=_match(args, "service", TEXT, "a client id"),
        source=_match(args, "source", TEXT, "a client id"),
        school=_match(args, "school", SCHOOL, "a five-digit school code"),
        since=_day(args, "from"),
        until=_day(args, "to"),
        learner_id=_match(args, "learner_id", LEARNER, "a learner id"),
        name=name,
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise FilterError("from: must not be after to")
    return filters


def limit_of(value: str | None) -> int:
    """The page size asked for: 1..MAX_LIMIT, DEFAULT_LIMIT when not given."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise FilterError(f"limit: must be 1..{MAX_LIMIT}")
    return int(value)


def encode_cursor(created_at: datetime, record_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), record_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str) -> tuple[datetime, str]:
    """The position a cursor names; FilterError for anything that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        at, record_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(record_id, str) or len(record_id) > 36:
            raise ValueError
        return moment, record_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise FilterError("cursor: not a cursor of this list; start from the first page") from None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), HELSINKI)


def _like(prefix: str) -> str:
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _named(name: str) -> ColumnElement[bool]:
    given, family = func.lower(Person.given_name), func.lower(Person.family_name)
    words = name.split(" ")
    either = or_(given.like(_like(name), escape="\\"), family.like(_like(name), escape="\\"))
    if len(words) < 2:
        return either
    first, rest = words[0], " ".join(words[1:])
    both = and_(given.like(_like(first), escape="\\"), family.like(_like(rest), escape="\\"))
    return or_(either, both)


def pupils_of(session: Session, school: str) -> list[str]:
    """The people with a role at ``school`` now: read first, from two indexes alone (a school's
    accounts, and each account's person), so that the records are then found by child. As one
    query with the records, PostgreSQL would walk every record and probe for its child."""
    return list(
        session.scalars(
            select(CityIdentity.person_id)
            .join(RoleAssignment, RoleAssignment.identity_id == CityIdentity.id)
            .where(RoleAssignment.school_code == school)
            .distinct()
        )
    )


def _among(column, values: list[str], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (hundreds): on PostgreSQL one array parameter, = ANY,
    rather than a parameter each, which costs more to send than the search."""
    if dialect == "postgresql":
        return column == any_(bindparam("pupils", values, type_=postgresql.ARRAY(String)))
    return column.in_(values)


def where(
    filters: Filters, now: datetime, pupils: list[str] | None = None, dialect: str = ""
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` on ConsentStatus (joined to the child's Person), but
    the states, which page reads one index range each (_by_state); ``pupils``: the people of
    the school filter (pupils_of); ``dialect`` the database's."""
    row = ConsentStatus
    clauses: list[ColumnElement[bool]] = []
    for column, value in (
        (row.purpose_id, filters.purpose),
        (row.recipient_client_id, filters.service),
        (row.source_client_id, filters.source),
        (Person.learner_id, filters.learner_id),
    ):
        if value is not None:
            clauses.append(column == value)
    if filters.since is not None:
        clauses.append(row.created_at >= _start_of(filters.since))
    if filters.until is not None:
        clauses.append(row.created_at < _start_of(filters.until + timedelta(days=1)))
    if pupils is not None:
        clauses.append(_among(row.child_id, pupils, dialect))
    if filters.name is not None:
        clauses.append(_named(filters.name))
    return clauses


def page(
    session: Session,
    scope: Scope,
    filters: Filters,
    *,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """One page of the records ``scope`` sees that match ``filters``, newest first."""
    pupils = pupils_of(session, filters.school) if filters.school is not None else None
    query = (
        select(ConsentStatus, Person.learner_id)
        .join(Person, Person.id == ConsentStatus.child_id)
        .where(scope.records(session, ConsentStatus.city, ConsentStatus.child_id))
        .where(*where(filters, now, pupils, session.get_bind().dialect.name))
    )
    if cursor is not None:
        at, record_id = decode_cursor(cursor)
        # (created_at, id) < the cursor's, with a bound on created_at an index range can use
        query = query.where(
            ConsentStatus.created_at <= at,
            or_(ConsentStatus.created_at < at, ConsentStatus.record_id < record_id),
        )
    if filters.states:
        query = _by_state(query, status.state_groups(filters.states, now), limit + 1)
    else:
        query = query.order_by(*NEWEST).limit(limit + 1)
    found = session.execute(query).all()
    rows = [to_dict(row, learner_id, now) for row, learner_id in found[:limit]]
    result = Page(rows)
    if len(found) > limit:
        last = found[limit - 1][0]
        result.next = encode_cursor(last.created_at, last.record_id)
    return result


def _by_state(query, groups: list, size: int):
    """``query`` for the rows in ``groups`` (consent.status.state_groups), newest first: each
    stored state read on its own down its index (city or every city, state, created_at), then
    the few rows merged. One OR over the states would walk the newest records of every state
    to find a rare one."""
    members = []
    for state, condition in groups:
        member = query.where(ConsentStatus.state == state)
        if condition is not None:
            member = member.where(condition)
        members.append(member.order_by(*NEWEST).limit(size))
    if len(members) == 1:
        return members[0]
    merged = union_all(*(select(member.subquery()) for member in members)).subquery()
    row = aliased(ConsentStatus, merged)
    return (
        select(row, merged.c.learner_id)
        .order_by(row.created_at.desc(), row.record_id.desc())
        .limit(size)
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def to_dict(row: ConsentStatus, learner_id: str | None, now: datetime) -> dict:
    """A list row: identifiers and the state now, never a name."""
    state, ended_at, reason = status.state_now(row, now)
    return {
        "id": row.record_id,
        "purpose": {"id": row.purpose_id, "version": row.purpose_version},
        "child": {"id": row.child_id, "learner_id": learner_id},
        "city": row.city,
        "source": row.source_client_id,
        "recipient": row.recipient_client_id,
        "created_at": _iso(row.created_at),
        "state": state,
        "given_at": _iso(row.given_at),
        "valid_until": _iso(row.valid_until),
        "ended_at": _iso(ended_at),
        "reason": reason,
        "changed_at": _iso(row.changed_at),
        "events": row.events,
    }

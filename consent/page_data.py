"""What the guardian's consent pages show (CONSENT.md): who may see a record, the
records of each child and of the person themself, grouped into pending, active and ended, with
the deciders' answers and a readable history. No writes; consent.pages renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_date, format_datetime
from flask_babel import get_locale, lazy_gettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent import access_log, records
from consent.records import View
from consent.states import HELSINKI, TERMINAL
from federation.models import Guardianship, Person
from idp.oidc import client_name
from idp.oidc.models import Client

PENDING = ("requested", "partially_approved")
ACTIVE = ("given", "recorded")
LAWFUL_BASES = {
    "consent": lazy_gettext("Consent (GDPR article 6(1)(a))"),
    "contract": lazy_gettext("Contract (GDPR article 6(1)(b))"),
    "legal_obligation": lazy_gettext("Legal obligation (GDPR article 6(1)(c))"),
    "vital_interests": lazy_gettext("Vital interests (GDPR article 6(1)(d))"),
    "public_task": lazy_gettext("Public task (GDPR article 6(1)(e))"),
    "legitimate_interests": lazy_gettext("Legitimate interests (GDPR article 6(1)(f))"),
}
STATES = {
    "requested": lazy_gettext("Waiting for answers"),
    "partially_approved": lazy_gettext("Partly approved: waiting for the other answers"),
    "given": lazy_gettext("Consent given"),
    "recorded": lazy_gettext("Shared under another lawful basis: nobody is asked"),
    "refused": lazy_gettext("Refused"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "expired": lazy_gettext("Expired"),
    "invalidated": lazy_gettext("Ended by DigiOne"),
}
STEPS = {
    "requested": lazy_gettext("Request for consent"),
    "recorded": lazy_gettext("Sharing recorded (nobody is asked)"),
    "approve": lazy_gettext("Approval"),
    "refuse": lazy_gettext("Refusal"),
    "withdraw": lazy_gettext("Withdrawal"),
    "custody": lazy_gettext("Change in who decides"),
    "invalidate": lazy_gettext("Consent ended"),
    "invalidated": lazy_gettext("Consent ended"),
    "expired": lazy_gettext("Consent expired"),
}
REASONS = {
    "custody_changed": lazy_gettext("custody changed"),
    "purpose_withdrawn": lazy_gettext("the purpose was withdrawn"),
    "purpose_new_version": lazy_gettext("the purpose has a new version that needs a new consent"),
    "child_protected": lazy_gettext("protected identity (non-disclosure for personal safety)"),
    "validity": lazy_gettext("its period of validity ended"),
    "no_decider": lazy_gettext("nobody may decide on it any more"),
    "cannot_consent": lazy_gettext("nobody may decide on it any more"),
}
ANSWERS = {
    None: lazy_gettext("not answered yet"),
    "approve": lazy_gettext("approved"),
    "refuse": lazy_gettext("refused"),
    "withdraw": lazy_gettext("withdrew"),
}


@dataclass
class Answer:
    """One decider and their answer so far (the other guardian's status)."""

    who: str
    answer: str | None
    status: str
    me: bool


@dataclass
class Line:
    """One step of a record's history, in words."""

    at: datetime
    who: str
    what: str
    why: str | None
    counted: bool


@dataclass
class Card:
    """One record as the page shows it."""

    view: View
    service: str
    source: str
    state: str
    answers: list[Answer]
    history: list[Line]
    can_answer: bool
    can_withdraw: bool

    @property
    def id(self) -> str:
        return self.view.record.id


@dataclass
class Section:
    """A child of the signed-in person, or the person themself (``me``)."""

    person: Person
    me: bool
    pending: list[Card] = field(default_factory=list)
    active: list[Card] = field(default_factory=list)
    ended: list[Card] = field(default_factory=list)
    reads: list[access_log.Read] = field(default_factory=list)  # administrators' reads

    @property
    def cards(self) -> list[Card]:
        return [*self.pending, *self.active, *self.ended]

    @property
    def empty(self) -> bool:
        return not (self.pending or self.active or self.ended)


def locale() -> str:
    return str(get_locale() or "fi")


def when(moment: datetime | None) -> str:
    """A time in Finnish time, in the page's language."""
    if moment is None:
        return ""
    return format_datetime(moment, "short", tzinfo=HELSINKI, locale=locale())


def day(moment) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(HELSINKI).date()
    return format_date(moment, "long", locale=locale())


def validity_text(card: Card) -> str:
    """How long the consent lasts: its end once given, else the purpose's rule."""
    derived, purpose = card.view.derived, card.view.purpose
    if derived.valid_until is not None and card.state == "given":
        return _("Valid until %(date)s.", date=day(derived.valid_until))
    parts = []
    if purpose.validity_days:
        days = purpose.validity_days
        parts.append(
            _("Valid for one day from when it is given.")
            if days == 1
            else _("Valid for %(days)s days from when it is given.", days=days)
        )
    if purpose.valid_until:
        parts.append(_("Valid at the latest until %(date)s.", date=day(purpose.valid_until)))
    return " ".join(parts) or _("No end date.")


def current_guardian(session: Session, person_id: str, child_id: str) -> bool:
    return bool(
        session.scalar(
            select(Guardianship.id).where(
                Guardianship.guardian_id == person_id,
                Guardianship.child_id == child_id,
                Guardianship.ended_at.is_(None),
            )
        )
    )


def may_see(session: Session, person_id: str, current: View) -> bool:
    """The record's deciders see it (and act and get its receipt); a sharing under another
    lawful basis, which nobody decides, is shown to the child's current guardians
    (EDPB 05/2020 para 16). Nobody else: a departed guardian no longer does."""
    deciders = current.derived.deciders
    if deciders is not None and person_id in deciders.everyone:
        return True
    return deciders is None and current_guardian(session, person_id, current.record.child_id)


def _children(session: Session, person_id: str) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(Guardianship, Guardianship.child_id == Person.id)
            .where(Guardianship.guardian_id == person_id, Guardianship.ended_at.is_(None))
            .order_by(Person.given_name, Person.id)
        )
    )


def _family_names(session: Session, child_id: str) -> dict[str, str]:
    """First names of the child's guardians, past and present, by person id."""
    rows = session.execute(
        select(Person.id, Person.given_name)
        .join(Guardianship, Guardianship.guardian_id == Person.id)
        .where(Guardianship.child_id == child_id)
    )
    return {person_id: name for person_id, name in rows}


def _who(actor_type: str, actor_id: str | None, me: str, child_id: str, names: dict) -> str:
    if actor_id == me:
        return _("You")
    if actor_type == "child" or actor_id == child_id:
        return _("The pupil")
    if actor_type == "guardian":
        return names.get(actor_id) or _("A guardian")
    if actor_type == "service":
        return _("The service")
    if actor_type == "admin":
        return _("An administrator")
    return "DigiOne"


def _history(session: Session, current: View, me: str, names: dict) -> list[Line]:
    rows = {row.id: row for row in records.events(session, current.record.id)}
    child_id = current.record.child_id
    lines = []
    for step in current.derived.history:
        row = rows.get(step.event_id) if step.event_id is not None else None
        actor_type = row.actor_type if row is not None else "system"
        why = REASONS.get(step.reason or "") if step.kind != "recorded" else None
        lines.append(
            Line(
                at=step.at,
                who=_who(actor_type, step.actor_id, me, child_id, names),
                what=str(STEPS.get(step.kind, step.kind)),
                why=str(why) if why else None,
                counted=step.counted,
            )
        )
    return lines


def _answers(current: View, me: str, child_id: str, names: dict) -> list[Answer]:
    deciders = current.derived.deciders
    if deciders is None:
        return []
    people = sorted(deciders.everyone, key=lambda p: (p != me, p == child_id, names.get(p, "")))
    out = []
    for person_id in people:
        kind = "child" if person_id == child_id else "guardian"
        answer = current.derived.answers.get(person_id)
        who = _who(kind, person_id, me, child_id, names)
        out.append(Answer(who, answer, str(ANSWERS[answer]), person_id == me))
    return out


def _client_name(session: Session, client_id: str) -> str:
    client = session.get(Client, client_id)
    return client_name(client) if client is not None else client_id


def card(session: Session, current: View, me: str, names: dict | None = None) -> Card:
    """The page's view of one record for the person ``me``."""
    child_id = current.record.child_id
    names = names if names is not None else _family_names(session, child_id)
    derived = current.derived
    deciders = derived.deciders
    decides = deciders is not None and me in deciders.everyone
    mine = derived.answers.get(me)
    state = derived.state
    return Card(
        view=current,
        service=_client_name(session, current.purpose.recipient_client_id),
        source=_client_name(session, current.purpose.source_client_id),
        state=state,
        answers=_answers(current, me, child_id, names),
        history=_history(session, current, me, names),
        can_answer=decides and state in PENDING and mine is None,
        can_withdraw=decides
        and state not in TERMINAL
        and state != "recorded"
        and (state == "given" or mine == "approve"),
    )


def _section(session: Session, subject: Person, me: str, *, is_me: bool) -> Section:
    section = Section(subject, is_me)
    names = _family_names(session, subject.id)
    for current in records.records_of(session, subject.id):
        if not may_see(session, me, current):
            continue
        shown = card(session, current, me, names)
        if shown.state in PENDING:
            section.pending.append(shown)
        elif shown.state in ACTIVE:
            section.active.append(shown)
        else:
            section.ended.append(shown)
    shown_records = [shown.view.record for shown in section.cards]
    if shown_records:
        section.reads = access_log.reads(
            session,
            [record.id for record in shown_records],
            {record.city for record in shown_records},
            min(record.created_at for record in shown_records),
        )
    return section


def sections(session: Session, person: Person) -> list[Section]:
    """The person's own records where they decide (GDPR art. 8: a child old enough under the
    purpose's policy), then each of their children's."""
    out = []
    own = _section(session, person, person.id, is_me=True)
    if not own.empty:
        out.append(own)
    for child in _children(session, person.id):
        out.append(_section(session, child, person.id, is_me=False))
    return out

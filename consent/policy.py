"""Who may consent for a child, and whether their answers make a consent (CONSENT.md).

Pure rules, no storage: the Finnish Child Custody and Right of Access Act (361/1983) s. 5 (joint
custody decides together), GDPR art. 8 with the Data Protection Act (1050/2018) s. 5 (a child
of the configured age consents for themself), the protected-identity block (turvakielto) and
lawful bases other than consent (EDPB 05/2020 para 16), for :mod:`consent.states` to apply to
a record's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Who = Literal["all_guardians", "any_guardian"]
LawfulBasis = Literal[
    "consent", "legal_obligation", "public_task", "contract", "vital_interests",
    "legitimate_interests",
]  # fmt: skip
Outcome = Literal["pending", "partially_approved", "given", "refused", "withdrawn"]


@dataclass(frozen=True)
class Policy:
    """A purpose's rule of who decides."""

    lawful_basis: LawfulBasis = "consent"
    who: Who = "all_guardians"
    child_from_age: int | None = None  # the child decides from this age (13 for ISS, art. 8)
    child_alongside_guardians: bool = False  # from that age: the child and the guardians


@dataclass(frozen=True)
class Child:
    id: str
    birthdate: date | None
    protected: bool  # turvakielto: never shared with third parties
    guardians: frozenset[str]  # person ids of the current guardians


@dataclass(frozen=True)
class Deciders:
    """Whose answers count: every one of ``all_of`` and, if ``any_of`` is not empty, at least
    one of ``any_of``."""

    all_of: frozenset[str]
    any_of: frozenset[str]

    @property
    def everyone(self) -> frozenset[str]:
        return self.all_of | self.any_of


class CannotConsent(Exception):
    """Nobody may give this consent (the reason is the message)."""


def age_on(birthdate: date, day: date) -> int:
    return day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))


def needs_consent(policy: Policy) -> bool:
    """Purposes resting on another lawful basis ask nobody; the sharing is still recorded."""
    return policy.lawful_basis == "consent"


def deciders(policy: Policy, child: Child, today: date) -> Deciders:
    """Who decides for ``child`` today; raises CannotConsent."""
    if child.protected:
        raise CannotConsent("the child has a protected identity: never shared with third parties")
    if not needs_consent(policy):
        raise CannotConsent(f"the purpose rests on {policy.lawful_basis}, not on consent")
    old_enough = (
        policy.child_from_age is not None
        and child.birthdate is not None
        and age_on(child.birthdate, today) >= policy.child_from_age
    )
    if old_enough and not policy.child_alongside_guardians:
        return Deciders(frozenset({child.id}), frozenset())
    if not child.guardians:
        raise CannotConsent("the child has no registered guardian")
    parents = frozenset(child.guardians)
    self_part = frozenset({child.id}) if old_enough else frozenset()
    if policy.who == "any_guardian":
        return Deciders(self_part, parents)
    return Deciders(self_part | parents, frozenset())


def outcome(who: Deciders, answers: dict[str, str]) -> Outcome:
    """The consent the deciders' latest answers make. ``answers`` maps a person id to its
    latest answer, ``approve``, ``refuse`` or ``withdraw``; other people's answers do not
    count. One refusal of a required decider refuses; one withdrawal ends the consent
    (withdrawing is as easy as giving); every required approval (and one of the optional
    group) gives it."""
    counted = {person: answer for person, answer in answers.items() if person in who.everyone}
    if "withdraw" in counted.values():
        return "withdrawn"
    if any(counted.get(person) == "refuse" for person in who.all_of):
        return "refused"
    if who.any_of and all(counted.get(person) == "refuse" for person in who.any_of):
        return "refused"
    approved = {person for person, answer in counted.items() if answer == "approve"}
    if who.all_of <= approved and (not who.any_of or approved & who.any_of):
        return "given"
    return "partially_approved" if approved else "pending"

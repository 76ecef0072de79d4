"""A record's state derived from its events (consent.states): pure, no database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from consent.policy import Deciders
from consent.states import Event, PurposeEnd, Validity, derive

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
BOTH = Deciders(frozenset({"g1", "g2"}), frozenset())
ANY = Deciders(frozenset(), frozenset({"g1", "g2"}))
YEAR = Validity(days=365)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def events(*items: tuple[str, str], deciders: Deciders = BOTH) -> list[Event]:
    out = [Event(1, "requested", T0, "svc", deciders)]
    for number, (kind, actor) in enumerate(items, start=2):
        out.append(Event(number, kind, at(number), actor, deciders))
    return out


def state(evs: list[Event], now: datetime | None = None, **kwargs) -> str:
    return derive(evs, validity=kwargs.pop("validity", YEAR), now=now or at(100), **kwargs).state


def test_joint_custody_needs_both():
    assert state(events()) == "requested"
    assert state(events(("approve", "g1"))) == "partially_approved"
    assert state(events(("approve", "g1"), ("approve", "g2"))) == "given"


def test_any_guardian_needs_one():
    assert state(events(("approve", "g2"), deciders=ANY)) == "given"


def test_one_refusal_refuses_and_ends_the_record():
    assert state(events(("approve", "g1"), ("refuse", "g2"))) == "refused"
    assert state(events(("refuse", "g2"), ("approve", "g1"), ("approve", "g2"))) == "refused"


def test_one_withdrawal_ends_a_given_consent_and_nothing_revives_it():
    evs = events(("approve", "g1"), ("approve", "g2"), ("withdraw", "g1"), ("approve", "g1"))
    derived = derive(evs, validity=YEAR, now=at(100))
    assert derived.state == "withdrawn"
    assert derived.ended_at == at(4)
    assert [step.counted for step in derived.history] == [True, True, True, True, False]


def test_answers_of_others_do_not_count():
    assert state(events(("approve", "g1"), ("approve", "stranger"))) == "partially_approved"
    assert state(events(("withdraw", "stranger"), ("approve", "g1"), ("approve", "g2"))) == "given"


def test_the_same_events_give_the_same_state_in_any_order_given():
    evs = events(("approve", "g1"), ("withdraw", "g1"), ("approve", "g2"))
    expected = state(evs)
    for seed in range(10):
        shuffled = evs[:]
        random.Random(seed).shuffle(shuffled)
        assert state(shuffled) == expected == "withdrawn"


def test_a_given_consent_expires_after_its_validity():
    evs = events(("approve", "g1"), ("approve", "g2"))
    validity = Validity(days=30)
    assert state(evs, now=at(3) + timedelta(days=29), validity=validity) == "given"
    derived = derive(evs, validity=validity, now=at(3) + timedelta(days=30))
    assert derived.state == "expired" and derived.ended_at == at(3) + timedelta(days=30)
    assert derived.history[-1].kind == "expired"


def test_valid_until_a_date_ends_at_midnight_in_helsinki():
    ends = Validity(until=date(2027, 5, 31)).ends(T0)
    assert ends == datetime(2027, 5, 31, 21, 0, tzinfo=UTC)  # 00:00 EEST on 1 June
    assert Validity(days=10, until=date(2027, 5, 31)).ends(T0) == T0 + timedelta(days=10)
    assert Validity().ends(T0) is None


def test_an_answer_after_expiry_changes_nothing():
    evs = events(("approve", "g1"), ("approve", "g2"))
    evs.append(Event(9, "withdraw", at(3) + timedelta(days=40), "g1", BOTH))
    derived = derive(evs, validity=Validity(days=30), now=at(3) + timedelta(days=50))
    assert derived.state == "expired"
    assert derived.history[-1].counted is False


def test_the_purpose_ends_open_and_given_records():
    end = PurposeEnd(at(50), "purpose_withdrawn")
    given = events(("approve", "g1"), ("approve", "g2"))
    assert state(given, now=at(49), purpose_end=end) == "given"
    derived = derive(given, validity=YEAR, now=at(60), purpose_end=end)
    assert derived.state == "invalidated" and derived.reason == "purpose_withdrawn"
    late = events(("approve", "g1"))
    late.append(Event(9, "approve", at(55), "g2", BOTH))  # after the purpose ended
    assert state(late, now=at(60), purpose_end=end) == "invalidated"


def test_a_recorded_sharing_is_active_without_anyone_asked():
    derived = derive(
        [Event(1, "recorded", T0, "svc", reason="public_task")], validity=YEAR, now=at(5)
    )
    assert derived.state == "recorded" and derived.active


def custody(number: int, deciders: Deciders) -> Event:
    return Event(number, "custody", at(number), "broker", deciders, "custody_changed")


@pytest.mark.parametrize(
    ("policy", "after", "expected"),
    [
        # joint custody, both approved, g2 departs: g1's approval still carries it
        (BOTH, Deciders(frozenset({"g1"}), frozenset()), "given"),
        # any guardian, g2 alone approved and departs: nothing left to rest on
        (ANY, Deciders(frozenset(), frozenset({"g1"})), "invalidated"),
        # a new guardian arrives: the consent stands (the newcomer may withdraw it)
        (BOTH, Deciders(frozenset({"g1", "g2", "g3"}), frozenset()), "given"),
        # every guardian replaced
        (BOTH, Deciders(frozenset({"g3"}), frozenset()), "invalidated"),
    ],
)
def test_custody_changes_re_evaluate_a_given_consent(policy, after, expected):
    answers = [("approve", "g2")] if policy is ANY else [("approve", "g1"), ("approve", "g2")]
    evs = events(*answers, deciders=policy)
    evs.append(custody(9, after))
    derived = derive(evs, validity=YEAR, now=at(100))
    assert derived.state == expected
    if expected == "invalidated":
        assert derived.reason == "custody_changed"


def test_a_newcomer_may_withdraw_what_was_given_before_them():
    evs = events(("approve", "g1"), ("approve", "g2"))
    three = Deciders(frozenset({"g1", "g2", "g3"}), frozenset())
    evs += [custody(9, three), Event(10, "withdraw", at(10), "g3", three)]
    assert state(evs) == "withdrawn"


def test_an_open_request_continues_with_the_new_deciders():
    evs = events(("approve", "g1"))
    evs.append(custody(9, Deciders(frozenset({"g1"}), frozenset())))
    assert state(evs) == "given"  # g1 is now the only guardian, and approved
    evs = events(("approve", "g1"))
    evs.append(custody(9, Deciders(frozenset({"g1", "g2", "g3"}), frozenset())))
    evs.append(Event(10, "approve", at(10), "g2", None))
    assert state(evs) == "partially_approved"  # g3 has not answered

"""The rules of shared/design/CONSENT.md on who decides, one test each (pure, no database)."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from consent.policy import CannotConsent, Child, Policy, age_on, deciders, needs_consent, outcome

TODAY = date(2026, 11, 26)
PUPIL1 = Child("pupil1", date(2017, 3, 14), False, frozenset({"guardian1", "guardian2"}))
PUPIL2 = Child("pupil2", date(2011, 9, 2), False, frozenset({"guardian3"}))
JOINT = Policy()
ANY = Policy(who="any_guardian")
SELF_13 = Policy(child_from_age=13)


def _outcome(policy: Policy, child: Child, **answers: str) -> str:
    return outcome(deciders(policy, child, TODAY), answers)


def test_joint_custody_decides_together_361_1983_s5():
    assert _outcome(JOINT, PUPIL1) == "pending"
    assert _outcome(JOINT, PUPIL1, guardian1="approve") == "partially_approved"
    assert _outcome(JOINT, PUPIL1, guardian1="approve", guardian2="approve") == "given"


def test_joint_custody_one_refusal_refuses():
    assert _outcome(JOINT, PUPIL1, guardian1="approve", guardian2="refuse") == "refused"


def test_joint_custody_one_withdrawal_ends_it():
    assert _outcome(JOINT, PUPIL1, guardian1="withdraw", guardian2="approve") == "withdrawn"


def test_any_one_guardian_for_everyday_matters():
    assert _outcome(ANY, PUPIL1, guardian2="approve") == "given"
    assert _outcome(ANY, PUPIL1, guardian1="refuse", guardian2="approve") == "given"
    assert _outcome(ANY, PUPIL1, guardian1="refuse") == "pending"
    assert _outcome(ANY, PUPIL1, guardian1="refuse", guardian2="refuse") == "refused"
    assert _outcome(ANY, PUPIL1, guardian1="approve", guardian2="withdraw") == "withdrawn"


def test_a_child_of_the_configured_age_consents_for_themself_gdpr_art_8():
    assert deciders(SELF_13, PUPIL2, TODAY).everyone == {"pupil2"}
    assert _outcome(SELF_13, PUPIL2, pupil2="approve") == "given"
    assert _outcome(SELF_13, PUPIL2, guardian3="approve") == "pending"  # not the guardian's now


def test_a_younger_child_cannot_and_the_guardians_decide():
    assert deciders(SELF_13, PUPIL1, TODAY).everyone == {"guardian1", "guardian2"}
    assert _outcome(SELF_13, PUPIL1, pupil1="approve") == "pending"


def test_the_age_threshold_is_configuration_and_counts_from_the_birthday():
    child = Child("c", date(2013, 11, 27), False, frozenset({"g"}))
    assert age_on(child.birthdate, TODAY) == 12
    assert deciders(SELF_13, child, TODAY).everyone == {"g"}
    assert deciders(SELF_13, child, date(2026, 11, 27)).everyone == {"c"}
    assert deciders(Policy(child_from_age=15), PUPIL2, TODAY).everyone == {"pupil2"}
    assert deciders(Policy(child_from_age=16), PUPIL2, TODAY).everyone == {"guardian3"}


def test_the_child_alongside_the_guardians():
    policy = Policy(child_from_age=13, child_alongside_guardians=True)
    assert _outcome(policy, PUPIL2, pupil2="approve") == "partially_approved"
    assert _outcome(policy, PUPIL2, pupil2="approve", guardian3="approve") == "given"
    assert _outcome(policy, PUPIL2, pupil2="refuse", guardian3="approve") == "refused"


@pytest.mark.parametrize(
    ("who", "from_age", "alongside"),
    list(product(["all_guardians", "any_guardian"], [None, 13], [False, True])),
)
def test_a_protected_child_is_never_shared_under_any_policy(who, from_age, alongside):
    protected = Child("p", date(2011, 1, 1), True, frozenset({"g"}))
    policy = Policy(who=who, child_from_age=from_age, child_alongside_guardians=alongside)
    with pytest.raises(CannotConsent, match="protected identity"):
        deciders(policy, protected, TODAY)


@pytest.mark.parametrize("basis", ["legal_obligation", "public_task"])
def test_other_lawful_bases_ask_nobody(basis):
    policy = Policy(lawful_basis=basis)
    assert not needs_consent(policy)
    with pytest.raises(CannotConsent, match=basis):
        deciders(policy, PUPIL1, TODAY)


def test_a_child_without_guardians_cannot_be_consented_for():
    orphan = Child("o", date(2018, 1, 1), False, frozenset())
    with pytest.raises(CannotConsent, match="no registered guardian"):
        deciders(JOINT, orphan, TODAY)


def test_custody_change_re_evaluates_the_departed_guardians_approval():
    answers = {"guardian1": "approve", "guardian2": "approve"}
    assert outcome(deciders(JOINT, PUPIL1, TODAY), answers) == "given"
    changed = Child("pupil1", PUPIL1.birthdate, False, frozenset({"guardian1", "guardian4"}))
    assert outcome(deciders(JOINT, changed, TODAY), answers) == "partially_approved"


def test_answers_of_people_who_do_not_decide_do_not_count():
    assert _outcome(JOINT, PUPIL1, teacher1="withdraw", guardian1="approve",
                    guardian2="approve") == "given"  # fmt: skip
    assert _outcome(ANY, PUPIL1, stranger="approve") == "pending"

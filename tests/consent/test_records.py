"""Consent records against the database: asking, answering, custody changes (CONSENT.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from consent import purposes, records
from consent.models import AuditEntry, ConsentEvent, ConsentRecord
from consent.records import ConsentError
from core.db import db, utcnow
from federation.models import Guardianship
from tests.consent.conftest import ASSESSMENTS, READING, person


def ask(purpose_id: str, child, client_id: str = "demo-reading-app"):
    purpose = purposes.latest(db.session, purpose_id)
    current, _created = records.request(db.session, purpose, child, client_id=client_id)
    db.session.commit()
    return current.record


def answer(record, who, kind: str):
    current = records.answer(db.session, record, who, kind, method="page", acr="demo")
    db.session.commit()
    return current.derived.state


def test_both_guardians_must_approve(consent_app):
    with consent_app.app_context():
        pupil1 = person("espoo", "pupil1")
        g1, g2 = person("espoo", "guardian1"), person("espoo", "guardian2")
        record = ask(READING, pupil1)
        assert records.view(db.session, record).derived.state == "requested"
        assert answer(record, g1, "approve") == "partially_approved"
        assert answer(record, g2, "approve") == "given"
        found = records.active_for(db.session, pupil1.id, READING)
        assert found is not None and found.record.id == record.id
        assert found.derived.valid_until is not None
        assert answer(record, g1, "withdraw") == "withdrawn"
        assert records.active_for(db.session, pupil1.id, READING) is None


def test_one_refusal_refuses(consent_app):
    with consent_app.app_context():
        pupil1 = person("espoo", "pupil1")
        record = ask(READING, pupil1)
        assert answer(record, person("espoo", "guardian1"), "approve") == "partially_approved"
        assert answer(record, person("espoo", "guardian2"), "refuse") == "refused"
        with pytest.raises(ConsentError) as caught:
            answer(record, person("espoo", "guardian1"), "withdraw")
        assert caught.value.code == "closed"


def test_asking_again_returns_the_open_request(consent_app):
    with consent_app.app_context():
        pupil1 = person("espoo", "pupil1")
        purpose = purposes.latest(db.session, READING)
        first, created = records.request(db.session, purpose, pupil1, client_id="demo-reading-app")
        again, created_again = records.request(
            db.session, purpose, pupil1, client_id="demo-reading-app"
        )
        assert created and not created_again and first.record.id == again.record.id


def test_someone_else_cannot_answer(consent_app):
    with consent_app.app_context():
        record = ask(READING, person("espoo", "pupil1"))
        for outsider in (person("espoo", "guardian3"), person("espoo", "teacher1")):
            with pytest.raises(ConsentError) as caught:
                answer(record, outsider, "approve")
            assert caught.value.code == "not_a_decider"


def test_pupil2_at_15_consents_for_themself(consent_app):
    with consent_app.app_context():
        pupil2 = person("espoo", "pupil2")
        record = ask(ASSESSMENTS, pupil2, "demo-learning-service")
        with pytest.raises(ConsentError):
            answer(record, person("espoo", "guardian3"), "approve")  # not theirs to decide
        assert answer(record, pupil2, "approve") == "given"
        event = db.session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.record_id == record.id, ConsentEvent.kind == "approve"
            )
        ).one()
        assert event.actor_type == "child" and event.deciders["all_of"] == [pupil2.id]


def test_pupil1_at_9_cannot_consent_for_themself(consent_app):
    with consent_app.app_context():
        pupil1 = person("espoo", "pupil1")
        record = ask(ASSESSMENTS, pupil1, "demo-learning-service")
        with pytest.raises(ConsentError) as caught:
            answer(record, pupil1, "approve")
        assert caught.value.code == "not_a_decider"
        assert answer(record, person("espoo", "guardian1"), "approve") == "partially_approved"


@pytest.mark.parametrize("purpose_id", [READING, ASSESSMENTS])
def test_a_protected_child_is_never_shared(consent_app, purpose_id):
    with consent_app.app_context():
        pupil2 = person("espoo", "pupil2")
        pupil2.protected = True
        db.session.commit()
        purpose = purposes.latest(db.session, purpose_id)
        with pytest.raises(ConsentError) as caught:
            records.request(db.session, purpose, pupil2, client_id=purpose.recipient_client_id)
        assert caught.value.code == "cannot_consent"
        refused = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.request_refused")
        ).all()
        assert refused and refused[0].detail["reason"] == "child_protected"


def test_a_child_who_becomes_protected_loses_the_consent(consent_app):
    from federation.accounts import _reevaluate_consents

    with consent_app.app_context():
        pupil2 = person("espoo", "pupil2")
        record = ask(ASSESSMENTS, pupil2, "demo-learning-service")
        answer(record, pupil2, "approve")
        pupil2.protected = True
        _reevaluate_consents(db.session, {pupil2.id})
        db.session.commit()
        current = records.view(db.session, record).derived
        assert current.state == "invalidated" and current.reason == "child_protected"


def end_guardianship(child, guardian) -> None:
    from federation.accounts import _reevaluate_consents

    row = db.session.scalars(
        select(Guardianship).where(
            Guardianship.child_id == child.id, Guardianship.guardian_id == guardian.id
        )
    ).one()
    row.ended_at = utcnow()
    db.session.flush()
    _reevaluate_consents(db.session, {child.id})
    db.session.commit()


def test_custody_change_keeps_a_consent_the_remaining_guardian_gave(consent_app):
    with consent_app.app_context():
        pupil1, g1, g2 = (person("espoo", n) for n in ("pupil1", "guardian1", "guardian2"))
        record = ask(READING, pupil1)
        answer(record, g1, "approve")
        answer(record, g2, "approve")
        end_guardianship(pupil1, g2)
        derived = records.view(db.session, record).derived
        assert derived.state == "given"
        assert derived.deciders.everyone == {g1.id}
        assert [step.kind for step in derived.history][-1] == "custody"


def test_custody_change_invalidates_a_consent_resting_on_the_departed(consent_app):
    with consent_app.app_context():
        purpose = purposes.latest(db.session, READING)
        spec = purposes.parse(_spec_fields_only(purpose))
        purposes.new_version(db.session, spec, created_by="test")
        db.session.commit()
        pupil1, g1, g2 = (person("espoo", n) for n in ("pupil1", "guardian1", "guardian2"))
        record = ask(READING, pupil1)
        assert answer(record, g2, "approve") == "given"  # any one guardian
        end_guardianship(pupil1, g2)
        derived = records.view(db.session, record).derived
        assert derived.state == "invalidated" and derived.reason == "custody_changed"
        assert derived.deciders.everyone == {g1.id}  # the remaining guardian sees why


def _spec_fields_only(purpose) -> dict:
    data = purposes.to_dict(purpose)
    keep = set(purposes.PurposeSpec.model_fields)
    return {key: value for key, value in data.items() if key in keep} | {
        "policy": {"who": "any_guardian"},
        "requires_reconsent": True,
    }


def test_a_new_version_demanding_reconsent_ends_earlier_consents(consent_app):
    with consent_app.app_context():
        pupil1, g1, g2 = (person("espoo", n) for n in ("pupil1", "guardian1", "guardian2"))
        record = ask(READING, pupil1)
        answer(record, g1, "approve")
        answer(record, g2, "approve")
        purpose = purposes.latest(db.session, READING)
        purposes.new_version(
            db.session, purposes.parse(_spec_fields_only(purpose)), created_by="test"
        )
        db.session.commit()
        derived = records.view(db.session, record).derived
        assert derived.state == "invalidated" and derived.reason == "purpose_new_version"
        assert records.active_for(db.session, pupil1.id, READING) is None


def test_records_and_events_are_append_only_in_the_schema(consent_app):
    with consent_app.app_context():
        record = ask(READING, person("espoo", "pupil1"))
        for statement in (
            "UPDATE consent_events SET kind = 'approve'",
            "DELETE FROM consent_events",
            "UPDATE consent_records SET city = 'x'",
            "DELETE FROM audit_events",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.get(ConsentRecord, record.id) is not None


def test_the_deciders_are_notified_of_a_request(consent_app, caplog):
    told = []

    class Recorder:
        def consent_requested(self, record_id: str, deciders: list[str]) -> None:
            told.append((record_id, deciders))

    with consent_app.app_context():
        pupil1 = person("espoo", "pupil1")
        guardians = sorted(person("espoo", n).id for n in ("guardian1", "guardian2"))
        with caplog.at_level("INFO", logger="digione.consent"):
            logged = ask(READING, pupil1)  # the development notifier logs
        assert any(r.getMessage() == "consent requested" for r in caplog.records)
        assert pupil1.given_name not in caplog.text
        consent_app.extensions["digione.notifier"] = Recorder()
        record = ask(ASSESSMENTS, pupil1, "demo-learning-service")
        assert told == [(record.id, guardians)] and logged.id != record.id

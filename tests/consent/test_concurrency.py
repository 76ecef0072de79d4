"""Consent answers racing each other (CONSENT.md: joint custody, withdrawal, new versions), and
the services' requests and exchanges racing each other.

Real threads, each with its own app context and so its own database session (or its own test
client), released together by a barrier, as in tests/oidc/test_concurrency.py. Runs on SQLite
and, with DIGIONE_TEST_DATABASE_URL, on PostgreSQL. Whatever the order the database gives the
writes, the events fold to one state (consent.states), and the final state is the one the
rules demand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask

from consent import purposes, records
from consent.models import ConsentRecord
from consent.records import ConsentError
from core.db import db
from tests.consent.conftest import READING, person
from tests.consent.test_exchange import ask, exchange, public_task_purpose, sub_of
from tests.oidc.test_concurrency import race

ROUNDS = 3


def in_context(app: Flask, work: Callable[[], object]) -> Callable:
    """``work`` run in an app context of the thread's own (own session), committed; a
    ConsentError is returned, not raised (a refused answer is a result)."""

    def run(_client):
        with app.app_context():
            try:
                result = work()
                db.session.commit()
                return result
            except ConsentError as exc:
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    return run


def answering(app: Flask, record_id: str, username: str, kind: str) -> Callable:
    def work():
        record = db.session.get(ConsentRecord, record_id)
        child = person("espoo", username)
        return records.answer(db.session, record, child, kind, method="page", acr="demo")

    return in_context(app, work)


def derived(app: Flask, record_id: str):
    with app.app_context():
        record = db.session.get(ConsentRecord, record_id)
        current = records.view(db.session, record).derived
        kinds = [row.kind for row in records.events(db.session, record_id)]
        return current, kinds


def together(app: Flask, *jobs: Callable) -> list:
    """Each job in its own thread with its own test client, all released at once; the
    results in the jobs' order (an exception in a thread fails the test)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            results[index] = jobs[index](client)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a job hung"
    assert not errors, errors
    return results


def withdraw_all(app: Flask, record_id: str) -> None:
    with app.app_context():
        record = db.session.get(ConsentRecord, record_id)
        records.answer(db.session, record, person("espoo", "guardian1"), "withdraw",
                       method="page", acr="demo")  # fmt: skip
        db.session.commit()


def test_two_guardians_approving_at_once_give_it_once(consent_app):
    app = consent_app
    for _ in range(ROUNDS):
        record_id = ask(app, READING, "pupil1")
        results = together(
            app,
            answering(app, record_id, "guardian1", "approve"),
            answering(app, record_id, "guardian2", "approve"),
        )
        assert not [r for r in results if isinstance(r, ConsentError)], results
        current, kinds = derived(app, record_id)
        assert current.state == "given"
        assert sorted(kinds) == ["approve", "approve", "requested"]
        became_given = [
            step
            for before, step in zip(current.history, current.history[1:], strict=False)
            if step.state == "given" and before.state != "given"
        ]
        assert len(became_given) == 1
        assert sum(step.state == "given" for step in current.history) == 1
        withdraw_all(app, record_id)  # the next round asks again


def test_withdrawal_racing_an_approval_ends_withdrawn(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    for _ in range(ROUNDS):
        record_id = ask(app, READING, "pupil1")
        with app.app_context():
            record = db.session.get(ConsentRecord, record_id)
            records.answer(db.session, record, person("espoo", "guardian1"), "approve",
                           method="page", acr="demo")  # fmt: skip
            db.session.commit()
        results = together(
            app,
            answering(app, record_id, "guardian1", "withdraw"),
            answering(app, record_id, "guardian2", "approve"),
        )
        withdrawn, approved = results
        assert not isinstance(withdrawn, ConsentError), withdrawn
        assert not isinstance(approved, ConsentError) or approved.code == "closed"
        current, kinds = derived(app, record_id)
        assert current.state == "withdrawn"
        assert "withdraw" in kinds
        steps = [step for step in current.history if step.event_id is not None]
        at_withdrawal = next(i for i, step in enumerate(steps) if step.kind == "withdraw")
        assert all(step.state == "withdrawn" for step in steps[at_withdrawal:])
        with app.app_context():
            assert records.active_for(db.session, person("espoo", "pupil1").id, READING) is None
        denied = exchange(app, sub)
        assert denied.status_code == 400 and denied.json["error"] == "access_denied"


def _reconsent_spec(app: Flask) -> purposes.PurposeSpec:
    with app.app_context():
        data = purposes.to_dict(purposes.latest(db.session, READING))
    keep = set(purposes.PurposeSpec.model_fields)
    spec = {key: value for key, value in data.items() if key in keep}
    return purposes.parse({**spec, "requires_reconsent": True})


def publish(spec: purposes.PurposeSpec):
    """Publish ``spec`` as the next version; its publication time."""
    return purposes.new_version(db.session, spec, created_by="test").created_at


def test_new_version_demanding_reconsent_while_guardians_answer(consent_app):
    """Publication racing the approvals: the old version's record ends invalidated, whichever
    came first, and is never given after the publication."""
    app = consent_app
    sub = sub_of(app, "pupil1")
    for _ in range(ROUNDS):
        record_id = ask(app, READING, "pupil1")
        spec = _reconsent_spec(app)
        results = together(
            app,
            answering(app, record_id, "guardian1", "approve"),
            answering(app, record_id, "guardian2", "approve"),
            in_context(app, lambda spec=spec: publish(spec)),
        )
        *answers, published = results
        assert all(not isinstance(r, ConsentError) or r.code == "closed" for r in answers)
        current, _kinds = derived(app, record_id)
        assert current.state == "invalidated" and current.reason == "purpose_new_version"
        assert current.ended_at == published
        assert all(step.at < published for step in current.history if step.state == "given")
        denied = exchange(app, sub)
        assert denied.status_code == 400 and denied.json["error"] == "access_denied"


@pytest.mark.parametrize("threads", [2, 4])
def test_the_same_request_at_once_makes_one_record(consent_app, threads):
    from tests.consent.test_exchange import basic

    app = consent_app
    sub = sub_of(app, "pupil1")
    data = {"purpose": READING, "sub": sub}
    responses = race(
        app,
        threads,
        lambda client: client.post(
            "/consent/api/requests", data=data, headers=basic("demo-reading-app")
        ),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * (threads - 1) + [201], [r.json for r in responses]
    assert len({response.json["id"] for response in responses}) == 1
    with app.app_context():
        assert len(records.records_of(db.session, person("espoo", "pupil1").id, READING)) == 1


@pytest.mark.parametrize("threads", [2, 4])
def test_exchanges_at_once_record_the_sharing_once(consent_app, threads):
    from tests.consent.test_exchange import basic, exchange_form

    app = consent_app
    purpose_id = public_task_purpose(app)
    sub = sub_of(app, "pupil1")
    form = exchange_form(sub, purpose_id)
    responses = race(
        app,
        threads,
        lambda client: client.post("/oidc/token", data=form, headers=basic("demo-reading-app")),
    )
    assert [response.status_code for response in responses] == [200] * threads
    with app.app_context():
        found = records.records_of(db.session, person("espoo", "pupil1").id, purpose_id)
        assert len(found) == 1 and found[0].derived.state == "recorded"

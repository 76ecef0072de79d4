"""`digione consent show|export` through click's CliRunner, on records made with
consent.records in the test database."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from consent import history, purposes, records
from consent.history import EXPORT_FIELDS, record_to_dict
from consent.models import AuditEntry, ConsentEvent, ConsentRecord
from core.db import db, utcnow
from federation.models import Person
from tests.consent.conftest import ASSESSMENTS, READING, person


@pytest.fixture
def digione(digione_cli):
    return digione_cli


def ask(purpose_id: str, child, client_id: str = "demo-reading-app") -> ConsentRecord:
    purpose = purposes.latest(db.session, purpose_id)
    current, _created = records.request(db.session, purpose, child, client_id=client_id)
    db.session.commit()
    return current.record


def answer(record, who, kind: str) -> None:
    records.answer(db.session, record, who, kind, method="page", acr="demo-acr")
    db.session.commit()


@pytest.fixture
def made(consent_app) -> dict:
    """In Espoo: a given consent, a refused one with a late answer, one only requested; in
    Oulu: one requested."""
    with consent_app.app_context():
        g1, g2 = person("espoo", "guardian1"), person("espoo", "guardian2")
        given = ask(READING, person("espoo", "pupil1"))
        answer(given, g1, "approve")
        answer(given, g2, "approve")
        pupil2 = person("espoo", "pupil2")  # 15: decides for themself
        refused = ask(ASSESSMENTS, pupil2, "demo-learning-service")
        answer(refused, pupil2, "refuse")
        # An answer stored after the record ended (as when two answers race): kept, no effect.
        db.session.add(
            ConsentEvent(
                record_id=refused.id, kind="approve", at=utcnow(), actor_type="child",
                actor_id=pupil2.id, method="page", acr="demo-acr",
            )
        )  # fmt: skip
        db.session.flush()
        history.rebuild_status(db.session)  # the stored state, as every write keeps it
        db.session.commit()
        asked = ask(READING, pupil2)
        oulu = ask(READING, person("oulu", "pupil1"))
        return {
            "given": given.id,
            "refused": refused.id,
            "asked": asked.id,
            "oulu": oulu.id,
            "pupil1": given.child_id,
            "g1": g1.id,
        }


def names(app) -> set[str]:
    with app.app_context():
        rows = db.session.execute(select(Person.given_name, Person.family_name)).all()
    return {name for row in rows for name in row if name}


def test_show_prints_the_record_and_its_history(consent_app, made, digione):
    out = digione("consent", "show", made["given"])
    assert f"record:        {made['given']}" in out
    assert f"purpose:       {READING} version 1" in out
    assert f"child:         {made['pupil1']}" in out
    assert "learner id:    1.2.246.562.24.10000000101" in out
    assert "city:          espoo" in out
    assert "requested by:  demo-reading-app" in out
    assert "state now:     given" in out
    history = out.split("history:\n", 1)[1].splitlines()
    assert len(history) == 3
    assert "requested" in history[0] and "service:demo-reading-app" in history[0]
    assert f"guardian:{made['g1']}" in history[1] and "via page" in history[1]
    assert "acr demo-acr" in history[1] and "→ partially_approved" in history[1]
    assert history[2].endswith("→ given")
    assert not names(consent_app) & set(out.split())
    with consent_app.app_context():  # who looked is in the audit trail
        viewed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.view")
        ).all()
        assert [(e.record_id, e.channel, e.actor_id.startswith("cli:")) for e in viewed] == [
            (made["given"], "cli", True)
        ]


def test_show_marks_steps_after_the_end(consent_app, made, digione):
    out = digione("consent", "show", made["refused"])
    assert "state now:     refused" in out
    last = out.splitlines()[-1]
    assert "approve" in last and last.endswith("(after the record ended: no effect)")


def test_show_json_is_the_shared_record(consent_app, made, digione):
    as_json = json.loads(digione("consent", "show", made["refused"], "--json"))
    assert as_json["state"] == "refused" and as_json["city"] == "espoo"
    assert [step["counted"] for step in as_json["history"]] == [True, True, False]
    with consent_app.app_context():
        expected = record_to_dict(db.session, db.session.get(ConsentRecord, made["refused"]))
    assert {k: v for k, v in as_json.items() if k != "history"} == {
        k: v for k, v in expected.items() if k != "history"
    }
    assert [s["event_id"] for s in as_json["history"]] == [
        s["event_id"] for s in expected["history"]
    ]


def test_show_unknown_record(consent_app, digione):
    assert digione("consent", "show", "nope", code=1).strip() == "Error: no consent record nope"


def test_export_csv_has_every_record_of_the_city_and_no_other(consent_app, made, digione):
    out = digione("consent", "export", "--city", "espoo", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0].keys()) == EXPORT_FIELDS
    by_id = {row["record_id"]: row for row in rows}
    assert set(by_id) == {made["given"], made["refused"], made["asked"]}
    assert by_id[made["given"]]["state"] == "given" and by_id[made["given"]]["events"] == "3"
    assert by_id[made["refused"]]["state"] == "refused"
    assert by_id[made["refused"]]["events"] == "3"
    assert by_id[made["asked"]]["state"] == "requested"
    assert all(row["city"] == "espoo" for row in rows)
    assert not names(consent_app) & set(out.replace(",", " ").split())
    (entry,) = _exports(consent_app)
    assert entry.detail == {"city": "espoo", "count": 3, "format": "csv"}
    assert entry.actor_type == "admin" and entry.channel == "cli"


def test_export_json_is_one_valid_array(consent_app, made, digione, monkeypatch):
    monkeypatch.setattr(history, "BATCH", 2)  # several batches from the database
    rows = json.loads(digione("consent", "export", "--city", "oulu", "--format", "json"))
    assert [row["record_id"] for row in rows] == [made["oulu"]]
    assert rows[0]["state"] == "requested" and rows[0]["events"] == 1
    assert set(rows[0]) == set(EXPORT_FIELDS)
    espoo = json.loads(digione("consent", "export", "--city", "espoo", "--format", "json"))
    assert {row["record_id"] for row in espoo} == {made["given"], made["refused"], made["asked"]}
    assert json.loads(digione("consent", "export", "--city", "turku", "--format", "json")) == []
    assert [e.detail["count"] for e in _exports(consent_app)] == [1, 3, 0]


def test_export_of_an_unknown_city(consent_app, digione):
    err = digione("consent", "export", "--city", "atlantis", code=1)
    assert err.startswith("Error: no city 'atlantis'; configured: ") and "espoo" in err
    assert not _exports(consent_app)


def _exports(app) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.export").order_by(AuditEntry.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)

"""The signed consent receipt: verifies against the published JWKS and carries the fields of
CONSENT.md "What a consent record carries"."""

from __future__ import annotations

import jwt

from consent import purposes, receipt, records
from core.app import config_of
from core.db import db
from keys.app import key_store
from tests.consent.conftest import READING, person


def test_the_receipt_verifies_against_the_jwks_and_carries_the_record(consent_app):
    with consent_app.app_context():
        pupil1, g1, g2 = (person("espoo", n) for n in ("pupil1", "guardian1", "guardian2"))
        purpose = purposes.latest(db.session, READING)
        current, _ = records.request(db.session, purpose, pupil1, client_id="demo-reading-app")
        for guardian in (g1, g2):
            records.answer(
                db.session, current.record, guardian, "approve", method="page", acr="urn:test"
            )
        db.session.commit()
        current = records.view(db.session, current.record)
        token = receipt.signed(
            db.session, current, config_of(consent_app), key_store(), language="sv"
        )
        ids = {"child": pupil1.id, "learner": pupil1.learner_id, "g1": g1.id, "g2": g2.id}
        notice_hash, record_id = purpose.notice_hash, current.record.id

    jwks = consent_app.test_client().get("/.well-known/jwks.json").get_json()
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "consent-receipt+jwt" and header["alg"] == "RS256"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    body = jwt.decode(token, key.key, algorithms=["RS256"])

    assert body["record_id"] == record_id
    assert body["schema_version"] == receipt.SCHEMA_VERSION
    assert body["jurisdiction"] == "FI" and body["language"] == "sv"
    assert body["data_subject"] == {"id": ids["child"], "learner_id": ids["learner"]}
    assert [entry["actor_id"] for entry in body["indicated_by"]] == [ids["g1"], ids["g2"]]
    for entry in body["indicated_by"]:
        assert entry["answer"] == "approve" and entry["acr"] == "urn:test"
        assert entry["method"] == "page" and entry["actor_type"] == "guardian"
        assert sorted(entry["custody_basis"]["all_of"]) == sorted([ids["g1"], ids["g2"]])
    assert body["purpose"]["id"] == READING and body["purpose"]["version"] == 1
    assert body["purpose"]["category"] == "education"
    assert body["purpose"]["title"] == "Läsappen får elevens klass och skola"
    assert body["lawful_basis"] == "consent"
    assert body["notice"]["hash"] == notice_hash
    assert body["data_categories"] == ["school:class", "school:school"]
    assert body["source_system"] == {
        "client_id": "demo-school-admin",
        "name": "Demo-skolans administrativa system",
    }
    assert body["recipient"]["client_id"] == "demo-reading-app"
    assert body["retention"].startswith("Så länge eleven använder appen")
    assert body["controller"] == {"id": "espoo", "name": "Esbo", "contact": None}
    assert body["state"] == "given"
    assert [step["kind"] for step in body["history"]] == ["requested", "approve", "approve"]
    assert body["history"][0]["actor_type"] == "service"
    assert body["history"][1]["acr"] == "urn:test"
    assert body["validity"]["from"] and body["validity"]["until"]
    assert body["validity"]["days"] == 365
    assert body["withdrawal_method"] == "page, one action"


def test_the_receipt_carries_its_entries_and_proofs_an_outside_verifier_checks(consent_app):
    """The receipt's ``log``: the record and each event as a leaf, its bytes, and its audit
    path to a signed checkpoint; checked with tests/interop/tlog_verifier.py alone."""
    import base64
    import json

    from tests.interop import tlog_verifier as auditor

    with consent_app.app_context():
        pupil1, g1 = person("espoo", "pupil1"), person("espoo", "guardian1")
        purpose = purposes.latest(db.session, READING)
        current, _ = records.request(db.session, purpose, pupil1, client_id="demo-reading-app")
        db.session.commit()
        before = receipt.claims(
            db.session, records.view(db.session, current.record), config_of(consent_app)
        )
        records.answer(db.session, current.record, g1, "approve", method="page", acr="urn:test")
        db.session.commit()
        from consent.ledger import checkpoints

        checkpoints.make(db.session, checkpoints.signer(before["log"]["origin"], key_store()))
        db.session.commit()
        body = receipt.claims(
            db.session, records.view(db.session, current.record), config_of(consent_app)
        )
        record_id = current.record.id

    keys_text = consent_app.test_client().get("/consent-log/keys").get_data(as_text=True)
    log = body["log"]
    assert log["keys"].endswith("/consent-log/keys")
    keys = [auditor.NoteKey.parse(line) for line in keys_text.split()]
    origin, size, root = auditor.checkpoint(auditor.open_note(log["checkpoint"], keys))
    assert origin == log["origin"] and size == log["tree_size"]
    entries = [json.loads(item["entry"]) for item in log["entries"]]
    assert [(e["type"], e.get("kind")) for e in entries] == [
        ("record", None), ("event", "requested"), ("event", "approve"),
    ]  # fmt: skip
    assert (
        entries[0]["id"] == record_id
        and entries[2]["actor_id"] == body["indicated_by"][0]["actor_id"]
    )
    for item in log["entries"]:
        leaf = auditor.leaf_hash(item["entry"].encode())
        path = [base64.b64decode(step) for step in item["proof"]]
        assert auditor.inclusion_ok(item["leaf"], size, leaf, path, root)
    # Before any checkpoint included them, the entries are listed without a proof.
    assert before["log"]["checkpoint"] is None or all(
        item["proof"] is None for item in before["log"]["entries"]
    )

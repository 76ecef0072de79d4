"""The audit trail: administrators' changes at the command line and consent events are
appended with who, what, when, from where and which record, and identifiers only."""

from __future__ import annotations

import json

from sqlalchemy import select

from consent import purposes, records
from consent.audit import cli_actor
from consent.models import AuditEntry
from core.db import db
from tests.consent.conftest import READING, person

REDIRECT = "https://oppimo.espoo.fi/callback"


def entries(app, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def test_client_administration_is_audited(app, digione_cli):
    info = json.loads(
        digione_cli("clients", "add", "--name", "Oppimo", "--redirect-uri", REDIRECT, "--json")
    )
    client_id = info["client_id"]
    digione_cli("clients", "rotate-secret", client_id)
    digione_cli("clients", "remove", client_id, "--yes")
    digione_cli("clients", "token", "--days", "1")
    actions = [(e.action, e.actor_type, e.actor_id, e.channel) for e in entries(app)]
    assert [a[0] for a in actions] == [
        "client.add", "client.rotate_secret", "client.remove", "client.initial_access_token",
    ]  # fmt: skip
    assert {a[1:] for a in actions} == {("admin", cli_actor(), "cli")}
    assert entries(app, "client.add")[0].detail == {"client_id": client_id}


def test_key_rotation_is_audited(app, digione_cli):
    digione_cli("keys", "rotate", "--use", "es256")
    (entry,) = entries(app, "keys.rotate")
    assert entry.detail == {"uses": ["es256"], "due": False}


def test_a_client_named_by_a_purpose_cannot_be_removed(consent_app, digione_cli):
    error = digione_cli("clients", "remove", "demo-reading-app", "--yes", code=1)
    assert "demo-reading-class" in error and "withdraw" in error


def test_consent_events_are_audited_with_identifiers_only(consent_app):
    with consent_app.app_context():
        pupil1, g1 = person("espoo", "pupil1"), person("espoo", "guardian1")
        purpose = purposes.latest(db.session, READING)
        current, _ = records.request(db.session, purpose, pupil1, client_id="demo-reading-app")
        records.answer(db.session, current.record, g1, "approve", method="page", acr="demo")
        db.session.commit()
        record_id, names = current.record.id, {pupil1.given_name, g1.given_name, "Virtanen"}
    trail = entries(consent_app)
    assert [(e.action, e.actor_type) for e in trail] == [
        ("consent.requested", "service"),
        ("consent.approve", "guardian"),
    ]
    assert all(e.record_id == record_id and e.purpose_id == READING for e in trail)
    text = json.dumps([[e.actor_id, e.detail, e.address_hash] for e in trail])
    assert not any(name in text for name in names)

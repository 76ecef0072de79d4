"""The consent rows in the log: every consent record, event and audit entry the broker writes is
a leaf, appended in its own transaction, and `digione audit verify` names a row changed,
deleted, inserted or reordered behind the broker's back, as a database superuser would do it in
plain SQL after dropping the append-only triggers (consent.ledger.rows)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from consent import schema
from consent.ledger import entries, store
from consent.ledger.models import LedgerLeaf
from consent.ledger.rows import verify_rows
from consent.models import AuditEntry, ConsentEvent, ConsentRecord
from core.db import db
from tests.consent.conftest import READING
from tests.consent.test_exchange import answer, ask, exchange, sub_of


@pytest.fixture
def history(consent_app) -> dict:
    """A given consent used by one exchange, then withdrawn, and a refused exchange after it."""
    record_id = ask(consent_app, READING, "pupil1")
    answer(consent_app, record_id, "guardian1", "approve")
    answer(consent_app, record_id, "guardian2", "approve")
    sub = sub_of(consent_app, "pupil1")
    assert exchange(consent_app, sub).status_code == 200
    answer(consent_app, record_id, "guardian2", "withdraw")
    assert exchange(consent_app, sub).status_code == 400
    return {"record": record_id}


def rows_of(app, model) -> list:
    with app.app_context():
        found = db.session.scalars(select(model).order_by(model.leaf)).all()
        db.session.expunge_all()
        return found


def kinds(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(LedgerLeaf.kind).order_by(LedgerLeaf.idx)))


def findings(app) -> list[str]:
    with app.app_context():
        return [finding.what for finding in verify_rows(db.session)]


def tamper(app, *statements: str | tuple[str, dict]) -> None:
    """Plain SQL (with its values) as a superuser would run it, the append-only triggers
    dropped first."""
    with app.app_context():
        dialect = db.engine.dialect.name
        for statement in schema.drop_statements(dialect):
            db.session.execute(text(statement))
        for statement in statements:
            sql, values = statement if isinstance(statement, tuple) else (statement, {})
            db.session.execute(text(sql), values)
        db.session.commit()


def test_every_consent_row_is_a_leaf_of_its_own_bytes(consent_app, history, digione_cli):
    """Records, events and audit entries each name a distinct leaf whose hash is their
    canonical bytes'; the leaves come in the order they were written."""
    leaves = kinds(consent_app)
    assert leaves[:2] == ["record", "event"]  # the request: its record, then its event
    assert leaves.count("record") == 1 and leaves.count("event") == 4  # ask, 2 x approve, withdraw
    exchanged = [e for e in rows_of(consent_app, AuditEntry) if e.action.startswith("consent.ex")]
    assert [e.action for e in exchanged] == ["consent.exchange", "consent.exchange_denied"]
    with consent_app.app_context():
        for kind, model in (("record", ConsentRecord), ("event", ConsentEvent)):
            for row in db.session.scalars(select(model)):
                stored = db.session.get(LedgerLeaf, row.leaf)
                assert stored.kind == kind
                assert stored.leaf_hash == entries.hash_of(kind, entries.values_of(kind, row))
        assert store.size(db.session) == len(leaves)
    assert findings(consent_app) == []
    assert "audit entry against its leaf" in digione_cli("audit", "verify")


def test_canonical_bytes_are_sorted_compact_json_with_the_format_and_kind():
    from datetime import UTC, datetime

    at = datetime(2026, 12, 4, 19, 7, 29, 123456, tzinfo=UTC)
    values = {"record_id": "r", "kind": "approve", "at": at, "actor_type": "guardian",
              "actor_id": "p", "method": "page", "acr": "Äijä",
              "deciders": {"b": [], "a": ["p"]}}  # fmt: skip
    assert (
        entries.canonical("event", values)
        == (
            '{"acr":"Äijä","actor_id":"p","actor_type":"guardian","at":"2026-12-04T19:07:29.123456Z",'
            '"deciders":{"a":["p"],"b":[]},"kind":"approve","method":"page","purpose_version":null,'
            '"reason":null,"record_id":"r","type":"event","v":1}'
        ).encode()
    )


def test_a_withdrawal_turned_into_an_approval_is_named(consent_app, history, digione_cli):
    """The attack the log exists for: the last event's kind rewritten."""
    tamper(consent_app, "UPDATE consent_events SET kind = 'approve' WHERE kind = 'withdraw'")
    changed = [e for e in rows_of(consent_app, ConsentEvent) if e.kind == "approve"][-1]
    said = findings(consent_app)
    assert said == [
        f"consent event {changed.id} (leaf {changed.leaf}) was changed after it was logged"
    ]
    assert said[0] in digione_cli("audit", "verify", code=1)


def test_a_changed_audit_entry_and_record_are_named(consent_app, history):
    tamper(
        consent_app,
        "UPDATE audit_events SET actor_id = 'someone-else' WHERE action = 'consent.exchange'",
        "UPDATE consent_records SET requested_by = 'demo-learning-service'",
    )
    said = findings(consent_app)
    assert len(said) == 2
    assert any(s.startswith("consent record ") and "was changed" in s for s in said)
    assert any(s.startswith("audit entry ") and "was changed" in s for s in said)


def test_a_deleted_event_is_named_by_its_leaf(consent_app, history, digione_cli):
    withdrawal = next(e for e in rows_of(consent_app, ConsentEvent) if e.kind == "withdraw")
    tamper(consent_app, ("DELETE FROM consent_events WHERE id = :id", {"id": withdrawal.id}))
    said = findings(consent_app)
    assert said == [f"leaf {withdrawal.leaf}: its consent event is missing (deleted)"]
    digione_cli("audit", "verify", code=1)


def test_an_event_inserted_without_a_leaf_or_with_a_borrowed_one_is_named(consent_app, history):
    entry = rows_of(consent_app, AuditEntry)[0]
    copy = (
        "INSERT INTO consent_events (record_id, kind, at, actor_type, actor_id, method, leaf) "
        "SELECT record_id, 'approve', at, actor_type, actor_id, method, :leaf "
        "FROM consent_events WHERE kind = 'withdraw'"
    )
    tamper(consent_app, (copy, {"leaf": None}), (copy, {"leaf": entry.leaf}))
    said = findings(consent_app)
    assert any(f"(leaf {entry.leaf}) names a leaf of a audit entry" in s for s in said), said
    assert any(s.endswith("is not in the log (written behind the broker)") for s in said), said


RENUMBER = "UPDATE consent_events SET id = :new WHERE id = :old"
SET_ACTION = "UPDATE audit_events SET action = :action WHERE id = :id"


def test_two_events_with_swapped_ids_are_named(consent_app, history):
    """The order a record's state is folded in is the events' id order: renumbering them is
    named even though each row's own bytes are unchanged."""
    first, second = [e for e in rows_of(consent_app, ConsentEvent) if e.kind == "approve"]
    tamper(
        consent_app,
        (RENUMBER, {"old": first.id, "new": -1}),
        (RENUMBER, {"old": second.id, "new": first.id}),
        (RENUMBER, {"old": -1, "new": second.id}),
    )
    said = findings(consent_app)
    assert len(said) == 1 and "has a lower id: rows renumbered or swapped" in said[0]


def test_two_audit_entries_with_swapped_contents_are_named(consent_app, history):
    first, second = rows_of(consent_app, AuditEntry)[:2]
    tamper(
        consent_app,
        (SET_ACTION, {"id": first.id, "action": second.action}),
        (SET_ACTION, {"id": second.id, "action": first.action}),
    )
    assert len(findings(consent_app)) == 2


def test_audit_proof_prints_a_records_entries_with_proofs_an_outside_verifier_checks(
    consent_app, history, digione_cli
):
    import base64
    import json

    from tests.interop import tlog_verifier as auditor

    digione_cli("audit", "checkpoint")
    printed = json.loads(digione_cli("audit", "proof", history["record"]))
    keys = [auditor.NoteKey.parse(line) for line in digione_cli("audit", "keys").split()]
    origin, size, root = auditor.checkpoint(auditor.open_note(printed["checkpoint"], keys))
    assert origin == printed["origin"] and size == printed["tree_size"]
    kinds_printed = [item["kind"] for item in printed["entries"]]
    assert kinds_printed.count("record") == 1 and kinds_printed.count("event") == 4
    actions = [json.loads(i["entry"])["action"] for i in printed["entries"] if i["kind"] == "audit"]
    assert "consent.exchange" in actions and "consent.exchange_denied" in actions
    for item in printed["entries"]:
        assert json.loads(item["entry"]).get("record_id", history["record"]) == history["record"]
        path = [base64.b64decode(step) for step in item["proof"]]
        leaf = auditor.leaf_hash(item["entry"].encode())
        assert auditor.inclusion_ok(item["leaf"], size, leaf, path, root)

    assert "no consent record nope in the log" in digione_cli("audit", "proof", "nope", code=1)

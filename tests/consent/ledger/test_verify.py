"""Recomputing the log from its stored leaves (consent.ledger.verify, `digione audit verify`)
after changes made as a database superuser would make them, in plain SQL: a leaf changed,
deleted, inserted in the middle or two swapped; a checkpoint's root replaced, or its note
signed by another key, each after dropping the append-only triggers. Each is named, and the
command exits 1."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from consent import schema
from consent.ledger import checkpoints, merkle, store
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.note import Signer, sign
from consent.ledger.verify import verify_tree
from core.db import db
from keys.app import key_store

ORIGIN = "127.0.0.1:5000/consent-log"  # the test app's default issuer


def leaf(number: int) -> bytes:
    return merkle.leaf_hash(hashlib.sha256(str(number).encode()).digest())


def build(app, sizes=(8, 20)) -> None:
    """Leaves 0..19, with a checkpoint at each of ``sizes``."""
    with app.app_context():
        signer = checkpoints.signer(ORIGIN, key_store())  # keys made before the leaves' writes
        for number in range(max(sizes)):
            store.append(db.session, "test", str(number), leaf(number))
            if number + 1 in sizes:
                checkpoints.make(db.session, signer)
        db.session.commit()


def tamper(app, *statements: tuple[str, dict]) -> None:
    """Plain SQL, as a database superuser would change the tables: first drop the triggers
    that keep them append-only (the test database's teardown makes them again)."""
    with app.app_context():
        dialect = db.engine.dialect.name
        for statement in schema.drop_statements(dialect, schema.LEDGER_TABLES):
            db.session.execute(text(statement))
        for statement, values in statements:
            db.session.execute(text(statement), values)
        db.session.commit()


def findings(app) -> list:
    with app.app_context():
        return verify_tree(db.session, ORIGIN, checkpoints.verifiers(ORIGIN, key_store()))


SET_LEAF = "UPDATE ledger_leaves SET leaf_hash = :hash WHERE idx = :idx"


def test_an_untouched_log_verifies(app, digione_cli):
    build(app)
    assert findings(app) == []
    assert digione_cli("audit", "verify").startswith("verified: 20 leaves")


def test_a_changed_leaf_is_named(app, digione_cli):
    build(app)
    tamper(app, (SET_LEAF, {"hash": leaf(99), "idx": 5}))
    first = findings(app)[0]
    assert first.leaf == 4 and "leaves 4..5" in first.what
    assert "leaves 4..5" in digione_cli("audit", "verify", code=1)


def test_a_deleted_leaf_is_named(app, digione_cli):
    build(app)
    tamper(app, ("DELETE FROM ledger_leaves WHERE idx = 7", {}))
    first = findings(app)[0]
    assert first.leaf == 7 and "leaf 7 is missing" in first.what
    digione_cli("audit", "verify", code=1)


def test_two_swapped_leaves_are_named(app):
    build(app)
    tamper(
        app,
        (SET_LEAF, {"hash": leaf(9), "idx": 2}),
        (SET_LEAF, {"hash": leaf(2), "idx": 9}),
    )
    assert findings(app)[0].leaf == 2


def test_a_leaf_inserted_in_the_middle_is_named(app):
    build(app)
    tamper(
        app,
        ("UPDATE ledger_leaves SET idx = idx + 1000 WHERE idx >= 10", {}),
        ("UPDATE ledger_leaves SET idx = idx - 999 WHERE idx >= 1000", {}),
        (
            "INSERT INTO ledger_leaves (idx, kind, ref, leaf_hash, appended_at) "
            "SELECT 10, 'test', 'forged', :hash, appended_at FROM ledger_leaves WHERE idx = 0",
            {"hash": leaf(77)},
        ),
    )
    found = findings(app)
    assert found[0].leaf == 10
    assert any("the head (20 leaves)" in f.what for f in found)


def test_a_checkpoint_with_another_root_or_another_signer_is_named(app):
    build(app)
    forged = sign(Checkpoint(ORIGIN, 20, leaf(5)).to_text(), Signer.generate(ORIGIN))
    tamper(
        app,
        ("UPDATE ledger_checkpoints SET root_hash = :root WHERE size = 8", {"root": leaf(5)}),
        ("UPDATE ledger_checkpoints SET note = :note WHERE size = 20", {"note": forged}),
    )
    said = [f.what for f in findings(app)]
    assert any(w.startswith("checkpoint 8: its root is not") for w in said)
    assert any(w.startswith("checkpoint 8: the signed note says another tree") for w in said)
    assert any(w.startswith("checkpoint 20: the signed note does not verify") for w in said)

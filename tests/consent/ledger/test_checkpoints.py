"""Signed checkpoints of the audit log, on the test database with the broker's own audit key:
they open with the published verifiers as C2SP notes, carry the stored tree's head, survive
a rotation of the audit key, and are refused over a tree that was rewritten."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text, update

from consent import schema
from consent.ledger import checkpoints, merkle, store
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.models import LedgerNode
from consent.ledger.note import UnverifiedNoteError, Verifier
from core.db import db
from keys.app import key_store

ORIGIN = checkpoints.origin_for("https://login.example.fi")


def leaf(number: int) -> bytes:
    return merkle.leaf_hash(hashlib.sha256(str(number).encode()).digest())


def grow(count: int, start: int = 0) -> list[bytes]:
    leaves = [leaf(n) for n in range(start, start + count)]
    for number, digest in enumerate(leaves, start):
        store.append(db.session, "test", str(number), digest)
    db.session.commit()
    return leaves


def test_origin_is_the_issuer_without_its_scheme():
    assert ORIGIN == "login.example.fi/consent-log"
    assert checkpoints.origin_for("http://127.0.0.1:5000/") == "127.0.0.1:5000/consent-log"


def test_a_checkpoint_opens_with_the_published_verifiers_and_is_the_tree_head(app):
    with app.app_context():
        keys = key_store()
        leaves = grow(11)
        made = checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys))
        db.session.commit()
        opened = open_checkpoint(made.note, checkpoints.verifiers(ORIGIN, keys), ORIGIN)
        assert (opened.size, opened.root_hash) == (11, merkle.root(leaves))
        assert checkpoints.latest(db.session).note == made.note
        # Nothing appended since: the same checkpoint, not a second one.
        assert checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys)).size == 11


def test_a_checkpoint_made_before_a_key_rotation_still_verifies(app):
    with app.app_context():
        keys = key_store()
        grow(3)
        before = checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys)).note
        db.session.commit()
        keys.rotate("audit")
        keys.rotate("audit")  # the key that signed is now retired
        db.session.commit()
        grow(2, start=3)
        after = checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys)).note
        db.session.commit()
        known = checkpoints.verifiers(ORIGIN, keys)
        assert open_checkpoint(before, known, ORIGIN).size == 3
        assert open_checkpoint(after, known, ORIGIN).size == 5
        with pytest.raises(UnverifiedNoteError):
            open_checkpoint(before, [Verifier(ORIGIN, known[0].public_key)], ORIGIN)


def test_no_checkpoint_is_signed_over_a_rewritten_subtree(app):
    with app.app_context():
        keys = key_store()
        grow(4)
        checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys))
        db.session.commit()
        grow(4, start=4)
        # As a database superuser could: the triggers dropped, the hash of leaves 4..7 replaced
        # (the test database's teardown makes the triggers again).
        for statement in schema.drop_statements(db.engine.dialect.name, schema.LEDGER_TABLES):
            db.session.execute(text(statement))
        db.session.execute(
            update(LedgerNode)
            .where(LedgerNode.level == 2, LedgerNode.idx == 1)
            .values(hash=bytes(32))
        )
        db.session.commit()
        with pytest.raises(store.LedgerCorrupt):
            checkpoints.make(db.session, checkpoints.signer(ORIGIN, keys))
        assert checkpoints.latest(db.session).size == 4

"""Storage conformance: the audit log's Merkle tree in the database (consent.ledger.store) on
every backend. Appended leaves give the roots and proofs the RFC 9162 definitions give
(consent.ledger.merkle over the same leaves in memory); writers at once never share an index
and leave no gap; a rolled-back append leaves nothing (tests/storage/conftest.py)."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from consent.ledger import merkle, store
from consent.ledger.models import LedgerCheckpoint, LedgerLeaf
from consent.schema import MESSAGE

WRITERS, EACH = 8, 15


def leaf(number: int) -> bytes:
    return merkle.leaf_hash(hashlib.sha256(str(number).encode()).digest())


def test_appended_leaves_give_the_rfc_9162_roots_and_proofs(engine: Engine):
    """After each append the head is MTH of the leaves so far; inclusion and consistency
    proofs read from the stored subtrees equal those over the leaves in memory, and verify."""
    leaves = [leaf(n) for n in range(37)]
    with Session(engine) as session:
        for number, digest in enumerate(leaves):
            assert store.append(session, "test", str(number), digest) == number
            session.commit()
            assert store.head(session) == (number + 1, merkle.root(leaves[: number + 1]))
        tree, memory = store.StoredTree(session), merkle.MemoryTree(leaves)
        for size in (1, 2, 5, 8, 16, 31, 37):
            root = memory.root(size)
            assert tree.root(size) == root
            for index in range(size):
                proof = tree.inclusion(index, size)
                assert proof == merkle.inclusion_proof(index, size, memory.get)
                assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
            for old in range(size + 1):
                proof = tree.consistency(old, size)
                assert proof == merkle.consistency_proof(old, size, memory.get)
                assert merkle.verify_consistency(old, size, memory.root(old), root, proof)


def test_concurrent_writers_get_every_index_once(engine: Engine):
    """Writers released together, each appending in its own transactions: the indices are
    0..n-1, each once, and the stored head is the root of the leaves in index order."""
    barrier, errors = threading.Barrier(WRITERS), []

    def write(writer: int) -> None:
        try:
            barrier.wait(timeout=30)
            with Session(engine) as session:
                for number in range(EACH):
                    with session.begin():
                        store.append(
                            session, "test", f"{writer}-{number}", leaf(writer * 100 + number)
                        )
        except Exception as exc:  # reported below, with the writer
            errors.append((writer, repr(exc)))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Session(engine) as session:
        rows = session.execute(
            select(LedgerLeaf.idx, LedgerLeaf.leaf_hash).order_by(LedgerLeaf.idx)
        )
        indices, hashes = zip(*rows.all(), strict=True)
        assert list(indices) == list(range(WRITERS * EACH))
        assert store.head(session) == (WRITERS * EACH, merkle.root(hashes))


def test_a_rolled_back_append_leaves_no_trace(engine: Engine):
    with Session(engine) as session:
        with session.begin():
            store.append(session, "test", "kept", leaf(1))
        session.begin()
        store.append(session, "test", "undone", leaf(2))
        session.rollback()
        with session.begin():
            assert store.append(session, "test", "next", leaf(3)) == 1
        assert store.head(session) == (2, merkle.root([leaf(1), leaf(3)]))
        refs = session.scalars(select(LedgerLeaf.ref).order_by(LedgerLeaf.idx)).all()
        assert refs == ["kept", "next"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_leaves SET kind = 'changed'",
        "DELETE FROM ledger_leaves",
        "UPDATE ledger_nodes SET level = 9",
        "DELETE FROM ledger_nodes",
        "UPDATE ledger_checkpoints SET note = 'changed'",
        "DELETE FROM ledger_checkpoints",
    ],
)
def test_the_log_tables_refuse_update_and_delete(engine: Engine, statement: str):
    """Leaves, subtree hashes and checkpoints are only ever inserted: the database refuses
    anything else (consent.schema, migration 0007)."""
    with Session(engine) as session, session.begin():
        store.append(session, "test", "a", leaf(1))
        store.append(session, "test", "b", leaf(2))
        size, root = store.head(session)
        session.add(LedgerCheckpoint(size=size, root_hash=root, note="signed note"))
    with pytest.raises(DBAPIError) as refused, engine.begin() as connection:
        connection.execute(text(statement))
    assert MESSAGE in str(refused.value)
    with Session(engine) as session:
        assert store.head(session) == (2, merkle.root([leaf(1), leaf(2)]))
        assert len(session.scalars(select(LedgerLeaf)).all()) == 2

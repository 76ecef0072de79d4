"""The audit log's Merkle tree in the database (consent.ledger.models): appending a leaf in
the transaction of what it records, the tree head, and the subtree hashes proofs are made of
(RFC 9162 sections 2.1.3 and 2.1.4), each proof in O(log n) reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import LargeBinary, String, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from consent.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    RootAccumulator,
    SubtreeGetter,
    consistency_proof,
    inclusion_proof,
    subtree_root,
)
from consent.ledger.models import HEAD_ID, LedgerHead, LedgerLeaf, LedgerNode
from consent.schema import LEDGER_APPEND
from core.db import insert_or_skip, utcnow


# Growing the tree takes the head row's lock (PostgreSQL: the row; SQLite: the database's write
# lock) until the transaction ends: writers queue there, none gets another's index, and a
# transaction rolled back leaves no gap.
def _claim_statement(count: int):
    return (
        update(LedgerHead)
        .where(LedgerHead.id == HEAD_ID)
        .values(size=LedgerHead.size + count)
        .returning(LedgerHead.size, LedgerHead.frontier)
    )


CLAIM = _claim_statement(1)
HEAD = select(LedgerHead.size, LedgerHead.frontier).where(LedgerHead.id == HEAD_ID)
LEAF_HASHES = select(LedgerLeaf.idx, LedgerLeaf.leaf_hash)
NODE_HASHES = select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash)
PLACEHOLDER = bytes(HASH_SIZE)  # what a subtree reads as while a proof's reads are noted
T = TypeVar("T")
SIZE = select(LedgerHead.size).where(LedgerHead.id == HEAD_ID)
NEW_HEAD = insert_or_skip(LedgerHead)
# PostgreSQL: the append in the database (consent.schema.LEDGER_APPEND_FUNCTION), one statement
# that returns the leaf's index; it can be a CTE of the statement that writes the row.
APPEND_IN_DATABASE = select(
    getattr(func, LEDGER_APPEND)(
        bindparam("ledger_kind", type_=String),
        bindparam("ledger_ref", type_=String),
        bindparam("ledger_leaf_hash", type_=LargeBinary),
    ).label("idx")
)


class LedgerCorrupt(Exception):
    """The stored tree contradicts itself (a hash missing or of the wrong length)."""


def compact_range(size: int, frontier: bytes) -> list[tuple[int, bytes]]:
    """The head's frontier as (subtree size, hash) pairs, biggest first: one per set bit."""
    sizes = [1 << bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
    if len(frontier) != HASH_SIZE * len(sizes):
        raise LedgerCorrupt(f"the head's frontier does not fit a tree of {size} leaves")
    return [(s, frontier[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i, s in enumerate(sizes)]


def _claim(session: Session, count: int) -> tuple[int, bytes]:
    """Claim ``count`` leaf indexes: the size before them and the frontier at that size."""
    claim = CLAIM if count == 1 else _claim_statement(count)
    connection = session.connection()  # Core: an ORM-enabled UPDATE costs more here
    row = connection.execute(claim).one_or_none()
    if row is None:  # an empty database (the migration writes the head; a test may delete it)
        connection.execute(
            NEW_HEAD[connection.dialect.name].values(id=HEAD_ID, size=0, frontier=b"")
        )
        row = connection.execute(claim).one()
    return row.size - count, row.frontier


def append(session: Session, kind: str, ref: str, leaf_hash: bytes) -> int:
    """Append one leaf hash, recording ``kind`` and ``ref`` (the row it stands for), in the
    session's transaction; returns its index. The caller commits with what it records."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        values = {"ledger_kind": kind, "ledger_ref": ref, "ledger_leaf_hash": leaf_hash}
        return connection.execute(APPEND_IN_DATABASE, values).scalar_one()
    return extend(session, [(kind, ref, leaf_hash)])


def extend(session: Session, leaves: Sequence[tuple[str, str, bytes]]) -> int:
    """Append leaves given as (kind, ref, leaf hash), in order, in the session's transaction;
    returns the first one's index (for many leaves at once: a migration, a benchmark)."""
    start, frontier = _claim(session, len(leaves))
    tree = RootAccumulator.from_nodes(compact_range(start, frontier))
    now, rows, nodes = utcnow(), [], []
    for index, (kind, ref, leaf_hash) in enumerate(leaves, start):
        # Each completed subtree ends at this leaf: 2**level leaves from index >> level.
        for size, digest in tree.append(leaf_hash):
            level = size.bit_length() - 1
            nodes.append({"level": level, "idx": index >> level, "hash": digest})
        rows.append(
            {"idx": index, "kind": kind, "ref": ref, "leaf_hash": leaf_hash, "appended_at": now}
        )
    session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == HEAD_ID)
        .values(frontier=b"".join(digest for _size, digest in tree.nodes))
    )
    session.execute(insert(LedgerLeaf), rows)
    if nodes:
        session.execute(insert(LedgerNode), nodes)
    return start


def head(session: Session) -> tuple[int, bytes]:
    """The tree's size and root hash now."""
    row = session.execute(HEAD).one_or_none()
    if row is None or row.size == 0:
        return 0, EMPTY_ROOT
    return row.size, RootAccumulator.from_nodes(compact_range(row.size, row.frontier)).root()


def size(session: Session) -> int:
    """How many leaves the tree has now."""
    return session.scalar(SIZE) or 0


class StoredTree:
    """Reads of the stored tree for proofs, of sizes up to ``size``, the tree's size when it
    was made: perfect subtree hashes by (level, index). A proof's subtrees are known from its
    numbers alone, so each proof or root reads them in at most two queries (leaves, nodes)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.size = size(session)

    def perfect(self, level: int, index: int) -> bytes:
        return self._fetched({(level, index)})[(level, index)]

    def get(self, start: int, end: int) -> bytes:
        """MTH of the aligned range [start, end) (what the proofs ask for)."""
        return subtree_root(start, end, self.perfect)

    def root(self, size: int) -> bytes:
        """The root hash the tree had at ``size`` leaves."""
        if size == 0:
            return EMPTY_ROOT
        return self._batched(lambda get: get(0, size))

    def inclusion(self, index: int, size: int) -> list[bytes]:
        self._check(size)
        return self._batched(lambda get: inclusion_proof(index, size, get))

    def leaf_and_inclusion(self, index: int, size: int) -> tuple[bytes, list[bytes]]:
        """The leaf hash at ``index`` and its audit path in the tree of ``size`` leaves."""
        self._check(size)
        return self._batched(lambda get: (get(index, index + 1), inclusion_proof(index, size, get)))

    def consistency(self, old: int, new: int) -> list[bytes]:
        self._check(new)
        return self._batched(lambda get: consistency_proof(old, new, get))

    def _check(self, size: int) -> None:
        if size > self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")

    def _batched(self, compute: Callable[[SubtreeGetter], T]) -> T:
        """Run ``compute`` once to learn which perfect subtrees it reads, read them all at
        once, then run it on what was read."""
        wanted: set[tuple[int, int]] = set()

        def note(level: int, index: int) -> bytes:
            wanted.add((level, index))
            return PLACEHOLDER

        compute(lambda start, end: subtree_root(start, end, note))
        found = self._fetched(wanted)
        return compute(lambda start, end: subtree_root(start, end, lambda *at: found[at]))

    def _fetched(self, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        connection = self.session.connection()
        leaves = [index for level, index in wanted if level == 0]
        nodes = [pair for pair in wanted if pair[0] > 0]
        found: dict[tuple[int, int], bytes] = {}
        if leaves:
            rows = connection.execute(LEAF_HASHES.where(LedgerLeaf.idx.in_(leaves)))
            found.update(((0, idx), digest) for idx, digest in rows)
        if nodes:
            pairs = tuple_(LedgerNode.level, LedgerNode.idx).in_(nodes)
            found.update(
                ((lv, idx), digest)
                for lv, idx, digest in connection.execute(NODE_HASHES.where(pairs))
            )
        for level, index in wanted:
            digest = found.get((level, index))
            if digest is None or len(digest) != HASH_SIZE:
                raise LedgerCorrupt(f"no subtree hash at level {level}, index {index}")
        return found

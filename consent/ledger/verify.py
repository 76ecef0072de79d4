"""Recomputing the audit log's tree from its stored leaves, to find what was changed behind
the broker's back: a leaf missing, a stored subtree hash or the head that does not follow from
the leaves, a checkpoint whose root is not the leaves' root at its size or whose signature does
not verify (RFC 9162 section 2.1, c2sp.org/tlog-checkpoint). One pass in leaf order, with
O(log n) memory for the tree; the first divergence is reported, and every checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from consent.ledger import store
from consent.ledger.checkpoint import CheckpointError, open_checkpoint
from consent.ledger.merkle import RootAccumulator
from consent.ledger.models import LedgerCheckpoint, LedgerLeaf, LedgerNode
from consent.ledger.note import NoteError, Verifier
from consent.ledger.witness import Witnessed

BATCH = 10_000
LEAVES = select(LedgerLeaf.idx, LedgerLeaf.leaf_hash).order_by(LedgerLeaf.idx)
# Stored subtrees in the order appending completes them: by the last leaf they cover, then
# from the smallest up.
NODES = select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).order_by(
    literal_column("(idx + 1) << level"), LedgerNode.level
)
CHECKPOINTS = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up, for a person to read; ``leaf`` is the first leaf it
    concerns, when there is one."""

    what: str
    leaf: int | None = None


def _stream(session: Session, statement) -> Iterator:
    yield from session.execute(statement.execution_options(yield_per=BATCH))


def verify_tree(
    session: Session,
    origin: str,
    verifiers: Iterable[Verifier],
    progress: Callable[[int], None] | None = None,
) -> list[Finding]:
    """Every finding about the stored tree, the first divergence of the leaves from the stored
    subtrees and head, and each checkpoint that does not verify; [] when all adds up."""
    verifiers = list(verifiers)
    findings: list[Finding] = []
    nodes = _stream(session, NODES)
    pending = next(nodes, None)
    checkpoints = iter(session.scalars(CHECKPOINTS).all())  # few: one per interval
    due = next(checkpoints, None)
    tree, expected, diverged = RootAccumulator(), 0, False
    while due is not None and due.size == 0:  # signed before the first leaf
        findings.extend(_checkpoint(due, tree, origin, verifiers))
        due = next(checkpoints, None)
    for index, leaf_hash in _stream(session, LEAVES):
        if index != expected and not diverged:
            findings.append(Finding(f"leaf {expected} is missing (the next is {index})", expected))
            diverged = True
        expected = index + 1
        for size, digest in tree.append(leaf_hash):
            level = size.bit_length() - 1
            stored = pending
            if stored is not None and (stored.level, stored.idx) == (level, index >> level):
                pending = next(nodes, None)
                if stored.hash != digest and not diverged:
                    first = (index >> level) << level
                    findings.append(
                        Finding(
                            f"the stored hash of leaves {first}..{index} does not follow from "
                            f"the leaves: a leaf among them was changed, or the hash",
                            first,
                        )
                    )
                    diverged = True
            elif not diverged:
                findings.append(Finding(f"no stored hash for leaves ..{index} (level {level})"))
                diverged = True
        while due is not None and due.size <= tree.size:
            findings.extend(_checkpoint(due, tree, origin, verifiers))
            due = next(checkpoints, None)
        if progress is not None:
            progress(tree.size)
    while due is not None:
        findings.append(Finding(f"checkpoint {due.size} is beyond the {tree.size} stored leaves"))
        due = next(checkpoints, None)
    size, root = store.head(session)
    if (size, root) != (tree.size, tree.root()):
        findings.append(
            Finding(f"the head ({size} leaves) is not the root of the {tree.size} stored leaves")
        )
    return findings


def _checkpoint(
    row: LedgerCheckpoint, tree: RootAccumulator, origin: str, verifiers: list[Verifier]
) -> list[Finding]:
    found = []
    if row.root_hash != tree.root():
        found.append(
            Finding(
                f"checkpoint {row.size}: its root is not the root of the first {row.size} leaves"
            )
        )
    try:
        signed = open_checkpoint(row.note, verifiers, origin)
    except (NoteError, CheckpointError) as exc:
        return [*found, Finding(f"checkpoint {row.size}: the signed note does not verify ({exc})")]
    if (signed.size, signed.root_hash) != (row.size, row.root_hash):
        found.append(Finding(f"checkpoint {row.size}: the signed note says another tree"))
    return found


def verify_witness(
    session: Session, lines: Iterable[tuple[int, Witnessed | ValueError]], origin: str,
    verifiers: Iterable[Verifier],
) -> tuple[int, list[Finding]]:  # fmt: skip
    """Check the witness's copy (consent.ledger.witness) against the database: each
    checkpoint it holds verifies, the database still has it, and the stored tree's root at its
    size is its root. Returns how many it holds and the findings."""
    verifiers = list(verifiers)
    tree, findings, count = store.StoredTree(session), [], 0
    for number, held in lines:
        if isinstance(held, ValueError):
            findings.append(Finding(f"witness line {number}: {held}"))
            continue
        count += 1
        where = f"the witness's checkpoint {held.size}"
        try:
            signed = open_checkpoint(held.note, verifiers, origin)
        except (NoteError, CheckpointError) as exc:
            findings.append(Finding(f"{where}: its note does not verify ({exc})"))
            continue
        if (signed.size, signed.root_hash) != (held.size, held.root_hash):
            findings.append(Finding(f"{where}: its note says another tree"))
        stored = session.get(LedgerCheckpoint, held.size)
        if stored is None:
            findings.append(Finding(f"{where} is missing from the database"))
        elif stored.root_hash != held.root_hash:
            findings.append(Finding(f"{where} is not the database's checkpoint of that size"))
        if held.size > tree.size:
            findings.append(Finding(f"{where} is beyond the {tree.size} stored leaves"))
            continue
        try:
            root = tree.root(held.size)
        except store.LedgerCorrupt as exc:
            findings.append(Finding(f"{where}: the stored tree cannot say its root ({exc})"))
            continue
        if root != held.root_hash:
            findings.append(
                Finding(f"{where}: the stored leaves' root at its size differs: a rewritten log")
            )
    return count, findings

"""Storage of the audit log's Merkle tree (RFC 9162 section 2.1): its head, its leaves, the
hashes of its perfect subtrees and its signed checkpoints.

The head is one row: the tree's size and its compact range (the perfect subtrees the leaves
[0, size) split into, biggest first: one hash per set bit of the size), from which the next
leaf's completed subtrees and the root are computed without reading the tree. Leaves and
subtree hashes are only ever inserted; a proof reads O(log n) of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

HEAD_ID = 1  # the one row of ledger_head


class LedgerHead(Base):
    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # The compact range: 32-byte hashes, biggest subtree first (their sizes are the size's bits).
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class LedgerLeaf(Base):
    """One leaf: its index in the tree, what it records (``kind`` and the row's id) and its
    leaf hash, SHA-256(0x00 || canonical bytes)."""

    __tablename__ = "ledger_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerNode(Base):
    """The hash of the perfect subtree of 2**level leaves from idx * 2**level (level >= 1;
    level 0 is the leaf hash itself)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """A signed checkpoint: the C2SP signed note of the tree head at ``size`` leaves."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Signed checkpoints of the audit log: the tree head as a C2SP tlog-checkpoint, in a C2SP
signed note, signed with Ed25519 by the broker's audit key (keys, use ``audit``).

The note's key name is the log's origin. Every audit key ever made stays a verifier, so a
checkpoint signed before a rotation still verifies after it. A new checkpoint is signed only
after the tree at its size is shown consistent (RFC 9162 section 2.1.4) with the previous
checkpoint's root: a rewritten subtree stops the log instead of being signed over.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.ledger import store
from consent.ledger.checkpoint import Checkpoint
from consent.ledger.merkle import verify_consistency
from consent.ledger.models import LedgerCheckpoint
from consent.ledger.note import Signer, Verifier, sign
from core.db import insert_or_skip, utcnow
from core.hashing import b64url_decode
from keys.store import KeyStore

AUDIT = "audit"
LATEST = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
NEW = insert_or_skip(LedgerCheckpoint)


def origin_for(issuer: str) -> str:
    """The log's origin (c2sp.org/tlog-checkpoint: a schema-less URL): the broker's issuer
    without its scheme, then ``/consent-log``."""
    parts = urlsplit(issuer)
    return f"{parts.netloc}{parts.path.rstrip('/')}/consent-log"


def signer(origin: str, keys: KeyStore) -> Signer:
    """The note signer of the active audit key."""
    private = keys.active(AUDIT).private_key
    if not isinstance(private, Ed25519PrivateKey):
        raise TypeError("the audit key is not an Ed25519 key")
    return Signer(origin, private.private_bytes_raw())


def verifiers(origin: str, keys: KeyStore) -> list[Verifier]:
    """A verifier of every audit key ever made, newest first (c2sp.org/signed-note keys)."""
    rows = [row for row in keys.list_keys() if row.use == AUDIT]
    return [Verifier(origin, b64url_decode(row.public_jwk["x"])) for row in rows]


def latest(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(LATEST).first()


def make(session: Session, note_signer: Signer) -> LedgerCheckpoint:
    """A signed checkpoint of the tree as it is now (the latest one when nothing was appended
    since), written in the session's transaction. Raises store.LedgerCorrupt when the tree is
    not consistent with the previous checkpoint."""
    size, root = store.head(session)
    previous = latest(session)
    if previous is not None:
        if previous.size == size:
            return previous
        proof = store.StoredTree(session).consistency(previous.size, size)
        if not verify_consistency(previous.size, size, previous.root_hash, root, proof):
            raise store.LedgerCorrupt(
                f"the tree at {size} leaves is not consistent with the checkpoint at "
                f"{previous.size}"
            )
    text = Checkpoint(note_signer.name, size, root).to_text()
    note = sign(text, note_signer)
    dialect = session.get_bind().dialect.name
    values = {"size": size, "root_hash": root, "note": note, "created_at": utcnow()}
    session.execute(NEW[dialect].values(**values))  # a concurrent maker's is the same tree
    return session.get(LedgerCheckpoint, size)

"""The pure protocol core of the tamper-evident consent audit log, in transparency-log formats:
the RFC 9162 Merkle tree and its proofs (consent.ledger.merkle), C2SP signed notes with Ed25519
keys (consent.ledger.note) and C2SP tlog checkpoints (consent.ledger.checkpoint). No Flask, no
database: storage reaches the proofs through a callable that returns subtree hashes."""

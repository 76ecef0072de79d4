"""The audit log checked the way an outside auditor would: a running broker (`digione serve`),
fetched over HTTP, verified by tests/interop/tlog_verifier.py, written from RFC 9162 and the
C2SP specifications and importing nothing of DigiOne. The broker's side of the setup (leaves
appended to its database, checkpoints signed with `digione audit checkpoint`) uses the product."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from consent.ledger import store
from tests.interop import tlog_verifier as auditor


def entry(number: int) -> bytes:
    return hashlib.sha256(f"entry {number}".encode()).digest()


def append(database: str, numbers: range) -> None:
    engine = create_engine(database)
    with Session(engine) as session, session.begin():
        for number in numbers:
            store.append(session, "test", str(number), auditor.leaf_hash(entry(number)))
    engine.dispose()


def test_an_outside_verifier_checks_checkpoints_and_proofs_over_http(broker, interop_database):
    append(interop_database, range(9))
    broker.cli("audit", "checkpoint")
    base = f"{broker.url}/consent-log"
    keys = [auditor.NoteKey.parse(line) for line in auditor.fetch(f"{base}/keys").decode().split()]

    first_text = auditor.open_note(auditor.fetch(f"{base}/checkpoint").decode(), keys)
    origin, first_size, first_root = auditor.checkpoint(first_text)
    assert origin == broker.url.removeprefix("http://") + "/consent-log"
    assert first_size == 9

    for index in range(first_size):
        answer = auditor.fetch_json(f"{base}/proof/inclusion?index={index}&size={first_size}")
        path = [base64.b64decode(h) for h in answer["proof"]]
        leaf = auditor.leaf_hash(entry(index))
        assert auditor.inclusion_ok(index, first_size, leaf, path, first_root)
        assert not auditor.inclusion_ok(
            index, first_size, auditor.leaf_hash(b"x"), path, first_root
        )

    append(interop_database, range(9, 30))
    broker.cli("audit", "checkpoint")
    second_text = auditor.open_note(auditor.fetch(f"{base}/checkpoint").decode(), keys)
    _origin, second_size, second_root = auditor.checkpoint(second_text)
    assert second_size == 30

    answer = auditor.fetch_json(f"{base}/proof/consistency?old={first_size}&new={second_size}")
    path = [base64.b64decode(h) for h in answer["proof"]]
    assert auditor.consistency_ok(first_size, second_size, first_root, second_root, path)
    assert not auditor.consistency_ok(first_size, second_size, second_root, second_root, path)

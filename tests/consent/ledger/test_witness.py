"""Checkpoints while the broker serves, and their witness (consent.ledger.upkeep, .witness): a
checkpoint at most every ``audit.checkpoint_seconds`` when the log has grown, each copied to
the witness file after its signature and its consistency with the last copy are checked; a
log rewritten behind the broker (its checkpoints re-signed by the broker itself) is refused by
the witness, /readyz says so, and `digione audit verify --witness` names it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from consent.ledger import checkpoints, store
from consent.ledger.checkpoint import Checkpoint, open_checkpoint
from consent.ledger.note import Signer, sign
from consent.ledger.upkeep import UPKEEP
from consent.ledger.witness import Witnessed
from core.db import db
from keys.app import key_store
from tests.consent.ledger.test_verify import ORIGIN, leaf, tamper


def grow(app, count: int, salt: str = "") -> None:
    with app.app_context():
        key_store()  # keys made before the leaves' writes (SQLite: one writer)
        for number in range(count):
            store.append(db.session, "test", f"{salt}{number}", leaf(hash((salt, number))))
        db.session.commit()


def witnessed(app) -> list[dict]:
    path = Path(app.instance_path) / "audit-witness.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def notice(app) -> str:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    return response.get_json()["notices"]["audit_witness"]


@pytest.fixture
def every_second(app_config, request):
    app_config["audit"] = {"checkpoint_seconds": 1}
    return request.getfixturevalue("app")


def test_a_checkpoint_each_interval_when_the_log_grew_and_the_witness_holds_each(every_second):
    app = every_second
    client = app.test_client()
    client.get("/readyz")  # the first request: a checkpoint of the empty log
    grow(app, 5)
    client.get("/readyz")  # within the second: none
    assert [line["size"] for line in witnessed(app)] == [0]
    time.sleep(1.05)
    client.get("/readyz")
    time.sleep(1.05)
    client.get("/readyz")  # nothing appended since: no new checkpoint
    lines = witnessed(app)
    assert [line["size"] for line in lines] == [0, 5]
    with app.app_context():
        verifiers = checkpoints.verifiers(ORIGIN, key_store())
        assert checkpoints.latest(db.session).note == lines[-1]["note"]
    signed = open_checkpoint(lines[-1]["note"], verifiers, ORIGIN)
    assert signed.size == 5
    assert notice(app) == "current"


def test_the_witness_refuses_a_rewritten_log_and_readyz_and_verify_say_so(
    every_second, digione_cli
):
    app = every_second
    grow(app, 6)
    app.test_client().get("/readyz")
    assert [line["size"] for line in witnessed(app)] == [6]
    # A superuser rewrites the log from scratch, leaf 2 changed, and lets the broker sign it.
    tamper(
        app,
        ("DELETE FROM ledger_checkpoints", {}),
        ("DELETE FROM ledger_nodes", {}),
        ("DELETE FROM ledger_leaves", {}),
        ("UPDATE ledger_head SET size = 0, frontier = :empty", {"empty": b""}),
    )
    grow(app, 2)
    grow(app, 6, salt="x")
    time.sleep(1.05)
    app.test_client().get("/readyz")
    with app.app_context():
        assert checkpoints.latest(db.session).size == 8  # the database alone looks fine
    assert [line["size"] for line in witnessed(app)] == [6]
    state = notice(app)
    assert state.startswith("behind: checkpoint 8 does not extend the witnessed checkpoint 6")

    witness_file = str(Path(app.instance_path) / "audit-witness.jsonl")
    problems = digione_cli("audit", "verify", "--witness", witness_file, code=1)
    assert "the witness's checkpoint 6 is missing from the database" in problems
    assert "the witness's checkpoint 6: the stored leaves' root at its size differs" in problems


def test_the_witness_takes_no_checkpoint_its_keys_did_not_sign(every_second):
    app = every_second
    grow(app, 3)
    app.test_client().get("/readyz")
    grow(app, 1)
    with app.app_context():
        size, root = store.head(db.session)
    forged = sign(Checkpoint(ORIGIN, size, root).to_text(), Signer(ORIGIN, b"\x01" * 32))
    tamper(
        app,
        (
            "INSERT INTO ledger_checkpoints (size, root_hash, note, created_at) "
            "VALUES (:size, :root, :note, CURRENT_TIMESTAMP)",
            {"size": size, "root": root, "note": forged},
        ),
    )
    with app.app_context():
        upkeep = UPKEEP.of(app)
        upkeep.bring_witness(db.session, key_store())
    assert upkeep.problem.startswith("checkpoint 4: its note does not verify")
    assert [line["size"] for line in witnessed(app)] == [3]
    assert notice(app).startswith("behind: checkpoint 4: its note does not verify")


def test_a_witness_that_cannot_be_written_is_reported_and_caught_up_later(
    app_config, request, tmp_path
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    app_config["audit"] = {"checkpoint_seconds": 1, "witness_file": str(blocked / "w.jsonl")}
    app = request.getfixturevalue("app")
    grow(app, 2)
    app.test_client().get("/readyz")
    assert notice(app).startswith("behind: the witness file cannot be written or read")
    blocked.unlink()
    blocked.mkdir()
    with app.app_context():
        UPKEEP.of(app).bring_witness(db.session, key_store())
    assert notice(app) == "current"
    assert [json.loads(line)["size"] for line in (blocked / "w.jsonl").read_text().splitlines()]


def test_the_command_line_checkpoint_goes_to_the_witness_and_verify_checks_it(
    app, digione_cli, tmp_path
):
    grow(app, 4)
    digione_cli("audit", "checkpoint")
    witness_file = tmp_path / "cli-instance" / "audit-witness.jsonl"
    held = [Witnessed.parse(line) for line in witness_file.read_bytes().splitlines()]
    assert [entry.size for entry in held] == [4]
    assert "and the witness's 1 checkpoint(s)" in digione_cli("audit", "verify")

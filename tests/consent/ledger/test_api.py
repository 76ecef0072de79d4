"""The audit log's public face over HTTP, and `digione audit`: what an outside auditor fetches
verifies with the RFC 9162 and C2SP checks alone (consent.ledger.merkle, .note, .checkpoint),
and bad requests get OAuth-style JSON errors."""

from __future__ import annotations

import base64
import hashlib

import pytest

from consent.ledger import checkpoints, merkle, store
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.note import Verifier
from core.db import db
from keys.app import key_store

ORIGIN = "127.0.0.1:5000/consent-log"  # the test app's issuer is the default


def grow(count: int, start: int = 0) -> list[bytes]:
    leaves = [merkle.leaf_hash(hashlib.sha256(str(n).encode()).digest()) for n in range(count)]
    for number, digest in enumerate(leaves[start:], start):
        store.append(db.session, "test", str(number), digest)
    db.session.commit()
    return leaves


def checkpoint_now() -> None:
    checkpoints.make(db.session, checkpoints.signer(ORIGIN, key_store()))
    db.session.commit()


def b64(values: list[str]) -> list[bytes]:
    return [base64.b64decode(value) for value in values]


def fetch_checkpoint(client):
    keys = client.get("/consent-log/keys")
    assert keys.status_code == 200 and keys.mimetype == "text/plain"
    verifiers = [Verifier.parse(line) for line in keys.get_data(as_text=True).splitlines()]
    response = client.get("/consent-log/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return open_checkpoint(response.get_data(), verifiers, ORIGIN)


def test_an_auditor_verifies_checkpoints_and_proofs_fetched_over_http(app):
    client = app.test_client()
    with app.app_context():
        leaves = grow(6)
        checkpoint_now()
    first = fetch_checkpoint(client)
    assert (first.size, first.root_hash) == (6, merkle.root(leaves))
    with app.app_context():
        leaves = grow(13, start=6)
        checkpoint_now()
    second = fetch_checkpoint(client)
    assert second.size == 13

    for index in (0, 5, 12):
        answer = client.get(f"/consent-log/proof/inclusion?index={index}&size=13").get_json()
        leaf = base64.b64decode(answer["leaf_hash"])
        assert leaf == leaves[index]
        assert merkle.verify_inclusion(index, 13, leaf, b64(answer["proof"]), second.root_hash)

    answer = client.get("/consent-log/proof/consistency?old=6&new=13").get_json()
    assert merkle.verify_consistency(6, 13, first.root_hash, second.root_hash, b64(answer["proof"]))


@pytest.mark.parametrize(
    "query",
    [
        "/consent-log/proof/inclusion?index=3&size=3",
        "/consent-log/proof/inclusion?index=0&size=99",
        "/consent-log/proof/inclusion?index=-1&size=2",
        "/consent-log/proof/inclusion?index=x&size=2",
        "/consent-log/proof/inclusion?size=2",
        "/consent-log/proof/inclusion?index=0&size=99999999999999999999999",
        "/consent-log/proof/consistency?old=3&new=2",
        "/consent-log/proof/consistency?old=0&new=99",
        "/consent-log/proof/consistency?old=%D9%A3&new=3",  # an Arabic-Indic digit
    ],
)
def test_bad_proof_requests_get_a_json_400(app, query):
    with app.app_context():
        grow(3)
    response = app.test_client().get(query)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_the_first_request_signs_a_checkpoint_of_the_log_as_it_stands(app):
    checkpoint = fetch_checkpoint(app.test_client())
    assert (checkpoint.size, checkpoint.root_hash) == (0, merkle.EMPTY_ROOT)


def test_without_automatic_checkpoints_there_is_none_before_the_first(app_config, request):
    app_config["audit"] = {"checkpoint_seconds": 0}
    app = request.getfixturevalue("app")
    response = app.test_client().get("/consent-log/checkpoint")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_the_command_line_signs_a_checkpoint_its_keys_verify(app, digione_cli):
    with app.app_context():
        leaves = grow(5)
    note = digione_cli("audit", "checkpoint")
    verifiers = [Verifier.parse(line) for line in digione_cli("audit", "keys").splitlines()]
    opened = open_checkpoint(note, verifiers, ORIGIN)
    assert (opened.size, opened.root_hash) == (5, merkle.root(leaves))
    assert digione_cli("audit", "checkpoint") == note  # nothing added since: the same one

"""The audit log's public face, for anyone who audits it with their own tools: the latest
signed checkpoint (c2sp.org/tlog-checkpoint in a c2sp.org/signed-note), the verifier keys,
and RFC 9162 inclusion (section 2.1.3) and consistency (section 2.1.4) proofs, hashes in
standard base64. Read-only; each proof is O(log n) reads."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify, request

from consent.ledger import checkpoints, store
from core.app import config
from core.db import db
from keys.app import key_store

bp = Blueprint("consent_log", __name__, url_prefix="/consent-log")
MAX_SIZE = 2**63 - 1


def origin() -> str:
    return checkpoints.origin_for(config().settings.server.issuer)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _invalid(description: str) -> Response:
    response = jsonify(error="invalid_request", error_description=description)
    response.status_code = 400
    return response


def _numbers(*names: str) -> list[int] | Response:
    """The query's non-negative integers ``names``, or the 400 answer naming the first bad one."""
    values = []
    for name in names:
        raw = request.args.get(name, "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SIZE:
            return _invalid(f"'{name}' must be a non-negative integer")
        values.append(int(raw))
    return values


def _text(body: str, cache: str = "no-cache") -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = cache
    return response


@bp.get("/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint, as the note's text (404 before the first one)."""
    latest = checkpoints.latest(db.session)
    if latest is None:
        response = jsonify(error="not_found", error_description="No checkpoint has been made.")
        response.status_code = 404
        return response
    return _text(latest.note)


@bp.get("/keys")
def keys() -> Response:
    """The verifier key of every audit key ever made, one per line, newest first
    (``<origin>+<key id>+<base64 key>``, as Go's golang.org/x/mod/sumdb/note reads them)."""
    verifiers = checkpoints.verifiers(origin(), key_store())
    return _text("".join(f"{v.to_string()}\n" for v in verifiers), "public, max-age=300")


@bp.get("/proof/inclusion")
def inclusion() -> Response:
    """RFC 9162 2.1.3: the audit path of the leaf ``index`` in the tree of ``size`` leaves."""
    numbers = _numbers("index", "size")
    if isinstance(numbers, Response):
        return numbers
    index, size = numbers
    tree = store.StoredTree(db.session)
    if not index < size <= tree.size:
        return _invalid(f"need index < size <= {tree.size}, the tree's size")
    leaf, proof = tree.leaf_and_inclusion(index, size)
    return jsonify(index=index, size=size, leaf_hash=_b64(leaf), proof=[_b64(h) for h in proof])


@bp.get("/proof/consistency")
def consistency() -> Response:
    """RFC 9162 2.1.4: the proof that the tree of ``new`` leaves extends that of ``old``."""
    numbers = _numbers("old", "new")
    if isinstance(numbers, Response):
        return numbers
    old, new = numbers
    tree = store.StoredTree(db.session)
    if not old <= new <= tree.size:
        return _invalid(f"need old <= new <= {tree.size}, the tree's size")
    proof = tree.consistency(old, new)
    return jsonify(old=old, new=new, proof=[_b64(h) for h in proof])

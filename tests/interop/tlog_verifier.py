"""An auditor's verifier of a transparency log, written from the specifications alone and
importing nothing of DigiOne: RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency),
c2sp.org/signed-note (Ed25519 signatures, key ids, verifier keys) and c2sp.org/tlog-checkpoint
(origin, size, root). Ed25519 itself is the cryptography package's. It fetches over HTTP with
urllib, as a tool of another party would."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def inclusion_ok(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_ok(first: int, second: int, first_hash: bytes, second_hash: bytes, path) -> bool:
    """RFC 9162 section 2.1.4.2, step by step (equal sizes: an empty proof, equal roots)."""
    if first == second:
        return not path and first_hash == second_hash
    if first == 0 or first > second or not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_hash and sr == second_hash and sn == 0


@dataclass(frozen=True)
class NoteKey:
    """A verifier key ``<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>``."""

    name: str
    key_id: bytes
    public: bytes

    @classmethod
    def parse(cls, text: str) -> NoteKey:
        name, hex_id, b64 = text.split("+", 2)  # base64 may hold "+" too
        raw = base64.b64decode(b64)
        if raw[0] != 1 or len(raw) != 33:
            raise ValueError("not an Ed25519 verifier key")
        key = cls(name, bytes.fromhex(hex_id), raw[1:])
        computed = hashlib.sha256(name.encode() + b"\n\x01" + key.public).digest()[:4]
        if computed != key.key_id:
            raise ValueError("the key id does not match the key")
        return key


def open_note(note: str, keys: list[NoteKey]) -> str:
    """The text of a signed note that one of ``keys`` signed; ValueError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ValueError("not a signed note")
    text += "\n"
    for line in signatures.splitlines():
        dash, name, b64 = line.split(" ")
        if dash != EM_DASH:
            raise ValueError("not a signature line")
        raw = base64.b64decode(b64)
        for key in keys:
            if key.name == name and key.key_id == raw[:4]:
                try:
                    Ed25519PublicKey.from_public_bytes(key.public).verify(raw[4:], text.encode())
                except InvalidSignature:
                    raise ValueError("a known key's signature does not verify") from None
                return text
    raise ValueError("no known key signed the note")


def checkpoint(text: str) -> tuple[str, int, bytes]:
    """(origin, size, root hash) of a checkpoint's text."""
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's own server
        return response.read()


def fetch_json(url: str) -> dict:
    return json.loads(fetch(url))

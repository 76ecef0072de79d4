"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, the format of Go's
golang.org/x/mod/sumdb/note.

A note is a text ending in a newline, an empty line, then one or more signature lines
``— <key name> base64(4-byte key ID || signature)`` (U+2014 EM DASH, space; "Format"). An
Ed25519 key is identified by its name and the key ID SHA-256(name || 0x0A || 0x01 || public
key)[:4] ("Ed25519 signatures"); keys travel as the verifier key string
``<name>+<hex8 key ID>+base64(0x01 || public key)`` and the signer key string
``PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x01 || seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01  # the signature type byte of Ed25519 ("Signature types")
MAX_SIGNATURES = 100  # the spec asks verifiers for a limit of at least 16; Go's is 100
SIGNATURE_PREFIX = "\u2014 "  # EM DASH, space
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A malformed note or key string, a text that cannot be signed, or a bad signature."""


class UnverifiedNoteError(NoteError):
    """No signature by a known key: the text MUST be ignored ("Signatures").

    ``text`` and ``unverified`` are kept for diagnostics only; nothing vouches for them.
    """

    def __init__(self, text: str, unverified: tuple[Signature, ...]) -> None:
        super().__init__("note has no verifiable signatures")
        self.text = text
        self.unverified = unverified


class Signature(NamedTuple):
    """One signature line: key name, key ID and the signature bytes after the key ID."""

    name: str
    key_id: int
    signature: bytes


class OpenedNote(NamedTuple):
    """A verified note: its text (with its final newline) and the signatures that verified."""

    text: str
    signatures: tuple[Signature, ...]


def _is_clean(text: str, allowed: str = "") -> bool:
    """Encodable as UTF-8 (no lone surrogate) and no ASCII control character but ``allowed``."""
    return not any((c < " " and c not in allowed) or "\ud800" <= c <= "\udfff" for c in text)


def is_valid_name(name: str) -> bool:
    """Key names are non-empty, with no Unicode spaces, no '+' and no control characters."""
    return bool(name) and _is_clean(name) and not any(c.isspace() or c in "+\x7f" for c in name)


def key_id(name: str, public_key: bytes) -> int:
    """The key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4] ("Ed25519 signatures")."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def decode_base64(value: str) -> bytes:
    """Standard padded base64 (RFC 4648 section 4), refusing anything but its canonical form."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("malformed base64") from exc
    if base64.b64encode(raw).decode("ascii") != value:
        raise NoteError("malformed base64")
    return raw


def _parse_key_body(name: str, hex8: str, b64: str) -> tuple[int, bytes]:
    if not is_valid_name(name) or not _HEX8.fullmatch(hex8):
        raise NoteError("malformed key string")
    key = decode_base64(b64)
    if len(key) != 33 or key[0] != ED25519:
        raise NoteError("not a 32-byte Ed25519 key")
    return int(hex8, 16), key[1:]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 verifier key: a name and a 32-byte public key, with its derived key ID."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex8 key ID>+<base64(0x01 || public key)>``, checking the key ID."""
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise NoteError("malformed verifier key")
        claimed, public_key = _parse_key_body(*parts)
        verifier = cls(parts[0], public_key)
        if verifier.key_id != claimed:
            raise NoteError("verifier key ID does not match the key")
        return verifier

    def to_string(self) -> str:
        """The verifier key string, as :meth:`parse` reads it."""
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature (RFC 8032) of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signer key: a name and a 32-byte private seed (never shown in its repr)."""

    name: str
    seed: bytes = field(repr=False)
    verifier: Verifier = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")
        public_key = self._private_key().public_key().public_bytes_raw()
        object.__setattr__(self, "verifier", Verifier(self.name, public_key))

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key named ``name``."""
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 || seed)>``, checking the ID."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("malformed signer key")
        claimed, seed = _parse_key_body(*parts[2:])
        signer = cls(parts[2], seed)
        if signer.key_id != claimed:
            raise NoteError("signer key ID does not match the key")
        return signer

    @property
    def key_id(self) -> int:
        """The key ID, that of the matching verifier key."""
        return self.verifier.key_id

    def to_string(self) -> str:
        """The signer key string, as :meth:`parse` reads it. It is a secret."""
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{encoded}"

    def sign_bytes(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature (RFC 8032) of ``message``."""
        return self._private_key().sign(message)

    def _private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)


def sign(text: str, *signers: Signer) -> str:
    """The signed note: ``text``, an empty line, one signature line per signer ("Format")."""
    if not signers or len(signers) > MAX_SIGNATURES:
        raise NoteError(f"sign with 1 to {MAX_SIGNATURES} keys")
    if not text.endswith("\n") or not _is_clean(text, "\n"):  # "Format"
        raise NoteError("note text must end with a newline, without control characters")
    if len({(s.name, s.key_id) for s in signers}) != len(signers):
        raise NoteError("the same key twice")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        blob = signer.key_id.to_bytes(4, "big") + signer.sign_bytes(message)
        lines.append(f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(blob).decode('ascii')}\n")
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("malformed note")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space or not is_valid_name(name) or not encoded:
        raise NoteError("malformed note")
    blob = decode_base64(encoded)
    if len(blob) < 5:
        raise NoteError("malformed note")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def open_note(note: str | bytes, known_verifiers: Iterable[Verifier]) -> OpenedNote:
    """Parse a signed note and verify it against the known keys ("Format", "Signatures").

    Signatures by unknown keys (name and key ID not both matching a known key) are ignored; a
    signature by a known key that does not verify rejects the note; a note without one verified
    signature raises :class:`UnverifiedNoteError`. Malformed notes and notes of more than
    :data:`MAX_SIGNATURES` signature lines raise :class:`NoteError`.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("malformed note") from exc
    split = note.rfind("\n\n")  # the text ends at the last empty line
    if split < 0 or not _is_clean(note, "\n"):  # valid UTF-8, no control characters but \n
        raise NoteError("malformed note")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note: too many signatures")
    signatures = [_parse_signature_line(line) for line in lines]

    known: dict[tuple[str, int], Verifier | None] = {}  # None: two different keys
    for v in known_verifiers:
        ident = (v.name, v.key_id)
        known[ident] = v if known.get(ident, v) == v else None
    message = text.encode("utf-8")
    verified: dict[tuple[str, int], Signature] = {}
    unverified: dict[Signature, None] = {}
    for sig in signatures:
        ident = (sig.name, sig.key_id)
        if ident not in known:
            unverified.setdefault(sig)
            continue
        verifier = known[ident]
        if verifier is None:
            raise NoteError(f"ambiguous key {sig.name}+{sig.key_id:08x}")
        if not verifier.verify(message, sig.signature):
            raise NoteError(f"invalid signature for key {sig.name}+{sig.key_id:08x}")
        verified.setdefault((sig.name, sig.key_id), sig)
    if not verified:
        raise UnverifiedNoteError(text, tuple(unverified))
    return OpenedNote(text, tuple(verified.values()))

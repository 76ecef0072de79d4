"""C2SP transparency log checkpoints (c2sp.org/tlog-checkpoint): the signed tree head.

The note text ("Note text") is the origin line, the tree size in decimal without leading zeros,
the standard base64 of the 32-byte RFC 9162 root hash, each ending in a newline, then optional
non-empty extension lines. The checkpoint is signed as a C2SP signed note (consent.ledger.note).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from consent.ledger.merkle import HASH_SIZE
from consent.ledger.note import NoteError, Verifier, decode_base64, open_note

MAX_SIZE = 2**64 - 1  # tree sizes are uint64 in every implementation of the format
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A malformed checkpoint body, or one from another log than expected."""


def _check_line(value: str, what: str) -> None:
    if not value:
        raise CheckpointError(f"empty {what}")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise CheckpointError(f"control character in the {what}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and (not recommended) extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("the tree size is an integer")
        if not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError("the tree size is out of range")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"the root hash is {HASH_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            _check_line(line, "extension line")

    def to_text(self) -> str:
        """The note text: origin, size, base64 root hash and extension lines, newline-ended."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint note text ("Note text"), refusing anything malformed."""
        if not text.endswith("\n"):
            raise CheckpointError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("a checkpoint has an origin, a size and a root hash")
        origin, size, encoded, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise CheckpointError("the tree size is decimal without leading zeros")
        try:
            root_hash = decode_base64(encoded)
        except NoteError as exc:
            raise CheckpointError("the root hash is not standard base64") from exc
        return cls(origin, int(size), root_hash, tuple(extensions))


def open_checkpoint(
    signed: str | bytes, known_verifiers: Iterable[Verifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note (consent.ledger.note.open_note) and parse its text.

    With ``origin``, the checkpoint must come from that log. Raises NoteError for the note,
    CheckpointError for the body.
    """
    checkpoint = Checkpoint.parse(open_note(signed, known_verifiers).text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint of {checkpoint.origin!r}, not of {origin!r}")
    return checkpoint

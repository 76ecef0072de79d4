"""The audit log's witness: a copy of every checkpoint kept outside the database, in an
append-only file of the broker's host, so that whoever controls the database cannot rewrite
the log and its checkpoints together without the witness's copy disagreeing.

One JSON object per line: ``size``, ``root_hash`` (standard base64), ``note`` (the signed
checkpoint, c2sp.org/tlog-checkpoint) and ``witnessed_at``. Like a transparency log's
witness, it takes a checkpoint only when its note verifies under the audit keys and the tree
it names is shown consistent (RFC 9162 section 2.1.4) with the last one it holds; a
checkpoint that is not is refused and reported, never written."""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from consent.ledger.checkpoint import CheckpointError, open_checkpoint
from consent.ledger.note import NoteError, Verifier
from core.db import utcnow

TAIL = 64 * 1024  # a line is about 400 bytes; the last one is in the file's last 64 KiB


class WitnessRefused(Exception):
    """A checkpoint the witness does not take: its note does not verify, or its tree does not
    extend the last one witnessed."""


@dataclass(frozen=True)
class Witnessed:
    """One checkpoint as the witness holds it."""

    size: int
    root_hash: bytes
    note: str

    def line(self) -> bytes:
        body = {
            "size": self.size,
            "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
            "note": self.note,
            "witnessed_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()

    @classmethod
    def parse(cls, line: bytes) -> Witnessed:
        try:
            body = json.loads(line)
            root = base64.b64decode(body["root_hash"], validate=True)
            size, note = body["size"], body["note"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a witness line ({exc})") from None
        if not isinstance(size, int) or size < 0 or not isinstance(note, str) or len(root) != 32:
            raise ValueError("not a witness line (size, root_hash or note)")
        return cls(size, root, note)


# Whether the tree of ``new`` leaves with root ``new_root`` extends the witnessed tree ``old``
# (a consistency proof from the stored tree, checked against the witness's root).
Consistent = Callable[[Witnessed, Witnessed], bool]


class WitnessFile:
    """The witness's file at ``path``; several processes may append to it (each append takes
    an exclusive lock on the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def last(self) -> Witnessed | None:
        """The last checkpoint witnessed, or None before the first."""
        try:
            with self.path.open("rb") as handle:
                return _last(handle)
        except FileNotFoundError:
            return None

    def entries(self) -> Iterator[tuple[int, Witnessed | ValueError]]:
        """Every line, numbered from 1, as a checkpoint or the reason it is not one."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            for number, line in enumerate(handle, 1):
                try:
                    yield number, Witnessed.parse(line)
                except ValueError as exc:
                    yield number, exc

    def record(
        self,
        checkpoints: Iterable[Witnessed],
        origin: str,
        verifiers: list[Verifier],
        consistent: Consistent,
    ) -> int:
        """Append each of ``checkpoints`` (in size order) bigger than the last witnessed,
        after checking its signature and its consistency with the last; returns how many were
        appended. Raises WitnessRefused at the first that fails (those before it stay)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND
        with os.fdopen(os.open(self.path, flags, 0o640), "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            last, added = _last(handle), 0
            for checkpoint in checkpoints:
                if last is not None and checkpoint.size <= last.size:
                    continue
                _check(checkpoint, last, origin, verifiers, consistent)
                handle.write(checkpoint.line())
                handle.flush()
                os.fsync(handle.fileno())
                last, added = checkpoint, added + 1
            return added


def _check(
    new: Witnessed,
    last: Witnessed | None,
    origin: str,
    verifiers: list[Verifier],
    consistent: Consistent,
) -> None:
    try:
        signed = open_checkpoint(new.note, verifiers, origin)
    except (NoteError, CheckpointError) as exc:
        raise WitnessRefused(f"checkpoint {new.size}: its note does not verify ({exc})") from None
    if (signed.size, signed.root_hash) != (new.size, new.root_hash):
        raise WitnessRefused(f"checkpoint {new.size}: its note says another tree")
    if last is not None and not consistent(last, new):
        raise WitnessRefused(
            f"checkpoint {new.size} does not extend the witnessed checkpoint {last.size}: "
            "the log was rewritten"
        )


def _last(handle) -> Witnessed | None:
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    handle.seek(max(0, end - TAIL))
    lines = handle.read().splitlines()
    for line in reversed(lines):
        if line.strip():
            return Witnessed.parse(line)
    return None

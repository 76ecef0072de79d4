"""The audit log's upkeep while the broker serves: a signed checkpoint at most every
``audit.checkpoint_seconds`` when the log has grown, and each checkpoint handed to the witness
(consent.ledger.witness). Runs before a request, as the signing keys' upkeep does, in a
session of its own, so a request's pending work is never committed by it; a process does it
at most once per interval, and skips it while another thread of the process is at it."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent.ledger import checkpoints, store
from consent.ledger.merkle import verify_consistency
from consent.ledger.models import LedgerCheckpoint
from consent.ledger.witness import Witnessed, WitnessFile, WitnessRefused
from core.app import Slot, config_of
from core.db import db, utcnow

log = logging.getLogger("digione.audit")
RETRY_AFTER_FAILURE = 5.0
NEWER = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)


def witness_for(path: str, instance: Path) -> WitnessFile | None:
    """The witness file the ``audit.witness_file`` setting names (relative to the instance
    folder), or None when it is empty."""
    if not path:
        return None
    return WitnessFile(instance / path)


def consistent_in(session: Session):
    """A witness's consistency check against the stored tree (RFC 9162 section 2.1.4): the
    proof from the stored tree between the two sizes, checked against the witness's root."""
    tree = store.StoredTree(session)

    def consistent(old: Witnessed, new: Witnessed) -> bool:
        if new.size > tree.size:
            return False
        proof = tree.consistency(old.size, new.size)
        return verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)

    return consistent


def witness(session: Session, file: WitnessFile, origin: str, verifiers: list) -> int:
    """Hand the witness every stored checkpoint newer than its last; returns how many it
    took. Raises WitnessRefused for one it does not take."""
    last = file.last()
    newer = NEWER if last is None else NEWER.where(LedgerCheckpoint.size > last.size)
    rows = [Witnessed(row.size, row.root_hash, row.note) for row in session.scalars(newer)]
    if not rows:
        return 0
    return file.record(rows, origin, verifiers, consistent_in(session))


class LogUpkeep:
    """Per app: when the next checkpoint is due, and how the witness stands."""

    def __init__(self, app: Flask) -> None:
        settings = config_of(app).settings
        self.app = app
        self.seconds = settings.audit.checkpoint_seconds
        self.origin = checkpoints.origin_for(settings.server.issuer)
        self.witness = witness_for(settings.audit.witness_file, Path(app.instance_path))
        self.problem: str | None = None  # why the witness is behind, when it is
        self._lock = threading.Lock()
        self._next = 0.0

    def due(self) -> bool:
        return self.seconds > 0 and time.monotonic() >= self._next

    def run(self) -> None:
        """Sign a checkpoint when the last is older than the interval and the log has grown
        since; then bring the witness up to date."""
        if not self.due() or not self._lock.acquire(blocking=False):
            return
        try:
            self._next = time.monotonic() + self._make()
        finally:
            self._lock.release()

    def _make(self) -> float:
        """Does the work; returns the seconds until it is due again."""
        from keys.app import key_store

        keys = key_store()
        try:
            with Session(db.engine) as session:
                latest = checkpoints.latest(session)
                age = (utcnow() - latest.created_at).total_seconds() if latest else self.seconds
                if age < self.seconds:
                    return self.seconds - age
                if latest is None or store.size(session) > latest.size:
                    checkpoints.make(session, checkpoints.signer(self.origin, keys))
                    session.commit()
                self.bring_witness(session, keys)
        except store.LedgerCorrupt as exc:
            log.critical("audit log checkpoint refused", extra={"event": {"reason": str(exc)}})
        except SQLAlchemyError as exc:  # e.g. the database is not migrated yet
            log.warning(
                "audit log checkpoint failed", extra={"event": {"error": type(exc).__name__}}
            )
            return RETRY_AFTER_FAILURE
        return self.seconds

    def bring_witness(self, session: Session, keys) -> None:
        """Hand the witness what it lacks; a refusal or a failure to write is logged and kept
        for /readyz (``problem``) until the witness is current again."""
        if self.witness is None:
            return
        verifiers = checkpoints.verifiers(self.origin, keys)
        try:
            witness(session, self.witness, self.origin, verifiers)
            self.problem = None
        except WitnessRefused as exc:
            self.problem = str(exc)
            log.critical(
                "audit witness refused a checkpoint", extra={"event": {"reason": str(exc)}}
            )
        except (OSError, ValueError) as exc:
            self.problem = f"the witness file cannot be written or read ({exc})"
            log.error("audit witness not written", extra={"event": {"reason": self.problem}})

    def witness_state(self, session: Session) -> str:
        """``current``, ``off``, or ``behind: <why>`` (the witness holds less than the
        database's latest checkpoint)."""
        if self.witness is None:
            return "off"
        if self.problem:
            return f"behind: {self.problem}"
        latest = checkpoints.latest(session)
        try:
            last = self.witness.last()
        except (OSError, ValueError) as exc:
            return f"behind: the witness file cannot be read ({exc})"
        if latest is not None and (last is None or last.size < latest.size):
            held = f"checkpoint {last.size}" if last else "no checkpoint"
            return f"behind: it holds {held}, the log's latest is {latest.size}"
        return "current"


UPKEEP: Slot[LogUpkeep] = Slot("digione.audit_log")

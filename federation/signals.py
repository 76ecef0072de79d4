"""What federation tells the packages built on it, without importing them (blinker signals,
as Flask and authlib's Flask integration announce events): a package that cares connects a
receiver in its ``init_app``.

``custody_changed``: sent with the SQLAlchemy ``Session`` of the sign-in that changed it as the
sender and ``child_ids``, the internal ids of the children whose guardians or protection
changed, inside that sign-in's transaction (a receiver's writes commit or roll back with it).
consent re-evaluates the children's consents (CONSENT.md)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
custody_changed = _signals.signal("custody-changed")

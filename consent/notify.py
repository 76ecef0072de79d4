"""Telling guardians that a service asks for their consent. The broker calls the
app's notifier when a request is created; the default only logs (identifiers, never names),
and the guardians see the request on their next visit to their consent page. A deployment
plugs in e-mail or the cities' messaging by setting ``app.extensions["digione.notifier"]``."""

from __future__ import annotations

import logging
from typing import Protocol

from flask import current_app, has_app_context

log = logging.getLogger("digione.consent")


class Notifier(Protocol):
    def consent_requested(self, record_id: str, deciders: list[str]) -> None: ...


class LoggingNotifier:
    """Development: one log line per request, with the record id and how many to tell."""

    def consent_requested(self, record_id: str, deciders: list[str]) -> None:
        log.info(
            "consent requested",
            extra={"event": {"record": record_id, "notify": len(deciders)}},
        )


def notifier() -> Notifier:
    if has_app_context():
        return current_app.extensions.get("digione.notifier") or LoggingNotifier()
    return LoggingNotifier()

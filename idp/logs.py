"""Structured logs: one JSON object per line, each with the request id.

Nothing personal goes in: request lines carry the path without its query string, and events name
cities and outcomes, never user names, passwords, tokens or identifiers of people.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, has_request_context, request

from core.settings.schema import LoggingSettings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID = "digione.request_id"  # the WSGI environ key
log = logging.getLogger("digione")
access = logging.getLogger("digione.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request.environ.get(REQUEST_ID) if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    """Render a record as JSON; extra fields given as ``extra={"event": {...}}`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        entry.update(getattr(record, "event", {}) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(settings: LoggingSettings) -> None:
    """Send the digione loggers to stderr in the configured format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if settings.format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger("digione")
    for old in [h for h in root.handlers if getattr(h, "_digione", False)]:
        root.removeHandler(old)
    handler._digione = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.level)
    root.propagate = True  # pytest's caplog listens at the root logger


class AccessLog:
    """WSGI middleware around the whole app: every request gets an id (the caller's
    ``X-Request-Id`` when well formed, else a new one) in the environ, on the response and on
    every log line, and one access-log line (method, path without the query, status, time).

    At the WSGI level rather than as Flask hooks: the same for every response, errors
    included, and cheap enough for the token endpoint ."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
        environ[REQUEST_ID] = request_id
        started = time.perf_counter()

        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            headers.append(("X-Request-Id", request_id))
            if access.isEnabledFor(logging.INFO):
                event = {
                    "method": environ.get("REQUEST_METHOD"),
                    "path": _path(environ),
                    "status": int(status[:3]),
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
                access.info("request", extra={"request_id": request_id, "event": event})
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def _path(environ: dict) -> str:
    """The path as Flask's ``request.path`` gives it (WSGI carries it as latin-1)."""
    return environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")


def init_app(app: Flask, settings: LoggingSettings) -> None:
    configure(settings)
    app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]

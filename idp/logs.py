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
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

from idp.settings.schema import LoggingSettings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = logging.getLogger("digione")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
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


def init_app(app: Flask, settings: LoggingSettings) -> None:
    configure(settings)
    access = logging.getLogger("digione.access")

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        access.info(
            "request",
            extra={
                "event": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(elapsed, 1),
                }
            },
        )
        return response

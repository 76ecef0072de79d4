"""Live brokers on a loopback port; the browser is tests/conftest.py's shared Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.consent.conftest import seed_consent_demo


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` served on a free loopback port (threaded) while the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(seeded) -> Iterator[str]:
    with serving(seeded) as url:
        yield url


@pytest.fixture
def consent_server(seeded) -> Iterator[str]:
    """A live broker with the demo people, clients and purposes (tests/consent's data)."""
    with serving(seed_consent_demo(seeded)) as url:
        yield url

"""Pooled PostgreSQL connections (core.db.ping_when_idle): one that lay idle is tested before use
and replaced when the server has dropped it; a busy connection is used without a test."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from core.db import ping_when_idle
from idp.migrate import scratch_database
from tests.conftest import PG_URL, require

SERVER = PG_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def engine(tmp_path):
    try:
        create_engine(SERVER).connect().close()
    except OperationalError:
        require(False, "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(SERVER, tmp_path, "digione_pool") as url:
        made = create_engine(url, pool_size=1, max_overflow=0)
        yield made
        made.dispose()


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _backend(connection) -> int:
    return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_dropped_idle_connection_is_replaced_before_use(engine):
    ping_when_idle(engine, idle_seconds=0.05)
    with engine.connect() as connection:
        first = _backend(connection)
    with create_engine(SERVER).connect() as admin:  # as a restart or a firewall would
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.commit()
    time.sleep(0.1)
    with engine.connect() as connection:  # no error: the pool tested it and made a new one
        assert _backend(connection) != first


def test_a_busy_connection_is_used_without_a_test(engine):
    ping_when_idle(engine, idle_seconds=60)
    with engine.connect() as connection:
        first = _backend(connection)
    seen = _statements(engine)
    with engine.connect() as connection:
        assert _backend(connection) == first
    assert seen == ["SELECT pg_backend_pid()"]  # no ping before it

"""Storage conformance: one suite over the kernel's storage helpers (core.db) and the guarantees
the schema itself gives, run against every backend the product supports, SQLite and PostgreSQL,
in the same test run (as dex's storage/conformance runs one set of tests against each storage).

The code above the storage is written once for both databases; what differs is underneath:
how a timestamp is stored and compared, how ON CONFLICT and foreign keys behave, how concurrent
writers wait for each other, how partial unique indexes and triggers are declared. Each test
states one such guarantee and runs on both backends, on a database built by the Alembic
migrations (not created from the models), so that a difference between the backends, or
between the migrations and the models, fails here rather than in production. Plain SQLAlchemy
engines and sessions: no Flask app.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from idp.migrate import scratch_database, upgrade
from tests.conftest import PG_URL, empty_database, require

SERVER = PG_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
EEST = timezone(timedelta(hours=3))  # Helsinki in summer


def _reachable(url: str) -> bool:
    probe = create_engine(url)
    try:
        with probe.connect():
            return True
    except OperationalError:
        return False
    finally:
        probe.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    """As the app sets them (idp.app._sqlite_pragmas): foreign keys enforced, WAL."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A fresh database of the backend, migrated to head: a SQLite file (concurrent writers
    wait up to 10 s for the lock), or a new PostgreSQL database dropped afterwards."""
    server = None
    if request.param == "postgresql":
        where = make_url(SERVER).render_as_string(hide_password=True)
        require(_reachable(SERVER), f"PostgreSQL not reachable at {where}")
        server = SERVER
    with scratch_database(server, tmp_path_factory.mktemp("storage"), "digione_storage") as url:
        migrating = create_engine(url)
        upgrade(migrating)
        migrating.dispose()
        if server is None:
            made = create_engine(url, connect_args={"timeout": 10})
            _sqlite_pragmas(made)
        else:
            made = create_engine(url)
        yield made
        made.dispose()


@pytest.fixture(autouse=True)
def _empty_after(engine: Engine) -> Iterator[None]:
    """Every test starts from an empty database (the append-only tables' rows included)."""
    yield
    empty_database(engine)


def count(engine: Engine, model: type, **where: object) -> int:
    """How many rows of ``model`` match ``where``."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**where))

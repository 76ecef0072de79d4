"""The one SQLAlchemy declarative base and Flask-SQLAlchemy extension every package's models use."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, Insert, MetaData, TypeDecorator, bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


ZERO = timedelta(0)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Aware and in UTC whatever the connection's time zone (PostgreSQL returns
        ``timestamptz`` in the session's TimeZone setting)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if value.utcoffset() == ZERO else value.astimezone(UTC)


# Finnish time: the days and dates people see (a consent valid until a day, a day's statistics).
HELSINKI = ZoneInfo("Europe/Helsinki")


def utcnow() -> datetime:
    return datetime.now(UTC)


db = SQLAlchemy(model_class=Base)
IDLE_PING_SECONDS = 10.0


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Test a pooled connection before use when it has lain idle for ``idle_seconds``: one
    dropped by a database restart, a failover or a firewall's idle timeout is replaced before
    a request uses it (SQLAlchemy retries the checkout with a new connection). A busy server
    never waits for the test; ``pool_pre_ping`` costs a round trip at every checkout (5-8 %
    of a refresh grant on PostgreSQL)."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_idle(dbapi_connection, record, _proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError("pooled connection is gone") from exc


def commit_begun() -> None:
    """Commit the request's session if it began a transaction (a read, or an object added).
    A request that never touched the database has nothing to commit; asking the scoped session
    would build one only to find that out (a tenth of a client_credentials grant)."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


# A prebuilt INSERT and its values: a row to write with others (insert_together).
Write = tuple[Insert, dict]


class Prebuilt:
    """An INSERT built once, with one bind parameter per column named ``<prefix>_<column>``,
    so that it can run in one statement with others (insert_together) without a name clash."""

    def __init__(self, statement: Insert, prefix: str, columns: Iterable[str]) -> None:
        self.prefix = prefix
        self.statement = statement.values({name: bindparam(f"{prefix}_{name}") for name in columns})

    def row(self, values: dict) -> Write:
        """The statement with ``values`` (by column) under its parameter names."""
        return self.statement, {f"{self.prefix}_{name}": value for name, value in values.items()}


def insert_or_skip(model) -> dict[str, Insert]:
    """INSERT ... ON CONFLICT DO NOTHING for ``model``, per dialect: a row written once, which
    concurrent requests do not collide on."""
    return {
        "postgresql": postgresql.insert(model).on_conflict_do_nothing(),
        "sqlite": sqlite.insert(model).on_conflict_do_nothing(),
    }


_TOGETHER: dict[tuple, Insert] = {}


def insert_together(session: Session, *writes: Write | None) -> None:
    """Run INSERTs (Prebuilt rows: statements and their values; None skipped) in one
    round trip on PostgreSQL: the others become data-modifying WITH clauses of the first
    (PostgreSQL 15 manual, 7.8.4), all in one snapshot, none reading another's rows; foreign
    keys are checked at the end of the statement, so a row may refer to one written with
    it. Elsewhere one by one, in the order given (a referred row first). Each prebuilt
    statement at most once per call: its parameter names are its own."""
    todo = [write for write in writes if write is not None]
    if not todo:
        return
    if len({id(statement) for statement, _values in todo}) != len(todo):
        # One statement's parameter names would collide in the joined statement.
        raise ValueError("insert_together: the same prebuilt INSERT twice in one call")
    connection = session.connection()  # Core: the ORM's bulk-insert path costs more here
    if connection.dialect.name != "postgresql":
        for statement, values in todo:
            connection.execute(statement, values)
        return
    key = tuple(statement for statement, _values in todo)  # compared by identity
    together = _TOGETHER.get(key)
    if together is None:
        together = todo[0][0]
        for number, (statement, _values) in enumerate(todo[1:]):
            together = together.add_cte(statement.cte(f"together_{number}"))
        if len(_TOGETHER) < 64:  # the callers' prebuilt combinations are a handful
            _TOGETHER[key] = together
    connection.execute(together, {name: v for _s, values in todo for name, v in values.items()})

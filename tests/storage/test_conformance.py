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

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session

from consent.models import AuditEntry, ConsentEvent, ConsentRecord, Purpose
from consent.schema import APPEND_ONLY, MESSAGE
from core.db import Write, insert_or_skip, insert_together, utcnow
from federation.models import Person, School
from idp.migrate import current, head, scratch_database, upgrade
from idp.models import metadata
from idp.oidc.grants import INSERT_FAMILY
from idp.oidc.models import AccessTokenRecord, Client, RefreshToken, TokenFamily, UsedAssertion
from idp.oidc.tokens import INSERT_ACCESS, INSERT_REFRESH
from keys.models import ACTIVE, NEXT, RETIRED, SigningKey
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


# core.db.UTCDateTime (on oauth_used_assertions.expires_at)


def _assertion(jti: str, expires_at: datetime) -> UsedAssertion:
    return UsedAssertion(client_id="client", jti=jti, expires_at=expires_at)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=EEST),
    ],
    ids=["utc", "utc+3"],
)
def test_utc_datetime_round_trips_an_aware_datetime_as_utc(engine: Engine, moment: datetime):
    """An aware datetime, in UTC or another offset, comes back as the same instant, in UTC."""
    with Session(engine) as session, session.begin():
        session.add(_assertion("jti", moment))
    with Session(engine) as session:
        loaded = session.scalars(select(UsedAssertion.expires_at)).one()
    assert loaded == moment
    assert loaded.utcoffset() == timedelta(0)


def test_utc_datetime_is_utc_whatever_the_connection_time_zone(engine: Engine):
    """A PostgreSQL session in another TimeZone returns timestamptz in that zone: the column
    still gives the instant in UTC."""
    moment = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.add(_assertion("jti", moment))
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SET TIME ZONE 'Europe/Helsinki'"))
        loaded = session.scalars(select(UsedAssertion.expires_at)).one()
    assert loaded == moment
    assert loaded.utcoffset() == timedelta(0)


def test_utc_datetime_compares_instants_in_sql(engine: Engine):
    """A WHERE on the column compares instants, whatever offsets the rows and the value had."""
    with Session(engine) as session, session.begin():
        session.add(_assertion("early", datetime(2026, 6, 1, 12, 0, tzinfo=EEST)))  # 09:00Z
        session.add(_assertion("late", datetime(2026, 6, 1, 10, 0, tzinfo=UTC)))
    before = datetime(2026, 6, 1, 12, 30, tzinfo=EEST)  # 09:30Z
    with Session(engine) as session:
        found = session.scalars(
            select(UsedAssertion.jti).where(UsedAssertion.expires_at < before)
        ).all()
    assert found == ["early"]


def test_utc_datetime_refuses_a_naive_datetime(engine: Engine):
    """A naive datetime is refused before it reaches the database; nothing is written."""
    with pytest.raises(StatementError) as refused, Session(engine) as session, session.begin():
        session.add(_assertion("jti", datetime(2026, 6, 1, 9, 30)))
    assert isinstance(refused.value.orig, ValueError)
    assert count(engine, UsedAssertion) == 0


# core.db.insert_or_skip (on schools, as federation.accounts writes them)

WRITERS, ROUNDS = 8, 5


def _school(code: str, name: str) -> dict:
    return {"code": code, "municipality_code": "091", "name": name}


def test_insert_or_skip_writes_a_row_once(engine: Engine):
    """The same key inserted twice: no error, one row, the first one's values."""
    statement = insert_or_skip(School)[engine.dialect.name]
    for name in ("First", "Second"):
        with engine.begin() as connection:
            connection.execute(statement, _school("00001", name))
    with Session(engine) as session:
        assert session.execute(select(School.code, School.name)).all() == [("00001", "First")]


def test_insert_or_skip_under_concurrent_writers(engine: Engine):
    """Writers on their own connections, released together by a barrier, insert the same key
    (several rounds): exactly one row per key, and no writer gets an error."""
    statement = insert_or_skip(School)[engine.dialect.name]
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with engine.connect() as connection:
                for round_ in range(ROUNDS):
                    barrier.wait(timeout=30)
                    connection.execute(statement, _school(f"{round_:05d}", f"writer {writer}"))
                    connection.commit()
        except BaseException as exc:  # reported below, with the others'
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    with Session(engine) as session:
        rows = session.execute(
            select(School.code, func.count()).group_by(School.code).order_by(School.code)
        ).all()
    assert rows == [(f"{round_:05d}", 1) for round_ in range(ROUNDS)]


# core.db.insert_together with Prebuilt rows (the token family and its tokens, as
# idp.oidc.grants and idp.oidc.tokens write them)

CLIENT = "storage-client"


@pytest.fixture
def client_id(engine: Engine) -> str:
    with Session(engine) as session, session.begin():
        session.add(Client(client_id=CLIENT))
    return CLIENT


def _family(family_id: str) -> Write:
    now = utcnow()
    return INSERT_FAMILY.row(
        {
            "id": family_id,
            "client_id": CLIENT,
            "person_id": None,
            "sid": None,
            "scope": "openid",
            "claims_request": None,
            "auth_time": now,
            "acr": None,
            "amr": [],
            "created_at": now,
        }
    )


def _access(jti: str, family_id: str | None, client: str | None = CLIENT) -> Write:
    expires = utcnow() + timedelta(minutes=5)
    return INSERT_ACCESS.row(
        {"jti": jti, "family_id": family_id, "client_id": client, "expires_at": expires}
    )


def _refresh(token_hash: str, family_id: str) -> Write:
    now = utcnow()
    return INSERT_REFRESH.row(
        {
            "token_hash": token_hash,
            "family_id": family_id,
            "issued_at": now,
            "expires_at": now + timedelta(days=30),
        }
    )


def _written(engine: Engine) -> tuple[int, int, int]:
    """How many token families, access tokens and refresh tokens there are."""
    return tuple(count(engine, model) for model in (TokenFamily, AccessTokenRecord, RefreshToken))


def test_insert_together_writes_every_row_a_child_after_its_parent(engine: Engine, client_id):
    """All the rows of one call are written; the tokens refer to the family written before
    them in the same call."""
    with Session(engine) as session, session.begin():
        insert_together(
            session, _family("family"), _access("jti", "family"), _refresh("h", "family")
        )
    assert _written(engine) == (1, 1, 1)
    assert count(engine, AccessTokenRecord, jti="jti", family_id="family") == 1
    assert count(engine, RefreshToken, token_hash="h", family_id="family") == 1


def test_insert_together_skips_none(engine: Engine, client_id):
    """None entries are skipped, wherever they are; a call of None only writes nothing."""
    with Session(engine) as session, session.begin():
        insert_together(session, None, None)
        insert_together(session, None, _family("family"), None, _access("jti", "family"), None)
    assert _written(engine) == (1, 1, 0)


def test_insert_together_refuses_one_statement_twice(engine: Engine, client_id):
    """Two rows of one prebuilt INSERT in one call would share its parameter names (PostgreSQL
    would write one row's values twice): refused on every backend, nothing written."""
    with pytest.raises(ValueError), Session(engine) as session, session.begin():
        insert_together(session, _family("family"), _access("a", "family"), _access("b", "family"))
    assert _written(engine) == (0, 0, 0)


@pytest.mark.parametrize(
    "violating",
    [
        lambda: _access("jti", "no-such-family"),  # foreign key
        lambda: _access("taken", "family"),  # primary key already written
        lambda: _access("jti", "family", client=None),  # NOT NULL
    ],
    ids=["foreign-key", "primary-key", "not-null"],
)
def test_insert_together_writes_nothing_when_a_row_violates_a_constraint(
    engine: Engine, client_id, violating
):
    """One row of the call breaking a constraint: an IntegrityError, and after the rollback
    none of the call's rows is there (the earlier ones neither)."""
    with Session(engine) as session, session.begin():
        insert_together(session, _family("before"), _access("taken", "before"))
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_together(session, _family("family"), _refresh("h", "family"), violating())
    assert _written(engine) == (1, 1, 0)
    assert count(engine, TokenFamily, id="family") == 0


# The signing keys' partial unique indexes: one active and one next key per use


def _key(kid: str, use: str, state: str) -> SigningKey:
    return SigningKey(
        kid=kid,
        use=use,
        alg="ES256",
        state=state,
        public_jwk={"kid": kid},
        sealed_private_key=b"sealed",
    )


@pytest.mark.parametrize("state", [ACTIVE, NEXT])
def test_signing_keys_refuse_a_second_key_in_one_state_per_use(engine: Engine, state: str):
    """A second active (or next) key of the same use is refused by the database."""
    with Session(engine) as session, session.begin():
        session.add(_key("first", "es256", state))
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(_key("second", "es256", state))
    assert count(engine, SigningKey, use="es256", state=state) == 1


def test_signing_keys_allow_many_retired_keys_beside_one_active_and_one_next(engine: Engine):
    """Retired keys of one use are not limited; active and next of that use go beside them."""
    with Session(engine) as session, session.begin():
        session.add_all(_key(f"retired-{n}", "es256", RETIRED) for n in range(3))
        session.add_all([_key("active", "es256", ACTIVE), _key("next", "es256", NEXT)])
    assert count(engine, SigningKey, use="es256", state=RETIRED) == 3
    assert count(engine, SigningKey, use="es256") == 5


def test_signing_keys_allow_an_active_key_for_each_use(engine: Engine):
    """The active key of one use does not stop another use from having its own."""
    with Session(engine) as session, session.begin():
        session.add(_key("es", "es256", ACTIVE))
    with Session(engine) as session, session.begin():
        session.add(_key("rs", "rs256", ACTIVE))
    assert count(engine, SigningKey, state=ACTIVE) == 2


# The consent tables' append-only triggers (consent.schema, migration 0006)

# Per append-only table: its key column and a column an UPDATE would change.
CHANGES = {
    "consent_records": ("id", "city"),
    "consent_events": ("id", "kind"),
    "audit_events": ("id", "action"),
}


@pytest.fixture
def consent_rows(engine: Engine) -> dict[str, object]:
    """One row in each append-only table (and the person, clients and purpose they need),
    by table: the row's key."""
    texts = {"fi": "Lukeminen", "en": "Reading"}
    with Session(engine) as session, session.begin():
        child = Person(given_name="Aino", family_name="Lahtinen")
        purpose = Purpose(
            purpose_id="reading",
            version=1,
            title=texts,
            description=texts,
            data_description=texts,
            retention=texts,
            category="education",
            scopes=["reading"],
            source_client_id="source",
            recipient_client_id="recipient",
            lawful_basis="consent",
            who="all_guardians",
            notice_hash="0" * 64,
            created_by="admin",
        )
        session.add_all([Client(client_id="source"), Client(client_id="recipient"), child])
        session.flush()
        session.add(purpose)
        session.flush()
        record = ConsentRecord(
            purpose_id="reading", purpose_version=1, child_id=child.id, city="helsinki"
        )
        session.add(record)
        session.flush()
        consent_event = ConsentEvent(
            record_id=record.id,
            kind="requested",
            actor_type="service",
            actor_id="recipient",
            method="api",
        )
        audit = AuditEntry(
            actor_type="service",
            actor_id="recipient",
            action="consent.request",
            record_id=record.id,
            channel="api",
        )
        session.add_all([consent_event, audit])
        session.flush()
        return {
            "consent_records": record.id,
            "consent_events": consent_event.id,
            "audit_events": audit.id,
        }


def _value(engine: Engine, table: str, key: object) -> object:
    key_column, column = CHANGES[table]
    with engine.connect() as connection:
        return connection.execute(
            text(f"SELECT {column} FROM {table} WHERE {key_column} = :key"),  # noqa: S608
            {"key": key},
        ).scalar_one()


def test_append_only_tables_take_inserts(engine: Engine, consent_rows: dict[str, object]):
    """INSERT works on every append-only table."""
    assert set(consent_rows) == set(APPEND_ONLY) == set(CHANGES)
    assert _value(engine, "consent_records", consent_rows["consent_records"]) == "helsinki"
    assert _value(engine, "consent_events", consent_rows["consent_events"]) == "requested"
    assert _value(engine, "audit_events", consent_rows["audit_events"]) == "consent.request"


@pytest.mark.parametrize("action", ["UPDATE", "DELETE"])
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_tables_refuse_update_and_delete(
    engine: Engine, consent_rows: dict[str, object], table: str, action: str
):
    """UPDATE and DELETE of a row, in plain SQL, are refused by the database; the row stays."""
    key_column, column = CHANGES[table]
    before = _value(engine, table, consent_rows[table])
    if action == "UPDATE":
        sql = f"UPDATE {table} SET {column} = 'changed' WHERE {key_column} = :key"  # noqa: S608
    else:
        sql = f"DELETE FROM {table} WHERE {key_column} = :key"  # noqa: S608
    with pytest.raises(DBAPIError, match=MESSAGE), engine.begin() as connection:
        connection.execute(text(sql), {"key": consent_rows[table]})
    assert _value(engine, table, consent_rows[table]) == before


# The migrations build exactly the models


def test_migrations_produce_exactly_the_models(engine: Engine):
    """At head, the migrated schema and idp.models.metadata do not differ."""
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    assert current(engine) == head()

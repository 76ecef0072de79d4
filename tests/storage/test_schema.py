"""Storage conformance: what the schema itself guarantees on every backend (the signing keys'
partial unique indexes, the consent tables' append-only triggers) and migrations that build
exactly the models (tests/storage/conftest.py)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from consent.models import AuditEntry, ConsentEvent, ConsentRecord, Purpose
from consent.schema import CONSENT_TABLES, MESSAGE
from federation.models import Person
from idp.migrate import current, head
from idp.models import metadata
from idp.oidc.models import Client
from keys.models import ACTIVE, NEXT, RETIRED, SigningKey
from tests.storage.conftest import count

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
    assert set(consent_rows) == set(CONSENT_TABLES) == set(CHANGES)
    assert _value(engine, "consent_records", consent_rows["consent_records"]) == "helsinki"
    assert _value(engine, "consent_events", consent_rows["consent_events"]) == "requested"
    assert _value(engine, "audit_events", consent_rows["audit_events"]) == "consent.request"


@pytest.mark.parametrize("action", ["UPDATE", "DELETE"])
@pytest.mark.parametrize("table", CONSENT_TABLES)
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


# Alembic cannot compare expression indexes (the names' lower-case starts): checked below.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_produce_exactly_the_models(engine: Engine):
    """At head, the migrated schema and idp.models.metadata do not differ."""
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    assert current(engine) == head()


NAME_INDEXES = {"ix_people_given_name_lower", "ix_people_family_name_lower"}


def test_the_name_indexes_serve_a_prefix_search(engine: Engine):
    """The migrations make the expression indexes the models declare, on PostgreSQL with
    text_pattern_ops so that LIKE 'prefix%' uses them whatever the collation."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = dict(connection.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'people'"
            )).all())  # fmt: skip
            assert all("text_pattern_ops" in found[name] for name in NAME_INDEXES)
        else:
            found = dict(connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people'"
            )).all())  # fmt: skip
            assert all("lower(" in found[name] for name in NAME_INDEXES)

"""Storage conformance: the consent rows in the audit log on every backend. Audit entries
written by concurrent transactions each get their own leaf, and stand in the log in the order of
their ids (the claim on the log comes before the row is written); the migration that brought
the log to existing databases appends every row written before it (tests/storage/conftest.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from consent import audit
from consent.ledger import merkle, store
from consent.ledger.models import LedgerLeaf
from consent.ledger.rows import verify_rows
from consent.models import AuditEntry, ConsentEvent, ConsentRecord, Purpose
from federation.models import Person
from idp.migrate import scratch_database, upgrade
from idp.oidc.models import Client
from tests.conftest import require
from tests.storage.conftest import BACKENDS, SERVER, _reachable

WRITERS, EACH = 6, 10


def test_concurrent_audit_entries_get_one_leaf_each_in_id_order(engine: Engine):
    """Writers at once, each appending entries in transactions of its own: every entry has a
    distinct leaf, ids and leaves rise together, and the rows verify against the leaves."""
    barrier, failures = threading.Barrier(WRITERS), []

    def write(writer: int) -> None:
        try:
            barrier.wait()
            for number in range(EACH):
                with Session(engine) as session:
                    audit.append(
                        session, actor_type="system", actor_id=f"writer-{writer}",
                        action="test.concurrent", channel="test", detail={"n": number},
                    )  # fmt: skip
                    session.commit()
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        rows = session.execute(select(AuditEntry.id, AuditEntry.leaf).order_by(AuditEntry.id)).all()
        assert [leaf for _id, leaf in rows] == list(range(WRITERS * EACH))
        assert store.size(session) == WRITERS * EACH
        assert verify_rows(session) == []


def test_an_entry_and_its_leaf_are_one_statement_on_postgresql(engine: Engine):
    """The token exchange's write: the entry with its leaf, the head's new compact range and
    the subtrees the leaf completes in one statement on PostgreSQL (the database's append
    function in a WITH clause); the tree stays what RFC 9162 computes and the Python append
    computes, whichever leaves complete subtrees."""
    from sqlalchemy import event

    from consent.ledger.verify import verify_tree
    from core.db import insert_together

    seen: list[str] = []

    def record(*args) -> None:
        seen.append(args[2])

    with Session(engine) as session:  # the head row exists (an emptied database has none)
        audit.append(session, actor_type="system", actor_id="first", action="t", channel="t")
        session.commit()
    event.listen(engine, "before_cursor_execute", record)
    try:
        for number in range(6):  # some leaves complete subtrees, some do not
            with Session(engine) as session:
                before = len(seen)
                write = audit.row(
                    session, actor_type="system", actor_id="single", action="test.single",
                    channel="test", detail={"n": number},
                )  # fmt: skip
                insert_together(session, write)
                if engine.dialect.name == "postgresql":
                    assert len(seen) - before == 1, "\n---\n".join(seen[before:])
                if number == 2:  # leaves appended in Python between those the database appends
                    store.extend(session, [("test", "python", bytes([n]) * 32) for n in range(3)])
                session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with Session(engine) as session:
        assert verify_tree(session, "test", []) == []
        _size, root = store.head(session)
        assert root == merkle.root(
            session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.idx))
        )
        assert verify_rows(session) == []


@pytest.fixture(params=BACKENDS)
def before_the_log(request, tmp_path) -> Iterator[str]:
    """A database of the backend at the revision before the rows named their leaves."""
    server = None
    if request.param == "postgresql":
        where = make_url(SERVER).render_as_string(hide_password=True)
        require(_reachable(SERVER), f"PostgreSQL not reachable at {where}")
        server = SERVER
    with scratch_database(server, tmp_path, "digione_migration") as url:
        engine = create_engine(url)
        upgrade(engine, "0007")
        engine.dispose()
        yield url


def _write_history(engine: Engine) -> None:
    """A record with three events and four audit entries, as the broker wrote them before."""
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    child, record = str(uuid.uuid4()), str(uuid.uuid4())
    text = {"fi": "Lukuluokka", "sv": "Läsklass", "en": "Reading class"}
    with engine.begin() as connection:
        for client in ("reader", "school"):
            connection.execute(insert(Client.__table__).values(
                client_id=client, client_metadata={}, client_id_issued_at=now, updated_at=now,
            ))  # fmt: skip
        connection.execute(insert(Person.__table__).values(
            id=child, given_name="Ada", family_name="Pupil", locale="fi", protected=False,
            created_at=now, updated_at=now,
        ))  # fmt: skip
        connection.execute(insert(Purpose.__table__).values(
            purpose_id="reading", version=1, title=text, description=text, data_description=text,
            retention=text, category="service-provision", scopes=["profile"],
            source_client_id="school", recipient_client_id="reader", lawful_basis="consent",
            who="all_guardians", notice_hash="0" * 64, created_at=now, created_by="test",
        ))  # fmt: skip
        connection.execute(insert(ConsentRecord.__table__).values(
            id=record, purpose_id="reading", purpose_version=1, child_id=child, city="espoo",
            requested_by="reader", created_at=now,
        ))  # fmt: skip
        for step, kind in enumerate(("requested", "approve", "withdraw")):
            at = now + timedelta(hours=step)
            connection.execute(insert(ConsentEvent.__table__).values(
                record_id=record, kind=kind, at=at, actor_type="guardian", actor_id=child,
                method="page", acr="demo", deciders={"all_of": [child], "any_of": []},
                purpose_version=1,
            ))  # fmt: skip
            connection.execute(insert(AuditEntry.__table__).values(
                at=at, actor_type="guardian", actor_id=child, action=f"consent.{kind}",
                record_id=record, purpose_id="reading", channel="page", detail={"step": step},
            ))  # fmt: skip
        connection.execute(insert(AuditEntry.__table__).values(
            at=now, actor_type="admin", actor_id="cli:root", action="purpose.add",
            channel="cli", detail={"version": 1},
        ))  # fmt: skip


def test_the_migration_appends_the_rows_written_before_the_log(before_the_log: str):
    engine = create_engine(before_the_log)
    try:
        _write_history(engine)
        upgrade(engine)
        with Session(engine) as session:
            leaves = [
                leaf
                for model in (ConsentRecord, ConsentEvent, AuditEntry)
                for leaf in session.scalars(select(model.leaf))
            ]
            assert sorted(leaves) == list(range(8))
            assert store.size(session) == 8
            assert verify_rows(session) == []
    finally:
        engine.dispose()

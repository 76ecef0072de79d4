"""Storage conformance: core.db's INSERT helpers, insert_or_skip under concurrent writers and
insert_together with prebuilt rows, on every backend (tests/storage/conftest.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Write, insert_or_skip, insert_together, utcnow
from federation.models import School
from idp.oidc.grants import INSERT_FAMILY
from idp.oidc.models import AccessTokenRecord, Client, RefreshToken, TokenFamily
from idp.oidc.tokens import INSERT_ACCESS, INSERT_REFRESH
from tests.storage.conftest import count

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

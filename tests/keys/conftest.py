"""Fixtures for the key store: a Session on the test database (SQLite or PostgreSQL) with an
empty signing_keys table, a master key and a KeyStore."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.settings.schema import KeysSettings
from keys.models import SigningKey
from keys.store import KeyStore

ISSUER = "https://digione.example.fi"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(delete(SigningKey))
    yield engine
    with engine.begin() as connection:
        connection.execute(delete(SigningKey))
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


@pytest.fixture
def master() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def keys_settings() -> KeysSettings:
    return KeysSettings(rotate_after_days=90, retired_grace_days=14, auto_rotate=True)


@pytest.fixture
def store(session: Session, master: bytes, keys_settings: KeysSettings) -> KeyStore:
    return KeyStore(session, master, keys_settings, issuer=ISSUER)

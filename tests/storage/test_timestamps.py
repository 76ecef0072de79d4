"""Storage conformance: core.db.UTCDateTime on every backend (tests/storage/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from idp.oidc.models import UsedAssertion
from tests.storage.conftest import EEST, count

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

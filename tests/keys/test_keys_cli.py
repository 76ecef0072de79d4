"""`digione keys list|rotate` through click's CliRunner, on the test database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.db import utcnow
from keys.models import ACTIVE, RETIRED, SigningKey


@pytest.fixture
def digione(digione_cli, engine):
    return lambda *args, **kwargs: digione_cli("keys", *args, **kwargs)


def _lines(output: str, word: str) -> list[str]:
    return [line for line in output.splitlines() if f" {word} " in f" {line} "]


def test_list_empty_then_rotate_due_makes_keys(digione, session):
    assert "no signing keys yet" in digione("list")
    assert "nothing due (keys rotate after 90 days)" in digione("rotate", "--due")
    output = digione("list")
    assert output.splitlines()[0].split() == [
        "USE", "STATE", "KID", "ALG", "CREATED", "ACTIVATED", "RETIRED",
    ]  # fmt: skip
    assert len(_lines(output, "active")) == len(_lines(output, "next")) == 4
    kids = set(session.scalars(select(SigningKey.kid)))
    assert all(kid in output for kid in kids)
    assert "PRIVATE" not in output.upper() and "sealed" not in output


def test_rotate_one_use(digione, session):
    digione("rotate", "--due")
    upcoming = session.scalars(
        select(SigningKey.kid).where(SigningKey.use == "es256", SigningKey.state == "next")
    ).one()
    assert f"es256: now signing with {upcoming}" in digione("rotate", "--use", "es256")
    retired = _lines(digione("list"), RETIRED)
    assert len(retired) == 1 and retired[0].startswith("es256")


def test_rotate_all_and_due_by_age(digione, session):
    output = digione("rotate")
    assert [line.split(":")[0] for line in output.splitlines()] == [
        "rs256", "es256", "audit", "saml",
    ]  # fmt: skip
    session.execute(
        update(SigningKey)
        .where(SigningKey.state == ACTIVE, SigningKey.use.in_(["rs256", "saml"]))
        .values(activated_at=utcnow() - timedelta(days=91))
    )
    session.commit()
    assert "rotated: rs256, saml" in digione("rotate", "--due")
    assert "nothing due" in digione("rotate", "--due", "--use", "rs256")


def test_bad_use_is_a_usage_error(digione):
    assert "Invalid value for '--use'" in digione("rotate", "--use", "hs256", code=2)

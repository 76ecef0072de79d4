"""How a grant's rows are written : a token family with its access and refresh token
rows in one statement on PostgreSQL (core.db.insert_together; a row may refer to one written
with it), one by one in order elsewhere; nothing when the response fails half-way; and at once
when a token is minted outside a grant (TokenMinter.together not entered)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db, insert_together, utcnow
from federation.models import Person
from idp.oidc import OIDC, clients
from idp.oidc.grants import INSERT_FAMILY
from idp.oidc.models import AccessTokenRecord, RefreshToken, TokenFamily, new_id
from idp.oidc.tokens import digest
from tests.oidc.helpers import register


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _family_row(client_id: str, person_id: str) -> dict:
    return {"id": new_id(), "client_id": client_id, "person_id": person_id, "sid": None,
            "scope": "openid offline_access", "claims_request": None, "auth_time": utcnow(),
            "acr": None, "amr": ["pwd"], "created_at": utcnow()}  # fmt: skip


@pytest.fixture
def parts(seeded):
    rp = register(seeded)
    with seeded.app_context():
        person = db.session.scalar(select(Person).limit(1))
        client = clients.get(db.session, rp.client_id)
        yield OIDC.of(seeded).provider, client, person


def test_a_family_and_its_tokens_together(parts):
    provider, client, person = parts
    values = _family_row(client.client_id, person.id)
    family = TokenFamily(**values)
    minter = provider.minter()
    with minter.together():
        minter.add(INSERT_FAMILY.row(values))
        access = minter.access_token(client, "openid", audience="x", family=family)
        refresh = minter.refresh_token(family)
        assert _count(TokenFamily) == 0  # nothing yet: written when the block ends
    db.session.commit()
    assert db.session.get(TokenFamily, family.id).amr == ["pwd"]
    assert db.session.get(AccessTokenRecord, access.jti).family_id == family.id
    assert db.session.get(RefreshToken, digest(refresh)).family_id == family.id


def test_nothing_is_written_when_the_response_fails(parts):
    provider, client, person = parts
    values = _family_row(client.client_id, person.id)
    minter = provider.minter()
    with pytest.raises(RuntimeError), minter.together():
        minter.add(INSERT_FAMILY.row(values))
        minter.refresh_token(TokenFamily(**values))
        raise RuntimeError("the ID token could not be signed")
    db.session.commit()
    assert (_count(TokenFamily), _count(RefreshToken)) == (0, 0)


def test_outside_a_grant_a_token_row_is_written_at_once(parts):
    provider, client, person = parts
    values = _family_row(client.client_id, person.id)
    minter = provider.minter()  # its keys made first: on SQLite, not behind the insert's lock
    insert_together(db.session, INSERT_FAMILY.row(values))
    token = minter.refresh_token(TokenFamily(**values))
    db.session.commit()
    assert db.session.get(RefreshToken, digest(token)) is not None

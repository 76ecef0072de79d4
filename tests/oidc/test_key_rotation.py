"""Key rotation as a relying party sees it (OIDF Dynamic OP plan): the next key is published
before it signs, tokens signed before a rotation still verify during the grace period."""

from __future__ import annotations

import jwt

from keys.app import key_store
from tests.oidc.helpers import register, tokens, verify


def test_relying_party_sees_key_rotation(seeded):
    rp = register(seeded)
    client = seeded.test_client()
    before = tokens(seeded, rp)["id_token"]
    published = {key["kid"] for key in client.get("/.well-known/jwks.json").json["keys"]}
    with seeded.app_context():
        store = key_store()
        next_kid = next(k.kid for k in store.list_keys() if k.use == "rs256" and k.state == "next")
        assert next_kid in published  # cached by relying parties before it signs anything
        store.rotate("rs256")
    after = tokens(seeded, rp)["id_token"]
    assert jwt.get_unverified_header(after)["kid"] == next_kid
    assert verify(client, after, audience=rp.client_id)
    assert verify(client, before, audience=rp.client_id)  # retired key still published

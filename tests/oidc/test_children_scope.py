"""The edu:children scope: a guardian-facing service learns, at the guardian's sign-in, each
child in the guardian's custody as it knows the child (its pairwise sub there, and the given
name), so that it can ask consent for a child who has never signed in to it."""

from __future__ import annotations

import pytest

from core.db import db
from idp.oidc.client_metadata import InvalidClientMetadata, validate_metadata
from idp.oidc.models import Client
from idp.oidc.pairwise import person_for
from tests.consent.conftest import person
from tests.oidc.helpers import register, tokens, verify

SCOPE = "openid profile edu:children"


def userinfo(app, token: dict) -> dict:
    response = app.test_client().get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 200, response.json
    return response.json


def test_a_guardian_sees_each_child_as_the_service_knows_them(seeded):
    """At userinfo (OIDC Core 5.4), or in the ID token when the claims parameter asks."""
    rp = register(seeded, scope=SCOPE)
    guardian = tokens(seeded, rp, "espoo", "guardian1", scope=SCOPE)
    client = seeded.test_client()
    [child] = userinfo(seeded, guardian)["edu_children"]
    assert child["given_name"] == "Aino"
    asked = tokens(seeded, rp, "espoo", "guardian1", scope=SCOPE,
                   claims='{"id_token": {"edu_children": null}}')  # fmt: skip
    claims = verify(client, asked["id_token"], audience=rp.client_id)
    assert claims["edu_children"] == [child]
    # The child's own sign-in at that service has the very sub the guardian's named.
    pupil = verify(client, tokens(seeded, rp, "espoo", "pupil1")["id_token"], rp.client_id)
    assert pupil["sub"] == child["sub"]
    # And the service can name the child by it (the consent API's lookup) before that.
    with seeded.app_context():
        found = person_for(db.session, db.session.get(Client, rp.client_id), child["sub"])
        assert found is not None and found.id == person("espoo", "pupil1").id


def test_the_sub_of_a_child_differs_between_services(seeded):
    one = register(seeded, scope=SCOPE, redirect_uris=["https://one.example/cb"])
    two = register(seeded, scope=SCOPE, redirect_uris=["https://two.example/cb"])
    subs = {
        userinfo(seeded, tokens(seeded, rp, "espoo", "guardian1", scope=SCOPE))["edu_children"][0][
            "sub"
        ]
        for rp in (one, two)
    }
    assert len(subs) == 2


def test_without_the_scope_no_children_and_a_pupil_has_none(seeded):
    rp = register(seeded, scope=SCOPE)
    assert "edu_children" not in userinfo(seeded, tokens(seeded, rp, "espoo", "guardian1"))
    pupil = tokens(seeded, rp, "espoo", "pupil1", scope=SCOPE)
    assert "edu_children" not in userinfo(seeded, pupil)


def test_only_an_administrator_grants_it():
    data = {"client_name": "x", "redirect_uris": ["https://x.example/cb"], "scope": SCOPE}
    assert validate_metadata(data, admin=True, development=False)["scope"] == SCOPE
    with pytest.raises(InvalidClientMetadata, match="edu:children is granted only by an admin"):
        validate_metadata(data, admin=False, development=False)

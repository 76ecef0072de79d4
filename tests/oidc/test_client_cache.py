"""The client cache (idp.oidc.client_cache): a change made in this process takes effect at
once, as if every request read the client anew; one made elsewhere within the cache time."""

from __future__ import annotations

from core.db import db
from idp.oidc import clients
from idp.oidc.models import Client
from tests.oidc.helpers import RP, register


def service(app, name: str, scope: str) -> RP:
    """A client_credentials client (registered as `digione clients add` does)."""
    return register(
        app, client_name=name, grant_types=["client_credentials"], redirect_uris=[], scope=scope
    )


def token(app, client_id: str, secret: str, scope: str = "edu:school"):
    return app.test_client().post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers=RP(client_id, secret).basic(),
    )


def test_rotation_change_and_removal_take_effect_at_once(app):
    made = service(app, "Cached", "edu:school edu:roles")
    client_id, old = made.client_id, made.secret
    assert token(app, client_id, old).status_code == 200
    assert token(app, client_id, old, scope="edu:roles").json["scope"] == "edu:roles"  # cached

    with app.app_context():
        new = clients.rotate_secret(db.session, db.session.get(Client, client_id))
        db.session.commit()
    assert token(app, client_id, old).status_code == 401
    assert token(app, client_id, new).status_code == 200

    with app.app_context():
        client = db.session.get(Client, client_id)
        client.client_metadata = {**client.client_metadata, "scope": "edu:school"}
        db.session.commit()
    assert token(app, client_id, new, scope="edu:roles").json["scope"] == ""  # no longer allowed

    with app.app_context():
        clients.remove(db.session, db.session.get(Client, client_id))
        db.session.commit()
    gone = token(app, client_id, new)
    assert gone.status_code == 401 and gone.json["error"] == "invalid_client"


def test_a_change_made_elsewhere_acts_within_the_cache_time(app):
    """Another process (the CLI, another worker) changes the row behind this process's back:
    the cached client is used until client_cache_seconds have passed, then checked."""
    from sqlalchemy import update

    from core.db import utcnow
    from idp.oidc.client_cache import ClientCache

    clock = [100.0]
    cache = ClientCache(ttl=2.0, clock=lambda: clock[0])
    made = service(app, "Elsewhere", "edu:school")
    client_id = made.client_id
    with app.app_context():
        assert cache.get(db.session, client_id).scopes == ["edu:school"]
        # as another process would: a Core UPDATE, unseen by this process's ORM events
        with db.engine.begin() as connection:
            connection.execute(
                update(Client)
                .where(Client.client_id == client_id)
                .values(client_metadata={**made.metadata, "scope": "edu:roles"},
                        updated_at=utcnow())
            )  # fmt: skip
        db.session.rollback()
        clock[0] += 1.9
        assert cache.get(db.session, client_id).scopes == ["edu:school"]  # within the time
        clock[0] += 0.2
        assert cache.get(db.session, client_id).scopes == ["edu:roles"]  # checked, re-read
        with db.engine.begin() as connection:
            connection.execute(delete_client(client_id))
        db.session.rollback()
        clock[0] += 2.1
        assert cache.get(db.session, client_id) is None


def delete_client(client_id: str):
    from sqlalchemy import delete

    return delete(Client).where(Client.client_id == client_id)

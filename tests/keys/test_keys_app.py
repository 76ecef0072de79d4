"""The JWKS endpoint, key_store() maintenance and keys_ready() in a built app."""

from __future__ import annotations

import base64
import os
import stat
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import update

import keys.app as keys_app
from core.db import db, utcnow
from idp import create_app
from keys.app import key_store, keys_ready
from keys.models import ACTIVE, RETIRED, SigningKey

PRIVATE = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}


def test_jwks_endpoint(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    keys = response.get_json()["keys"]
    assert [key["alg"] for key in keys] == ["RS256", "ES256", "RS256", "ES256"]  # active, next
    assert not any(PRIVATE & set(key) for key in keys)
    assert client.get("/jwks.json").get_json() == response.get_json()
    typed = client.get("/jwks.json", headers={"Accept": "application/jwk-set+json"})
    assert typed.mimetype == "application/jwk-set+json"


def test_tokens_verify_with_the_served_jwks(app, client):
    with app.app_context():
        token = key_store().sign_jwt({"sub": "s", "aud": "rp"}, use="es256")
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").get_json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience="rp")["sub"] == "s"


def test_keys_ready_and_a_wrong_master_key(app, app_config):
    with app.app_context():
        assert keys_ready()
    other = create_app({**app_config, "master": {"key": base64.b64encode(os.urandom(32)).decode()}})
    try:
        with other.app_context():
            assert not keys_ready()  # the keys exist but do not open under this master key
    finally:
        with other.app_context():
            db.engine.dispose()


def _age_active_keys(days: int) -> None:
    db.session.execute(
        update(SigningKey)
        .where(SigningKey.state == ACTIVE)
        .values(activated_at=utcnow() - timedelta(days=days))
    )
    db.session.commit()


@pytest.mark.parametrize("auto_rotate", [True, False])
def test_maintenance_rotates_due_keys_at_most_once_a_minute(
    app_config, monkeypatch, auto_rotate: bool
):
    clock = [1000.0]
    monkeypatch.setattr(keys_app.time, "monotonic", lambda: clock[0])
    app = create_app({**app_config, "keys": {"auto_rotate": auto_rotate}})
    with app.app_context():
        try:
            key_store()
            _age_active_keys(100)
            clock[0] += 30
            key_store()
            assert db.session.query(SigningKey).filter_by(state=RETIRED).count() == 0
            clock[0] += 31
            key_store()
            retired = db.session.query(SigningKey).filter_by(state=RETIRED).count()
            assert retired == (4 if auto_rotate else 0)
        finally:
            db.session.execute(db.delete(SigningKey))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


def test_unmigrated_database_does_not_stop_the_app(app_config, tmp_path):
    app = create_app({**app_config, "database": {"url": f"sqlite:///{tmp_path / 'empty.sqlite'}"}})
    response = app.test_client().get("/.well-known/jwks.json")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert not keys_ready()
        db.engine.dispose()


def test_development_master_key_is_generated_in_the_instance_folder(app_config, tmp_path):
    instance = tmp_path / "dev-instance"
    app = create_app(
        {**app_config, "master": {"key": ""}, "server": {"instance_dir": str(instance)}}
    )
    try:
        with app.app_context():
            assert keys_ready()
        path = instance / "master.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(base64.b64decode(path.read_text())) == 32
    finally:
        with app.app_context():
            db.session.execute(db.delete(SigningKey))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


def test_no_key_material_in_logs(app, caplog):
    caplog.set_level("DEBUG", logger="digione")
    with app.app_context():
        store = key_store()
        store.rotate("rs256")
        key = store.active("rs256")
    pem_lines = [line for line in key.private_key_pem().splitlines() if "-----" not in line]
    d = jwt.algorithms.RSAAlgorithm.to_jwk(key.private_key, as_dict=True)["d"]
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert "signing key rotated" in caplog.text
    assert not [line for line in pem_lines[2:-1] if line in logged]
    assert d not in logged

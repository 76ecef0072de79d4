"""Health endpoints, migrations matching the models, production cookie flags, the CLI."""

from __future__ import annotations

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from core.db import db
from idp import create_app
from idp.app import build_app, config_of
from idp.cli import main
from idp.migrate import current, head
from idp.models import metadata


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": True, "keys": True}


def test_one_access_log_line_per_request_with_its_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="digione"):
        given = client.get("/healthz?who=pupil1", headers={"X-Request-Id": "trace-0001"})
        made = client.get("/no/such/page", headers={"X-Request-Id": "bad id!"})
    lines = [r for r in caplog.records if r.name == "digione.access"]
    assert [(r.request_id, r.event["path"], r.event["status"]) for r in lines] == [
        ("trace-0001", "/healthz", 200),  # the query string stays out of the log
        (made.headers["X-Request-Id"], "/no/such/page", 404),
    ]
    assert given.headers["X-Request-Id"] == "trace-0001"
    assert len(made.headers["X-Request-Id"]) == 16  # a malformed id is replaced


def test_readyz_is_503_on_an_unmigrated_database(app_config, tmp_path):
    app_config["database"] = {"url": f"sqlite:///{tmp_path / 'empty.sqlite'}"}
    response = create_app(app_config).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_produce_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == []
        assert current(db.engine) == head()


def test_cookies_are_secure_outside_development(app):
    cfg = config_of(app)
    server = cfg.settings.server.model_copy(update={"mode": "production"})
    settings = cfg.settings.model_copy(update={"server": server})
    production = build_app(type(cfg)(cfg.folder, settings, cfg.cities, cfg.demo))
    assert production.config["SESSION_COOKIE_SECURE"] is True
    headers = production.test_client().get("/healthz").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert app.config["SESSION_COOKIE_SECURE"] is False


def _cli_env(app_config: dict) -> dict:
    return {
        "DIGIONE_DATABASE_URL": app_config["database"]["url"],
        "DIGIONE_MASTER_KEY": app_config["master"]["key"],
        "DIGIONE_SERVER_INSTANCE_DIR": app_config["server"]["instance_dir"],
        "DIGIONE_PASSWORDS_TIME_COST": "1",
        "DIGIONE_PASSWORDS_MEMORY_KIB": "8192",
        "DIGIONE_PASSWORDS_PARALLELISM": "1",
    }


def test_cli_db_and_demo_commands(app, app_config):
    runner = CliRunner()
    env = _cli_env(app_config)
    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    now = runner.invoke(main, ["db", "current"], env=env)
    assert "(up to date)" in now.output
    seeded = runner.invoke(main, ["demo", "seed"], env=env)
    assert seeded.exit_code == 0, seeded.output
    assert "38 accounts in 5 cities" in seeded.output
    again = runner.invoke(main, ["demo", "seed"], env=env)
    assert again.exit_code == 0 and "38 accounts" in again.output


def test_cli_refuses_bad_configuration_with_one_line_per_problem(app_config):
    env = _cli_env(app_config) | {"DIGIONE_SESSION_IDLE_MINUTES": "-1", "DIGIONE_NOPE_X": "1"}
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("DIGIONE_NOPE_X: nope.x: unknown setting")

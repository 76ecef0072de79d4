"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when DIGIONE_TEST_DATABASE_URL is
set, in a fresh database per test run), an app built on it, and the CI rule that a missing real
component fails instead of skipping."""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from core.db import db
from idp import create_app
from idp.migrate import scratch_database, upgrade
from idp.models import metadata

IN_CI = os.environ.get("CI") == "true"
CHROMIUM = os.environ.get("DIGIONE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PG_URL = os.environ.get("DIGIONE_TEST_DATABASE_URL", "")


def free_port() -> int:
    """A TCP port on the loopback interface that is free now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(available: bool, reason: str) -> None:
    """Skip when a real component is missing, except under CI=true, where that fails the test."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"missing under CI: {reason}")
    pytest.skip(reason)


def fresh_database(folder: Path, prefix: str) -> AbstractContextManager[str]:
    """An empty database of its own: a SQLite file in ``folder``, or a new database on
    DIGIONE_TEST_DATABASE_URL's server, dropped afterwards (idp.migrate.scratch_database)."""
    return scratch_database(PG_URL or None, folder, prefix)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the newest migration, created for this test run and dropped after it."""
    with fresh_database(tmp_path_factory.mktemp("db"), "digione_test") as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def app_config(database_url: str, master_key: str, tmp_path) -> dict:
    """Section overrides for create_app; a test may change them before asking for ``app``."""
    return {
        "database": {"url": database_url},
        "server": {"instance_dir": str(tmp_path / "instance")},
        "master": {"key": master_key},
        # Cheap argon2id parameters: the tests check behaviour, bench/ measures cost.
        "passwords": {"time_cost": 1, "memory_kib": 8192, "parallelism": 1},
    }


def empty_database(engine) -> None:
    """Delete every row, the append-only tables' included (their triggers are dropped and
    re-created around it, in the same transaction)."""
    from consent import schema

    dialect = engine.dialect.name
    with engine.begin() as connection:
        for statement in schema.drop_statements(dialect):
            connection.execute(text(statement))
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        for statement in schema.create_statements(dialect):
            connection.execute(text(statement))


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    app = create_app(app_config)
    app.config["TESTING"] = True
    yield app
    with app.app_context():
        db.session.remove()
        empty_database(db.engine)
        db.engine.dispose()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


# The demo people's rows, as the seed wrote them into an empty database, by what they depend
# on (cities, demo files, password settings, today's date: ages): most tests start from the demo
# people, and copying some hundred rows back costs a fraction of provisioning them again.
SEED_TABLES = frozenset({"schools", "people", "embedded_accounts", "city_identities",
                         "role_assignments", "guardianships"})  # fmt: skip
_SEEDS: dict[tuple, dict[str, list[dict]]] = {}


def _seed_key(cfg) -> tuple:
    from datetime import date

    cities = sorted((slug, city.model_dump_json()) for slug, city in cfg.cities.items())
    demo = sorted((slug, people.model_dump_json()) for slug, people in cfg.demo.items())
    return (tuple(cities), tuple(demo), cfg.settings.passwords.model_dump_json(), date.today())


def seed_demo_people(app: Flask) -> None:
    """federation.demo.seed, or into an empty database the rows a seed made there before with
    the same configuration (the same rows: a seed's result depends on nothing else)."""
    from sqlalchemy import func, select

    from core.app import config_of
    from federation.demo import seed

    cfg = config_of(app)
    key = _seed_key(cfg)
    tables = {table.name: table for table in metadata.sorted_tables}

    def count(name: str) -> int:
        return db.session.scalar(select(func.count()).select_from(tables[name])) or 0

    with app.app_context():
        cached = _SEEDS.get(key)
        if cached is not None and not any(count(name) for name in cached):
            for table in metadata.sorted_tables:  # parents first
                if table.name in cached:
                    db.session.execute(table.insert(), cached[table.name])
            db.session.commit()
            return
        empty = cached is None and not any(count(name) for name in tables)
        seed(db.session, cfg)
        if empty:
            written = {
                name: [dict(row._mapping) for row in db.session.execute(table.select())]
                for name, table in tables.items()
            }
            written = {name: rows for name, rows in written.items() if rows}
            if set(written) <= SEED_TABLES:  # nothing else (no log entries) to copy
                _SEEDS[key] = written


@pytest.fixture
def seeded(app: Flask) -> Flask:
    """The app with every city's demo people loaded."""
    seed_demo_people(app)
    return app


def cli_runner(database_url: str, master_key: str, tmp_path: Path) -> Callable[..., str]:
    """Runs ``digione ARGS...`` (click's CliRunner) on ``database_url``; returns stdout, or
    stderr when ``code`` is not 0."""
    from click.testing import CliRunner

    from idp.cli import main

    runner = CliRunner(
        env={
            "DIGIONE_DATABASE_URL": database_url,
            "DIGIONE_MASTER_KEY": master_key,
            "DIGIONE_SERVER_INSTANCE_DIR": str(tmp_path / "cli-instance"),
            "DIGIONE_CONFIG": None,
        }
    )

    def run(*args: str, code: int = 0, input: str | None = None) -> str:
        result = runner.invoke(main, list(args), input=input)
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout if code == 0 else result.stderr  # stderr also carries the logs

    return run


@pytest.fixture
def digione_cli(database_url: str, master_key: str, tmp_path) -> Callable[..., str]:
    """``digione ARGS...`` on the test database (cli_runner). Ask for ``app`` too where the
    rows must be emptied after."""
    return cli_runner(database_url, master_key, tmp_path)


def sign_in(client, city: str, username: str, password: str = "demo", follow: bool = False):
    """Fill in and send a city's sign-in form as a browser would (with its CSRF token)."""
    import re

    page = client.get(f"/login/{city}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(
        f"/login/{city}",
        data={"csrf_token": token, "username": username, "password": password},
        follow_redirects=follow,
    )


def second_factor_code(app: Flask, city: str, username: str) -> str:
    """A TOTP code the broker accepts now for the demo account (enrolling it with the demo
    key if it has none): the current step's, or one after the last accepted, since a code is
    accepted once."""
    import pyotp
    from sqlalchemy import select

    from federation.models import CityIdentity
    from idp.signin import totp
    from idp.signin.models import SecondFactor
    from keys.app import key_store

    with app.app_context():
        person_id = db.session.scalar(
            select(CityIdentity.person_id).where(
                CityIdentity.city == city, CityIdentity.subject == username
            )
        )
        row = db.session.get(SecondFactor, person_id)
        if row is None:
            totp.enroll(db.session, key_store(), person_id, totp.DEMO_SECRET)
            db.session.commit()
            last = None
        else:
            last = row.last_step
    now = int(time.time()) // totp.STEP_SECONDS
    step = now if last is None else max(last + 1, now)  # valid for one more step after now
    assert step <= now + totp.DRIFT_STEPS, "no code left in this time step; wait 30 s"
    return pyotp.TOTP(totp.DEMO_SECRET).at(step * totp.STEP_SECONDS)


def pass_second_factor(client, app: Flask, city: str, username: str, next_url: str = "/me"):
    """Enter the account's TOTP code at /second-factor, as a browser would."""
    import re

    code = second_factor_code(app, city, username)
    page = client.get(f"/second-factor?next={next_url}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/second-factor", data={"csrf_token": token, "code": code, "next": next_url})


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, one for the whole run: Playwright's sync API
    cannot run two at once in one thread."""
    import shutil

    require(bool(shutil.which(CHROMIUM)), f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        require(False, "the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

"""Real processes for the interop tests: the broker (`digione serve`) on a fresh database, relying
parties on openid-client (`node tests/interop/rp.mjs`), and Debian's Chromium.

The operator's commands before it (`digione db upgrade`, `demo seed`, `clients add --json`) run
in this process through click's CliRunner, with the server's settings. Every process writes to a
log file; when a test fails, the tail of each log is added to the failure report.

The broker reads the repository's config/ unless a test module overrides ``broker_setup`` with a
configuration folder of its own (and the environment its directories' secrets come from); such a
folder may name ``broker_url``, which is fixed before the broker starts."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port, fresh_database, require

ROOT = Path(__file__).resolve().parents[2]
RP_SCRIPT = ROOT / "tests" / "interop" / "rp.mjs"
DIGIONE = Path(sys.executable).with_name("digione")
NODE = shutil.which("node")
LOG_TAIL = 6000  # characters of each process's log in a failure report


@dataclass
class Processes:
    """The processes a module started, with their log files; stopped at teardown."""

    folder: Path
    running: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict, ready_url: str) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        self.logs[name] = log
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append((name, process))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2):  # noqa: S310 - loopback
                    return process
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        pytest.fail(f"{name} did not answer {ready_url} in 20 s:\n{self.tail(name)}")

    def tail(self, name: str) -> str:
        log = self.logs[name]
        text = log.read_text(errors="replace") if log.exists() else "(no log written)"
        return text[-LOG_TAIL:]

    def report(self) -> list[tuple[str, str]]:
        return [(f"{name} output", self.tail(name)) for name in self.logs]

    def stop(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.terminate()
        for _, process in self.running:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    running = Processes(tmp_path_factory.mktemp("interop-logs"))
    yield running
    running.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Append the processes' output to a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("processes")
    if report.failed and isinstance(running, Processes):
        report.sections.extend(running.report())


@pytest.fixture(scope="module")
def interop_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of its own (`digione db upgrade` migrates it): a SQLite file, or a
    fresh database on DIGIONE_TEST_DATABASE_URL's server, dropped afterwards (as tests/conftest.py's
    database_url does; that one is shared with in-process tests, which expect it empty)."""
    with fresh_database(tmp_path_factory.mktemp("interop-db"), "digione_interop") as url:
        yield url


@dataclass
class Broker:
    url: str
    env: dict  # what the server process runs with: DIGIONE_* settings, BrokerSetup.env

    def cli(self, *args: str) -> str:
        """`digione ARGS` with the server's settings. In this process (click's CliRunner): the
        same command, without the seconds a fresh interpreter takes to import the broker."""
        from click.testing import CliRunner

        from idp.cli.main import main

        unset = {name: None for name in os.environ if name.startswith("DIGIONE_")}
        try:
            result = CliRunner().invoke(main, list(args), env={**unset, **self.env})
        finally:
            # The command pointed the digione log handler at CliRunner's (now closed) stderr.
            root = logging.getLogger("digione")
            for handler in [h for h in root.handlers if getattr(h, "_digione", False)]:
                root.removeHandler(handler)
        if result.exit_code != 0:
            trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
            pytest.fail(
                f"digione {' '.join(args)} failed ({result.exit_code}):\n{result.output}{trace}"
            )
        return result.output

    def add_client(self, name: str, *options: str) -> dict:
        return json.loads(self.cli("clients", "add", "--name", name, *options, "--json"))


@dataclass(frozen=True)
class BrokerSetup:
    """What the broker process runs with besides its own settings."""

    folder: Path | None = None  # a configuration folder (DIGIONE_CONFIG); None: config/
    env: dict[str, str] = field(default_factory=dict)  # e.g. a directory's password variable


@pytest.fixture(scope="module")
def broker_url() -> str:
    """The broker's base URL (its issuer), known before it starts."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def broker_setup() -> BrokerSetup:
    """The repository's config/; a test module overrides this fixture to connect cities."""
    return BrokerSetup()


@pytest.fixture(scope="module")
def broker(
    interop_database: str,
    processes: Processes,
    tmp_path_factory,
    broker_url: str,
    broker_setup: BrokerSetup,
) -> Broker:
    """`digione serve` on ``broker_url``, migrated and seeded with the demo people."""
    require(DIGIONE.exists(), f"the digione command is not installed at {DIGIONE}")
    url = broker_url
    port = int(url.rsplit(":", 1)[1])
    settings = {
        **broker_setup.env,
        **({"DIGIONE_CONFIG": str(broker_setup.folder)} if broker_setup.folder else {}),
        "DIGIONE_DATABASE_URL": interop_database,
        "DIGIONE_SERVER_ISSUER": url,
        "DIGIONE_SERVER_INSTANCE_DIR": str(tmp_path_factory.mktemp("interop-instance")),
        "DIGIONE_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DIGIONE_PASSWORDS_TIME_COST": "1",
        "DIGIONE_PASSWORDS_MEMORY_KIB": "8192",
        "DIGIONE_PASSWORDS_PARALLELISM": "1",
    }
    broker = Broker(url, settings)
    broker.cli("db", "upgrade")
    broker.cli("demo", "seed")
    processes.start(
        "broker",
        [str(DIGIONE), "serve", "--port", str(port)],
        {**{k: v for k, v in os.environ.items() if not k.startswith("DIGIONE_")}, **settings},
        f"{url}/.well-known/openid-configuration",
    )
    return broker


@pytest.fixture(scope="module")
def node_rp(broker: Broker, processes: Processes):
    """Start an openid-client relying party for a newly registered client; returns its URL and
    the client. ``options`` are more `digione clients add` options; ``cc`` is an optional
    client_credentials client it also gets."""
    require(NODE is not None, "node is not installed")
    require(
        (ROOT / "node_modules" / "openid-client" / "package.json").exists(),
        "node_modules/openid-client is missing: run npm ci",
    )

    def start(name: str, *options: str, cc: dict | None = None) -> tuple[str, dict]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        registered = broker.add_client(
            name,
            "--redirect-uri", f"{base}/cb",
            "--post-logout-redirect-uri", f"{base}/bye",
            "--backchannel-logout-uri", f"{base}/backchannel",
            "--grant-type", "authorization_code",
            "--grant-type", "refresh_token",
            "--scope", "openid profile email offline_access edu:school edu:roles",
            "--token-endpoint-auth-method", "client_secret_basic",
            *options,
        )  # fmt: skip
        env = {
            **os.environ,
            "RP_ISSUER": broker.url,
            "RP_BASE": base,
            "RP_CLIENT_ID": registered["client_id"],
            "RP_CLIENT_SECRET": registered["client_secret"],
            "RP_CC_CLIENT_ID": (cc or {}).get("client_id", ""),
            "RP_CC_CLIENT_SECRET": (cc or {}).get("client_secret", ""),
        }
        processes.start(name, [NODE, str(RP_SCRIPT), str(port)], env, f"{base}/results")
        return base, registered

    return start

"""Fixtures for the OpenID Connect connector: the real peer (oidc-provider, ``peer.py``), a
provider under the test's control (``fake.py``), and a broker whose config folder connects
Tampere and Vantaa to a provider (``cities.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.oidc.discovery import CACHE
from tests.federation.oidc.cities import (
    BROKER,
    SECRET_ENV,
    tampere_directory,
    vantaa_directory,
    write_city,
)
from tests.federation.oidc.fake import CLIENT_SECRET, FakeProvider
from tests.federation.oidc.peer import ROOT, OidcProvider, require_provider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[OidcProvider]:
    """The shared real provider, registered for the broker at its default issuer."""
    require_provider()
    provider = OidcProvider(tmp_path_factory.mktemp("oidc-provider"))
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def start_provider(tmp_path) -> Iterator:
    """A provider of the test's own (to restart with other keys, or for another broker URL)."""
    started: list[OidcProvider] = []

    def start(broker: str = BROKER) -> OidcProvider:
        require_provider()
        provider = OidcProvider(tmp_path, broker)
        started.append(provider)
        provider.start()
        return provider

    yield start
    for provider in started:
        provider.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the provider's log."""
    outcome = yield
    report = outcome.get_result()
    provider = getattr(item, "funcargs", {}).get("oidc_provider")
    if report.failed and isinstance(provider, OidcProvider) and provider.log.exists():
        report.sections.append(("oidc-provider log", provider.log.read_text()[-4000:]))


# -- a provider under the test's control -------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch) -> Iterator[None]:
    """Each test starts with nothing cached, and the client secret in the environment."""
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    CACHE.forget()
    yield
    CACHE.forget()


@pytest.fixture
def config_folder(tmp_path) -> Path:
    """A copy of config/ the test may rewrite before asking for ``app``."""
    folder = tmp_path / "config"
    shutil.copytree(ROOT / "config", folder, ignore=shutil.ignore_patterns("examples"))
    return folder


@pytest.fixture
def oidc_cities(oidc_provider: OidcProvider) -> dict[str, dict]:
    """The [directory] of each city to connect (a test module may override this fixture)."""
    return {
        "tampere": tampere_directory(oidc_provider.issuer),
        "vantaa": vantaa_directory(oidc_provider.issuer),
    }


@pytest.fixture
def app_config(app_config: dict, config_folder: Path, oidc_cities: dict[str, dict]) -> dict:
    for slug, directory in oidc_cities.items():
        write_city(config_folder, slug, directory)
    return {**app_config, "folder": str(config_folder)}

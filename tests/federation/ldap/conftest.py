"""A session-wide real slapd with the five cities' trees (tests/federation/ldap/trees.py)."""

from __future__ import annotations

import pytest

from tests.conftest import require
from tests.federation.ldap import slapd as slapd_module
from tests.federation.ldap.trees import CITIES, tree


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    require(slapd_module.available(), "OpenLDAP slapd is not installed (apt-get install slapd)")
    server = slapd_module.Slapd(
        tmp_path_factory.mktemp("slapd"), {slug: spec[0] for slug, spec in CITIES.items()}
    )
    server.load({slug: tree(slug) for slug in CITIES})
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def ldap_password(monkeypatch):
    monkeypatch.setenv("DIGIONE_TEST_LDAP_PASSWORD", slapd_module.SERVICE_PASSWORD)

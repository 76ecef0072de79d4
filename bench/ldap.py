"""Scenario 5 through LDAP: a real OpenLDAP slapd (the test suite's harness,
tests/federation/ldap) holds one city's directory with the benchmark's pupils, and the
broker's configuration folder names that city's directory as LDAP, so that slapd does the
password check (a simple bind as the person) on every sign-in."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.servers import LOAD_CORE

CITY = "turku"  # an OpenLDAP-shaped tree (uid, entryUUID, MPASSid role strings)
PASSWORD_ENV = "BENCH_LDAP_PASSWORD"
USER_PASSWORD = "bench-ldap-password-1"


def _pupils(suffix: str, code: str, school: str, names: list[str]) -> str:
    entries = []
    for number, name in enumerate(names):
        lines = [
            f"dn: uid={name},ou=people,{suffix}", "objectClass: inetOrgPerson",
            "objectClass: digioneTestPerson", f"uid: {name}", f"cn: Bench {name}", "sn: Bench",
            f"givenName: {name}", f"userPassword: {USER_PASSWORD}",
            f"mpassRole: {code};{school};5A;learner", f"learnerId: 1.2.246.562.24.9{number:010d}",
        ]  # fmt: skip
        entries.append("\n".join(lines) + "\n")
    return "\n".join(entries)


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings and numbers: JSON's forms are TOML's


def _config_folder(folder: Path, directory: dict) -> Path:
    """A copy of config/ in which CITY signs in at ``directory``."""
    root = Path(__file__).resolve().parents[1]
    config = folder / "config"
    shutil.copytree(root / "config", config, ignore=shutil.ignore_patterns("examples"))
    city_file = config / "cities" / f"{CITY}.toml"
    text = city_file.read_text(encoding="utf-8")
    head = text[: text.index("[directory]")]
    lines = [f"{key} = {_toml_value(value)}" for key, value in directory.items()]
    city_file.write_text(head + "[directory]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return config


@contextmanager
def directory(folder: Path, count: int) -> Iterator[tuple[dict[str, str], list[str]]]:
    """slapd running with ``count`` pupils in CITY's tree; yields the broker's extra
    environment (its configuration folder and the service account's password) and the
    pupils' user names."""
    from tests.federation.ldap import slapd as harness
    from tests.federation.ldap.trees import CITIES, directory_settings, tree

    if not harness.available():
        raise RuntimeError("OpenLDAP slapd is not installed: run bench/setup.sh")
    suffix, code, school, _number = CITIES[CITY]
    names = [f"ldapbench{number:04d}" for number in range(count)]
    (folder / "slapd").mkdir()
    server = harness.Slapd(folder / "slapd", {CITY: suffix})
    server.load({CITY: tree(CITY) + "\n" + _pupils(suffix, code, school, names)})
    server.start()
    os.sched_setaffinity(server.process.pid, {int(LOAD_CORE)})  # off the broker's core
    try:
        settings = directory_settings(CITY, [server.ldap_url], bind_password_env=PASSWORD_ENV)
        env = {
            "DIGIONE_CONFIG": str(_config_folder(folder, settings)),
            PASSWORD_ENV: harness.SERVICE_PASSWORD,
        }
        yield env, names
    finally:
        server.stop()

"""Configuration: the shipped files load; each kind of mistake stops start-up, one line each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.settings.loader import DEFAULT_FOLDER
from idp.cli import main
from idp.config import ConfigError, load_config

GOOD_KEY = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="  # 32 bytes, base64


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the shipped configuration folder."""
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_FOLDER, target)
    return target


def problems(folder: Path, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ=environ or {})
    return caught.value.lines


def test_shipped_configuration_has_the_five_cities():
    cfg = load_config(environ={})
    codes = {slug: city.municipality_code for slug, city in cfg.cities.items()}
    assert codes == {
        "espoo": "049",
        "oulu": "564",
        "tampere": "837",
        "turku": "853",
        "vantaa": "092",
    }
    assert cfg.cities["turku"].name.sv == "Åbo"
    assert cfg.settings.server.mode == "development"
    assert set(cfg.demo) == set(codes)


def test_environment_overrides_typed_settings(folder: Path):
    cfg = load_config(
        folder,
        environ={
            "DIGIONE_SESSION_IDLE_MINUTES": "30",
            "DIGIONE_KEYS_AUTO_ROTATE": "false",
            "DIGIONE_DATABASE_URL": "sqlite:////tmp/x.sqlite",
            "DIGIONE_TEST_DATABASE_URL": "ignored: not a setting",
        },
    )
    assert cfg.settings.session.idle_minutes == 30
    assert cfg.settings.keys.auto_rotate is False
    assert cfg.settings.database.url == "sqlite:////tmp/x.sqlite"


def test_unknown_key_is_named_with_its_file(folder: Path):
    text = (folder / "defaults.toml").read_text().replace("[session]", "[session]\nlifetme = 5")
    (folder / "defaults.toml").write_text(text)
    [line] = problems(folder)
    assert line.endswith("defaults.toml: session.lifetme: unknown key")


def test_wrong_type_is_named(folder: Path):
    text = (
        (folder / "defaults.toml").read_text().replace("idle_minutes = 120", 'idle_minutes = "x"')
    )
    (folder / "defaults.toml").write_text(text)
    [line] = problems(folder)
    assert "defaults.toml: session.idle_minutes: wrong type" in line


def test_city_without_directory(folder: Path):
    path = folder / "cities" / "oulu.toml"
    path.write_text(path.read_text().split("[directory]")[0])
    [line] = problems(folder)
    assert line.endswith("cities/oulu.toml: directory: required key is missing")


def test_unknown_directory_type(folder: Path):
    path = folder / "cities" / "oulu.toml"
    path.write_text(path.read_text().replace('type = "embedded"', 'type = "carrier-pigeon"'))
    [line] = problems(folder)
    assert "cities/oulu.toml: directory.type: unknown type 'carrier-pigeon'" in line


def test_bad_environment_value_and_unknown_variable(folder: Path):
    lines = problems(
        folder, {"DIGIONE_SESSION_IDLE_MINUTES": "soon", "DIGIONE_SESION_IDLE_MINUTES": "5"}
    )
    assert any(
        line.startswith("DIGIONE_SESSION_IDLE_MINUTES: session.idle_minutes:") for line in lines
    )
    assert "DIGIONE_SESION_IDLE_MINUTES: sesion.idle_minutes: unknown setting" in lines


def test_every_problem_is_reported_at_once(folder: Path):
    (folder / "cities" / "espoo.toml").write_text('slug = "espoo"\n')
    text = (folder / "defaults.toml").read_text().replace("[demo]", "[demo]\ncolour = 1")
    (folder / "defaults.toml").write_text(text)
    lines = problems(folder)
    assert any("demo.colour: unknown key" in line for line in lines)
    assert any(
        "cities/espoo.toml: municipality_code: required key is missing" in line for line in lines
    )
    assert any("cities/espoo.toml: directory: required key is missing" in line for line in lines)


def test_duplicate_municipality_code_and_slug_mismatch(folder: Path):
    path = folder / "cities" / "vantaa.toml"
    path.write_text(
        path.read_text().replace('"092"', '"049"').replace('slug = "vantaa"', 'slug = "vanda"')
    )
    lines = problems(folder)
    assert any("vantaa.toml: municipality_code: 049 is already espoo's" in line for line in lines)
    assert any("vantaa.toml: slug: 'vanda' differs from the file name" in line for line in lines)


def test_bad_master_key(folder: Path):
    [line] = problems(folder, {"DIGIONE_MASTER_KEY": "c2hvcnQ="})
    assert "master.key:" in line and "32 bytes" in line


def test_production_refuses_demo_http_sqlite_and_missing_secrets(folder: Path):
    lines = problems(folder, {"DIGIONE_SERVER_MODE": "production"})
    joined = "\n".join(lines)
    assert "demo.enabled: demo data is refused in production" in joined
    assert "server.issuer: production needs an https:// issuer" in joined
    assert "master.key: production needs a master key" in joined
    assert "server.secret_key: production needs a secret" in joined
    assert "database.url: production needs PostgreSQL, not SQLite" in joined
    assert "oidc.pairwise_secret: production needs a secret" in joined
    assert len(lines) == 6


def test_a_proper_production_configuration_loads(folder: Path):
    cfg = load_config(
        folder,
        environ={
            "DIGIONE_SERVER_MODE": "production",
            "DIGIONE_SERVER_ISSUER": "https://login.digione.example",
            "DIGIONE_SERVER_SECRET_KEY": "s" * 40,
            "DIGIONE_MASTER_KEY": GOOD_KEY,
            "DIGIONE_DATABASE_URL": "postgresql+psycopg://digione@db/digione",
            "DIGIONE_DEMO_ENABLED": "false",
            "DIGIONE_OIDC_PAIRWISE_SECRET": "p" * 40,
        },
    )
    assert cfg.production and cfg.demo == {}


def test_config_check_command(folder: Path):
    runner = CliRunner()
    ok = runner.invoke(main, ["--config", str(folder), "config", "check"], env={})
    assert ok.exit_code == 0, ok.output
    assert "5 cities" in ok.output
    (folder / "cities" / "turku.toml").write_text('slug = "turku"\nmunicipality_code = "853"\n')
    bad = runner.invoke(main, ["--config", str(folder), "config", "check"], env={})
    assert bad.exit_code == 2
    assert "cities/turku.toml: name: required key is missing" in bad.output
    assert "cities/turku.toml: directory: required key is missing" in bad.output


def test_config_check_takes_the_folder_after_the_command_too(folder: Path):
    """`digione config check --config PATH`, as people type it, and the global form."""
    runner = CliRunner()
    ok = runner.invoke(main, ["config", "check", "--config", str(folder)], env={})
    assert ok.exit_code == 0, ok.output
    assert str(folder) in ok.output and "5 cities" in ok.output
    missing = runner.invoke(main, ["config", "check", "--config", str(folder / "nope")], env={})
    assert missing.exit_code == 2


def test_serve_in_development_advertises_the_port_it_serves(folder: Path, monkeypatch):
    from idp.cli.serve_cmd import _issuer_at

    monkeypatch.delenv("DIGIONE_SERVER_ISSUER", raising=False)
    cfg = load_config(folder, environ={})
    assert _issuer_at(cfg, "127.0.0.1", 5200).settings.server.issuer == "http://127.0.0.1:5200"
    every = "0.0.0.0"  # noqa: S104 - the address people type to serve on every interface
    assert _issuer_at(cfg, every, 5201).settings.server.issuer == "http://127.0.0.1:5201"
    assert _issuer_at(cfg, "127.0.0.1", 5000) == cfg
    monkeypatch.setenv("DIGIONE_SERVER_ISSUER", "http://127.0.0.1:5000")
    assert _issuer_at(cfg, "127.0.0.1", 5200).settings.server.issuer == "http://127.0.0.1:5000"

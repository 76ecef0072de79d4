"""Every ready-made configuration under config/examples/ loads and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings.loader import DEFAULT_FOLDER
from idp.config import load_config

EXAMPLES = sorted(
    p for p in (DEFAULT_FOLDER / "examples").glob("*") if (p / "defaults.toml").exists()
)


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda p: p.name)
def test_example_configuration_loads(folder: Path):
    cfg = load_config(folder, environ={})
    assert folder.name in {city.directory.type for city in cfg.cities.values()}

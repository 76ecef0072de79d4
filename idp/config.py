"""The broker's configuration as the composition root assembles it: the kernel's loader
(core.settings) with the directory settings of federation's connectors and the master-key
check of keys. Everything that loads the configuration for the broker goes through here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.settings import Config, ConfigError
from core.settings import loader as _loader
from federation.directories import DIRECTORY_SETTINGS
from keys.envelope import master_key_problems

CitySettings = _loader.city_model(DIRECTORY_SETTINGS)
CHECKS = (master_key_problems,)


def load_config(
    folder: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """core.settings.loader.load_config with every connector's directory type and check."""
    return _loader.load_config(
        folder, overrides, environ, directories=DIRECTORY_SETTINGS, checks=CHECKS
    )


__all__ = ["CitySettings", "Config", "ConfigError", "load_config"]

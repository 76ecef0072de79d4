"""Configuration: TOML files under config/ plus DIGIONE_* environment overrides."""

from core.settings.loader import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "load_config"]

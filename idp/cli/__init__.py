"""The `digione` command: everything an operator does (serve, config, db, keys, demo)."""

from idp.cli.main import main

__all__ = ["main"]

"""`digione purposes` (placeholder: being written)."""

from __future__ import annotations

import click


@click.group("purposes")
def command() -> None:
    """Purposes."""

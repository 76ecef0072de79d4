"""`digione consent` (placeholder: being written)."""

from __future__ import annotations

import click


@click.group("consent")
def command() -> None:
    """Consent."""

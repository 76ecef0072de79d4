"""The `digione` click group; each sub-command group lives in its own module."""

from __future__ import annotations

import click

from idp.cli.context import CliContext


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "folder",
    type=click.Path(file_okay=False, exists=True),
    envvar="DIGIONE_CONFIG",
    help="Configuration folder (default: the repository's config/).",
)
@click.pass_context
def main(ctx: click.Context, folder: str | None) -> None:
    """DigiOne identity and consent broker."""
    from pathlib import Path

    ctx.obj = CliContext(Path(folder) if folder else None)


COMMANDS = (
    "audit",
    "clients",
    "config",
    "consent",
    "db",
    "demo",
    "keys",
    "people",
    "purposes",
    "serve",
    "stats",
)


def _register() -> None:
    from importlib import import_module

    for name in COMMANDS:  # each sub-command group lives in idp/cli/<name>_cmd.py
        main.add_command(import_module(f"idp.cli.{name}_cmd").command)


_register()

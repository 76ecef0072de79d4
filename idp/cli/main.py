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


def _register() -> None:
    from idp.cli import (
        clients_cmd,
        config_cmd,
        consent_cmd,
        db_cmd,
        demo_cmd,
        keys_cmd,
        people_cmd,
        purposes_cmd,
        serve_cmd,
    )

    for module in (
        clients_cmd,
        config_cmd,
        consent_cmd,
        db_cmd,
        demo_cmd,
        keys_cmd,
        people_cmd,
        purposes_cmd,
        serve_cmd,
    ):
        main.add_command(module.command)


_register()

"""`digione config check`: validate the configuration without starting."""

from pathlib import Path

import click

from idp.cli.context import CliContext, pass_cli


@click.group("config")
def command() -> None:
    """Configuration."""


@command.command("check")
@click.option(
    "--config",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="The configuration folder (the same as `digione --config PATH config check`).",
)
@pass_cli
def check(cli: CliContext, folder: Path | None) -> None:
    """Check every file and DIGIONE_* variable; print one line per problem (exit 2) or OK."""
    if folder is not None:
        cli.folder = folder
    cfg = cli.config()
    click.echo(
        f"OK: {cfg.folder} ({cfg.settings.server.mode}, {len(cfg.cities)} cities: "
        f"{', '.join(sorted(cfg.cities))})"
    )

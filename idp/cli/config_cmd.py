"""`digione config check`: validate the configuration without starting."""

import click

from idp.cli.context import CliContext, pass_cli


@click.group("config")
def command() -> None:
    """Configuration."""


@command.command("check")
@pass_cli
def check(cli: CliContext) -> None:
    """Check every file and DIGIONE_* variable; print one line per problem (exit 2) or OK."""
    cfg = cli.config()
    click.echo(
        f"OK: {cfg.folder} ({cfg.settings.server.mode}, {len(cfg.cities)} cities: "
        f"{', '.join(sorted(cfg.cities))})"
    )

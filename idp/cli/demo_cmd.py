"""`digione demo seed`: load the demo people of every city (idempotent)."""

import click

from idp.cli.context import CliContext, pass_cli
from idp.db import db


@click.group("demo")
def command() -> None:
    """Demo data (development only)."""


@command.command("seed")
@pass_cli
def seed(cli: CliContext) -> None:
    """Create or refresh the demo accounts of every city (password: demo)."""
    from federation.demo import seed as seed_demo

    cfg = cli.config()
    if cfg.production or not cfg.settings.demo.enabled:
        raise click.ClickException("demo data is off (demo.enabled = false or production mode)")
    with cli.app().app_context():
        count = seed_demo(db.session, cfg)
    click.echo(f"demo: {count} accounts in {len(cfg.demo)} cities")

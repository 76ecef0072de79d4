"""`digione demo seed`: load the demo people of every city and register the demo services'
clients (config/demo/clients/) and data-sharing purposes (config/demo/purposes/), idempotently."""

import click

from core.db import db
from idp.cli.context import CliContext, pass_cli


@click.group("demo")
def command() -> None:
    """Demo data (development only)."""


@command.command("seed")
@pass_cli
def seed(cli: CliContext) -> None:
    """Create or refresh the demo accounts of every city (password: demo) and the demo services."""
    from consent.demo import seed_demo_purposes
    from consent.purposes import PurposeError
    from federation.demo import seed as seed_demo
    from idp.oidc.demo_clients import DemoClientError, seed_demo_clients

    cfg = cli.config()
    if cfg.production or not cfg.settings.demo.enabled:
        raise click.ClickException("demo data is off (demo.enabled = false or production mode)")
    with cli.app().app_context():
        count = seed_demo(db.session, cfg)
        click.echo(f"demo: {count} accounts in {len(cfg.demo)} cities")
        try:
            services = seed_demo_clients(
                db.session, cfg.folder / "demo" / "clients", development=not cfg.production
            )
            demo_purposes = seed_demo_purposes(db.session, cfg.folder / "demo" / "purposes")
        except (DemoClientError, PurposeError) as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
    click.echo(f"demo: {services} demo services registered (config/demo/clients)")
    click.echo(f"demo: {demo_purposes} data-sharing purposes (config/demo/purposes)")

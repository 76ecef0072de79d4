"""`digione demo seed`: load the demo people of every city and register the demo services'
clients (config/demo/clients/) and data-sharing purposes (config/demo/purposes/), idempotently."""

import click

from core.db import db
from idp.cli.context import CliContext, pass_cli


@click.group("demo")
def command() -> None:
    """Demo data (development only)."""


def _enroll_demo_admins(cfg) -> int:
    """The demo's administrators (a permission in config/demo) get the public demo TOTP key,
    so that the console's second factor works in the demo as in production."""
    from sqlalchemy import select

    from federation.models import CityIdentity
    from idp.signin import totp
    from keys.app import key_store

    enrolled = 0
    for city, people in cfg.demo.items():
        for person in people.people:
            if not person.permissions:
                continue
            person_id = db.session.scalar(
                select(CityIdentity.person_id).where(
                    CityIdentity.city == city, CityIdentity.subject == person.username
                )
            )
            if person_id is None:
                continue
            if not totp.enrolled(db.session, person_id):
                totp.enroll(db.session, key_store(), person_id, totp.DEMO_SECRET)
            enrolled += 1
    return enrolled


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
        from keys.app import key_store

        # The signing keys first, in their own transaction: made later, inside the seed's
        # open one, they waited for its write lock on SQLite (busy_timeout, retried: 30 s).
        key_store()
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
        admins = _enroll_demo_admins(cfg)
        db.session.commit()
    click.echo(f"demo: {services} demo services registered (config/demo/clients)")
    click.echo(f"demo: {admins} administrators with the demo second factor (README)")
    click.echo(f"demo: {demo_purposes} data-sharing purposes (config/demo/purposes)")

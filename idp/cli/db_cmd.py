"""`digione db upgrade|current`: Alembic migrations."""

import click

from core.db import db
from idp import migrate
from idp.cli.context import CliContext, pass_cli


@click.group("db")
def command() -> None:
    """Database schema."""


@command.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_cli
def upgrade(cli: CliContext, revision: str) -> None:
    """Migrate the database to the newest schema (or --revision)."""
    with cli.app().app_context():
        migrate.upgrade(db.engine, revision)
        click.echo(f"database at {migrate.current(db.engine)}")


@command.command("current")
@pass_cli
def current(cli: CliContext) -> None:
    """Print the database's revision and whether it is the newest."""
    with cli.app().app_context():
        now, head = migrate.current(db.engine), migrate.head()
    click.echo(f"{now or 'empty'} ({'up to date' if now == head else f'newest is {head}'})")

"""`digione stats aggregate`: the consent statistics of every finished day not aggregated yet
(consent.stats), for a first run over a long history or a cron job; the broker also does a
week of days an hour by itself."""

from __future__ import annotations

import click

from idp.cli.context import CliContext, pass_cli


@click.group("stats")
def command() -> None:
    """The cities' consent statistics."""


@command.command("aggregate")
@pass_cli
def aggregate(cli: CliContext) -> None:
    """Aggregate every finished day (Finnish time) not aggregated yet."""
    from consent import stats
    from core.db import utcnow

    with cli.database() as session:
        done = stats.catch_up(session, utcnow())
    if done is None:
        click.echo("statistics: every finished day is aggregated already")
    else:
        click.echo(f"statistics: aggregated {done[0].isoformat()} to {done[1].isoformat()}")

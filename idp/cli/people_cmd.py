"""`digione people links|unlink`: the links that make one person of several city accounts;
`digione people second-factor`: their TOTP keys (idp.cli.second_factor_cmd)."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from core.db import db
from idp.cli import second_factor_cmd
from idp.cli.context import CliContext, pass_cli


@click.group("people")
def command() -> None:
    """People and their accounts in the cities' directories."""


command.add_command(second_factor_cmd.group)


@command.command("links")
@click.option("--city", help="Only people with an account in this city.")
@pass_cli
def links(cli: CliContext, city: str | None) -> None:
    """Every person with accounts in more than one city: when each account joined and why."""
    from federation.models import CityIdentity, Person

    with cli.app().app_context():
        linked = (
            select(CityIdentity.person_id).group_by(CityIdentity.person_id).having(func.count() > 1)
        )
        people = db.session.scalars(
            select(Person).where(Person.id.in_(linked)).order_by(Person.family_name)
        ).all()
        shown = 0
        for person in people:
            if city and city not in {i.city for i in person.identities}:
                continue
            shown += 1
            click.echo(f"{person.id}  learner id {person.learner_id or '-'}")
            for identity in person.identities:
                click.echo(
                    f"    {identity.city:<8} {identity.subject:<40} {identity.linked_by:<10} "
                    f"{identity.created_at:%Y-%m-%d %H:%M}"
                )
    if not shown:
        click.echo("no linked people")


@command.command("unlink")
@click.argument("city")
@click.argument("subject")
@pass_cli
def unlink(cli: CliContext, city: str, subject: str) -> None:
    """Undo a wrong link: CITY's account SUBJECT becomes a person of its own, and is never
    linked by learner id again."""
    from consent.audit import admin_action
    from federation.accounts import unlink as unlink_identity
    from federation.models import CityIdentity

    with cli.app().app_context():
        identity = db.session.scalar(
            select(CityIdentity).where(CityIdentity.city == city, CityIdentity.subject == subject)
        )
        if identity is None:
            raise click.ClickException(f"no account {subject!r} in {city!r}")
        others = [i for i in identity.person.identities if i.id != identity.id]
        if not others:
            raise click.ClickException("that account is not linked to any other")
        person = unlink_identity(db.session, identity)
        admin_action(db.session, "person.unlink", detail={"identity": identity.id})
        db.session.commit()
        click.echo(f"unlinked: {city}/{subject} is now person {person.id}")

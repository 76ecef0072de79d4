"""`digione people second-factor enroll|remove`: a person's TOTP key for the
administrators' console (idp.signin.totp). Enrolling prints the key once, as a QR code for an
authenticator app (segno draws it in the terminal), as its otpauth:// URI and in base32."""

from __future__ import annotations

import click
from sqlalchemy import select

from core.db import db
from idp.cli.context import CliContext, pass_cli


@click.group("second-factor")
def group() -> None:
    """The second factor (TOTP) the administrators' console asks of a password sign-in."""


def _person_id(city: str, subject: str) -> str:
    from federation.models import CityIdentity

    found = db.session.scalar(
        select(CityIdentity.person_id).where(
            CityIdentity.city == city, CityIdentity.subject == subject
        )
    )
    if found is None:
        raise click.ClickException(
            f"no account {subject!r} of {city}: the person signs in once first (the embedded "
            "directory's people exist from `digione demo seed` or their first sign-in)"
        )
    return found


@group.command("enroll")
@click.argument("city")
@click.argument("subject")
@click.option("--replace", is_flag=True, help="Replace a key the person has (the old one stops).")
@pass_cli
def enroll(cli: CliContext, city: str, subject: str, replace: bool) -> None:
    """Give CITY's account SUBJECT (the embedded directory's user name, or the directory's
    stable identifier) a new TOTP key and show it once, to be scanned by their app."""
    import segno

    from consent.audit import admin_action
    from idp.signin import totp
    from keys.app import key_store

    with cli.app().app_context():
        person_id = _person_id(city, subject)
        if totp.enrolled(db.session, person_id) and not replace:
            raise click.ClickException(
                "the person has a second factor already; --replace gives a new key"
            )
        secret = totp.enroll(db.session, key_store(), person_id)
        admin_action(db.session, "second_factor.enroll", detail={"person": person_id})
        db.session.commit()
    address = totp.uri(secret, f"{subject}@{city}")
    qr = segno.make(address, error="m")
    qr.terminal(compact=True, border=2)
    click.echo(f"\n{address}\nkey (base32): {secret}")
    click.echo(
        "Shown once: DigiOne keeps the key sealed under the master key. Hand it to the person "
        "only, in person or over a channel you trust.",
        err=True,
    )


@group.command("remove")
@click.argument("city")
@click.argument("subject")
@pass_cli
def remove(cli: CliContext, city: str, subject: str) -> None:
    """Remove the person's TOTP key (a lost phone): the console is closed to them until a new
    one is enrolled."""
    from consent.audit import admin_action
    from idp.signin import totp

    with cli.app().app_context():
        person_id = _person_id(city, subject)
        if not totp.remove(db.session, person_id):
            raise click.ClickException("the person has no second factor")
        admin_action(db.session, "second_factor.remove", detail={"person": person_id})
        db.session.commit()
    click.echo(f"removed the second factor of {subject} ({city})")

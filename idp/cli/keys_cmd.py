"""`digione keys list|rotate`: the signing keys, never their private halves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click

from idp.cli.context import CliContext, pass_cli

USES = ("rs256", "es256", "audit", "saml")
COLUMNS = ("USE", "STATE", "KID", "ALG", "CREATED", "ACTIVATED", "RETIRED")


@click.group("keys")
def command() -> None:
    """Signing keys."""


@contextmanager
def _store(cli: CliContext) -> Iterator:
    """The app's KeyStore inside an app context; database and master key problems become one
    readable line (exit 1)."""
    from sqlalchemy.exc import SQLAlchemyError

    from keys.app import key_store
    from keys.envelope import MasterKeyError, UnsealError

    with cli.app().app_context():
        try:
            yield key_store(maintain=False)
        except SQLAlchemyError as exc:
            reason = type(getattr(exc, "orig", None) or exc).__name__
            raise click.ClickException(
                f"database error ({reason}); is it migrated? run: digione db upgrade"
            ) from None
        except (MasterKeyError, UnsealError) as exc:
            raise click.ClickException(str(exc)) from None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%MZ") if value else "-"


@command.command("list")
@pass_cli
def list_keys(cli: CliContext) -> None:
    """Show every signing key: use, state, kid, alg, and when it was created, activated and
    retired (UTC)."""
    with _store(cli) as store:
        rows = [
            (k.use, k.state, k.kid, k.alg, _when(k.created_at), _when(k.activated_at),
             _when(k.retired_at))
            for k in store.list_keys()
        ]  # fmt: skip
    if not rows:
        click.echo("no signing keys yet; they are made on first use or by: digione keys rotate")
        return
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    for row in [COLUMNS, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo(line.rstrip())


@command.command("rotate")
@click.option("--use", type=click.Choice(USES), help="Rotate only this use (default: all).")
@click.option("--due", is_flag=True, help="Only keys older than keys.rotate_after_days (for cron).")
@pass_cli
def rotate(cli: CliContext, use: str | None, due: bool) -> None:
    """Activate the next key, retire the active one and make a new next key. Retired keys stay
    in the JWKS for keys.retired_grace_days."""
    uses = (use,) if use else USES
    with _store(cli) as store:
        if due:
            store.ensure(uses)
            days = store.settings.rotate_after_days
            if days <= 0:
                click.echo("rotation by age is off (keys.rotate_after_days = 0)")
                return
            rotated = store.rotate_due(uses=uses)
            if rotated:
                _audit("keys.rotate", {"uses": list(rotated), "due": True})
            click.echo(
                f"rotated: {', '.join(rotated)}"
                if rotated
                else f"nothing due (keys rotate after {days} days)"
            )
            return
        for each in uses:
            key = store.rotate(each)
            click.echo(f"{each}: now signing with {key.kid}")
        _audit("keys.rotate", {"uses": list(uses), "due": False})


def _audit(action: str, detail: dict) -> None:
    from consent.audit import admin_action
    from core.db import db

    admin_action(db.session, action, detail=detail)
    db.session.commit()

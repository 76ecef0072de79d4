"""`digione audit checkpoint|keys`: the tamper-evident audit log's signed checkpoints and the
keys that verify them (consent.ledger)."""

from __future__ import annotations

import click

from idp.cli.context import CliContext, pass_cli


@click.group("audit")
def command() -> None:
    """The tamper-evident audit log."""


@command.command("checkpoint")
@pass_cli
def checkpoint(cli: CliContext) -> None:
    """Sign a checkpoint of the log as it is now (the latest one if nothing was added since)
    and print it: a C2SP signed note anyone verifies with `digione audit keys`."""
    from consent.ledger import checkpoints
    from consent.ledger.store import LedgerCorrupt
    from keys.app import key_store

    with cli.database() as session:
        origin = checkpoints.origin_for(cli.config().settings.server.issuer)
        try:
            made = checkpoints.make(session, checkpoints.signer(origin, key_store()))
        except LedgerCorrupt as exc:
            raise click.ClickException(f"not signed: {exc}") from None
        note = made.note
    click.echo(note, nl=False)


@command.command("keys")
@pass_cli
def keys(cli: CliContext) -> None:
    """Print the verifier key of every audit key ever made, newest first."""
    from consent.ledger import checkpoints
    from keys.app import key_store

    with cli.database():
        origin = checkpoints.origin_for(cli.config().settings.server.issuer)
        lines = [v.to_string() for v in checkpoints.verifiers(origin, key_store())]
    click.echo("\n".join(lines))

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


@command.command("verify")
@pass_cli
def verify(cli: CliContext) -> None:
    """Recompute the log's tree from its stored leaves and check every stored subtree hash,
    the head and every checkpoint (its root and its signature); then check every consent
    record, consent event and audit entry against its leaf. Prints what does not add up on
    standard error and exits 1; prints the size verified and exits 0 when all does."""
    import sys

    from consent.ledger import checkpoints
    from consent.ledger.rows import verify_rows
    from consent.ledger.verify import verify_tree
    from keys.app import key_store

    with cli.database() as session:
        origin = checkpoints.origin_for(cli.config().settings.server.issuer)
        known = checkpoints.verifiers(origin, key_store())
        size = [0]
        terminal = sys.stderr.isatty()

        def progress(done: int) -> None:
            size[0] = done
            if terminal and done % 100_000 == 0:
                click.echo(f"\r{done:,} leaves", err=True, nl=False)

        def checked(done: int) -> None:
            if terminal and done % 100_000 == 0:
                click.echo(f"\r{done:,} rows checked", err=True, nl=False)

        findings = verify_tree(session, origin, known, progress)
        findings += verify_rows(session, checked)
    if terminal:
        click.echo("\r", err=True, nl=False)
    for finding in findings:
        click.echo(finding.what, err=True)
    if findings:
        raise SystemExit(1)
    click.echo(
        f"verified: {size[0]} leaves, every stored hash, the head, each checkpoint, and every "
        "consent record, event and audit entry against its leaf"
    )

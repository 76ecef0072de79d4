"""`digione audit checkpoint|keys|verify|proof`: the tamper-evident audit log's signed
checkpoints, the keys that verify them, its verification and a record's inclusion proofs
(consent.ledger)."""

from __future__ import annotations

from pathlib import Path

import click

from idp.cli.context import CliContext, pass_cli


@click.group("audit")
def command() -> None:
    """The tamper-evident audit log."""


@command.command("checkpoint")
@pass_cli
def checkpoint(cli: CliContext) -> None:
    """Sign a checkpoint of the log as it is now (the latest one if nothing was added since),
    hand it to the witness and print it: a C2SP signed note anyone verifies with `digione
    audit keys`."""
    from consent.ledger import checkpoints
    from consent.ledger.store import LedgerCorrupt
    from consent.ledger.upkeep import UPKEEP
    from keys.app import key_store

    with cli.database() as session:
        upkeep = UPKEEP.current()
        try:
            made = checkpoints.make(session, checkpoints.signer(upkeep.origin, key_store()))
        except LedgerCorrupt as exc:
            raise click.ClickException(f"not signed: {exc}") from None
        note = made.note
        session.commit()
        upkeep.bring_witness(session, key_store())
    if upkeep.problem:
        click.echo(f"warning: the witness is behind: {upkeep.problem}", err=True)
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
@click.option(
    "--witness",
    "witness_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The witness file to check (default: audit.witness_file of the configuration).",
)
@pass_cli
def verify(cli: CliContext, witness_path: Path | None) -> None:
    """Recompute the log's tree from its stored leaves and check every stored subtree hash,
    the head and every checkpoint (its root and its signature); then check every consent
    record, consent event and audit entry against its leaf, and every checkpoint the witness
    holds against the database. Prints what does not add up on standard error and exits 1;
    prints the size verified and exits 0 when all does."""
    from consent.ledger import checkpoints, store
    from consent.ledger.rows import rows_in_log, verify_rows
    from consent.ledger.upkeep import UPKEEP
    from consent.ledger.verify import verify_tree, verify_witness
    from consent.ledger.witness import WitnessFile
    from keys.app import key_store

    with cli.database() as session:
        origin = checkpoints.origin_for(cli.config().settings.server.issuer)
        known = checkpoints.verifiers(origin, key_store())
        total = store.size(session)
        with _Progress("leaves", total) as progress:
            findings = verify_tree(session, origin, known, progress)
        with _Progress("rows  ", rows_in_log(session)) as checked:
            findings += verify_rows(session, checked)
        witness = WitnessFile(witness_path) if witness_path else UPKEEP.current().witness
        witnessed = 0
        if witness is not None:
            witnessed, found = verify_witness(session, witness.entries(), origin, known)
            findings += found
    for finding in findings:
        click.echo(finding.what, err=True)
    if findings:
        raise SystemExit(1)
    held = f"the witness's {witnessed} checkpoint(s)" if witness else "no witness configured"
    click.echo(
        f"verified: {total} leaves, every stored hash, the head, each checkpoint, every "
        f"consent record, event and audit entry against its leaf, and {held}"
    )


class _Progress:
    """A progress bar on standard error while it is a terminal (click.progressbar shows
    nothing elsewhere): called with how many are done so far."""

    def __init__(self, label: str, total: int) -> None:
        import sys

        self.bar = click.progressbar(
            length=max(total, 1), label=label, file=sys.stderr, show_pos=True, show_eta=True
        )
        self.done, self.step = 0, max(10_000, total // 500)

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.__exit__(*exc_info)

    def __call__(self, done: int) -> None:
        if done - self.done >= self.step:
            self.bar.update(done - self.done)
            self.done = done


@command.command("proof")
@click.argument("record_id")
@pass_cli
def proof(cli: CliContext, record_id: str) -> None:
    """Print a consent record's entries in the log (the record, its events and the audit
    entries about it) with their inclusion proofs against the latest checkpoint, as JSON, for
    an outside auditor (docs/consent.md says how to check them)."""
    import json

    from consent.ledger import proofs
    from consent.ledger.upkeep import UPKEEP

    with cli.database() as session:
        found = proofs.bundle(session, record_id)
        origin = UPKEEP.current().origin
    if found is None:
        raise click.ClickException(f"no consent record {record_id} in the log")
    click.echo(json.dumps({"origin": origin, **found}, indent=2, ensure_ascii=False))
    waiting = sum(1 for entry in found["entries"] if entry["proof"] is None)
    if waiting:
        click.echo(
            f"{waiting} entr{'y' if waiting == 1 else 'ies'} after the latest checkpoint "
            "(no proof yet): run `digione audit checkpoint`, then this again",
            err=True,
        )

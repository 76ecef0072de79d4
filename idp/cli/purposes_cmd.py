"""`digione purposes add|list|show|new-version|withdraw`: the data-sharing purposes guardians
are asked about (docs/consent.md). Every change is appended to the audit trail with the
operator's login name as the actor."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from consent.audit import cli_actor
from idp.cli.context import CliContext, pass_cli

LANGUAGES = ("fi", "sv", "en")


@click.group("purposes")
def command() -> None:
    """Data-sharing purposes and their versions (guardian consent)."""


def _audit(session: Session, action: str, purpose_id: str, **detail) -> None:
    from consent import audit

    audit.append(
        session,
        actor_type="admin",
        actor_id=audit.cli_actor(),
        action=action,
        channel="cli",
        purpose_id=purpose_id,
        detail=detail,
    )


def _read(path: str):
    from consent import purposes

    try:
        return purposes.read_file(Path(path))
    except purposes.PurposeError as exc:
        raise click.ClickException(str(exc)) from None


def _current(session: Session, purpose_id: str, version: int | None = None):
    from consent import purposes

    row = purposes.get(session, purpose_id, version)
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise click.ClickException(f"no purpose {purpose_id}{which}")
    return row


def _hash(row) -> str:
    return f"notice hash {row.notice_hash}"


def policy_text(row) -> str:
    """The policy in a few words: who decides, and from which age the child decides."""
    if row.lawful_basis != "consent":
        return "nobody is asked"
    text = row.who
    if row.child_from_age is not None:
        text += f", child from {row.child_from_age}"
        if row.child_alongside_guardians:
            text += " with guardians"
    return text


@command.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_cli
def add(cli: CliContext, file: str) -> None:
    """Register a new purpose from a TOML file, as version 1."""
    from consent import purposes

    spec = _read(file)
    with cli.database() as session:
        try:
            row = purposes.add(session, spec, created_by=cli_actor())
        except purposes.PurposeError as exc:
            raise click.ClickException(str(exc)) from None
        _audit(session, "purpose.add", row.purpose_id, version=row.version)
        lines = [f"added purpose {row.purpose_id} version {row.version}", _hash(row)]
    click.echo("\n".join(lines))  # once committed


@command.command("list")
@pass_cli
def list_(cli: CliContext) -> None:
    """The latest version of every purpose."""
    from consent import purposes

    with cli.database() as session:
        rows = [
            (
                p.purpose_id,
                str(p.version),
                p.lawful_basis,
                policy_text(p),
                f"{p.source_client_id} → {p.recipient_client_id}",
                "withdrawn" if p.withdrawn_at else "-",
            )
            for p in purposes.all_latest(session)
        ]
    if not rows:
        click.echo("no purposes yet; add one with: digione purposes add FILE.toml")
        return
    header = ("ID", "VERSION", "LAWFUL_BASIS", "POLICY", "SOURCE → RECIPIENT", "WITHDRAWN")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _echo_purpose(info: dict) -> None:
    for name, value in info.items():
        if isinstance(value, dict) and set(value) <= set(LANGUAGES):
            click.echo(f"{name}:")
            for language in LANGUAGES:
                click.echo(f"  {language}: {value.get(language, '')}")
            continue
        if isinstance(value, dict):
            value = ", ".join(
                f"{key}={'-' if item is None else item}" for key, item in value.items()
            )
        elif isinstance(value, list):
            value = ", ".join(value) if value else "-"
        elif value is None:
            value = "-"
        click.echo(f"{name + ':':<20}{value}")


@command.command("show")
@click.argument("purpose_id")
@click.option("--version", type=click.IntRange(1), help="This version (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print the purpose as JSON.")
@pass_cli
def show(cli: CliContext, purpose_id: str, version: int | None, as_json: bool) -> None:
    """Every field of a purpose version, its texts in Finnish, Swedish and English."""
    from consent import purposes

    with cli.database() as session:
        info = purposes.to_dict(_current(session, purpose_id, version))
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        _echo_purpose(info)


@command.command("new-version")
@click.argument("purpose_id")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_cli
def new_version(cli: CliContext, purpose_id: str, file: str) -> None:
    """Publish the next version of a purpose from a TOML file (its id must be PURPOSE_ID).
    Consents stay tied to their version unless the file sets requires_reconsent = true."""
    from consent import history, purposes

    spec = _read(file)
    if spec.id != purpose_id:
        raise click.ClickException(f"{file}: id is {spec.id}, not {purpose_id}")
    with cli.database() as session:
        current = _current(session, purpose_id)
        ending = history.still_open(session, purpose_id) if spec.requires_reconsent else 0
        try:
            row = purposes.new_version(session, spec, created_by=cli_actor())
        except purposes.PurposeError as exc:
            raise click.ClickException(str(exc)) from None
        _audit(
            session, "purpose.new_version", purpose_id, version=row.version,
            previous=current.version, requires_reconsent=row.requires_reconsent, ended=ending,
        )  # fmt: skip
        lines = [f"published purpose {purpose_id} version {row.version}", _hash(row)]
        if row.requires_reconsent:
            lines.append(
                f"demands re-consent: ends {ending} open or given record(s) of earlier versions"
            )
        else:
            lines.append("no re-consent: consents given for earlier versions stay valid")
    click.echo("\n".join(lines))


@command.command("withdraw")
@click.argument("purpose_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def withdraw(cli: CliContext, purpose_id: str, yes: bool) -> None:
    """Withdraw a purpose (every version, for good): every consent under it ends."""
    from consent import history, purposes

    with cli.database() as session:
        current = _current(session, purpose_id)
        if current.withdrawn_at is not None:
            raise click.ClickException(f"purpose {purpose_id} is withdrawn already")
        ending = history.still_open(session, purpose_id)
        if not yes:
            click.confirm(
                f"Withdraw purpose {purpose_id}? {ending} open or given record(s) end.",
                abort=True,
            )
        purposes.withdraw(session, purpose_id)
        _audit(session, "purpose.withdraw", purpose_id, version=current.version, ended=ending)
    click.echo(f"withdrew purpose {purpose_id}: {ending} open or given record(s) ended")

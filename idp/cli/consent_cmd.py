"""`digione consent show|export|reindex`: one consent record with its history, every record of
a city for the controller's own records, and the stored states the lists read, rebuilt.
Identifiers only (the child's internal person id and learner id), never names."""

from __future__ import annotations

import json

import click

from idp.cli.context import CliContext, pass_cli


@click.group("consent")
def command() -> None:
    """Guardian consent records: one with its history, or a city's export."""


def _line(step: dict) -> str:
    parts = [
        step["at"],
        f"{step['kind']:<11}",
        f"{step['actor_type']}:{step['actor_id']}",
        f"via {step['method']}",
    ]
    if step["acr"]:
        parts.append(f"acr {step['acr']}")
    if step["reason"]:
        parts.append(f"reason {step['reason']}")
    parts.append(f"→ {step['state']}")
    if not step["counted"]:
        parts.append("(after the record ended: no effect)")
    return "  ".join(parts)


def echo_record(info: dict) -> None:
    """The record as a few lines, then its history one line per step."""
    fields = [
        ("record", info["id"]),
        ("purpose", f"{info['purpose']['id']} version {info['purpose']['version']}"),
        ("lawful basis", info["purpose"]["lawful_basis"]),
        ("notice hash", info["purpose"]["notice_hash"]),
        ("child", info["child"]["id"]),
        ("learner id", info["child"]["learner_id"] or "-"),
        ("city", info["city"]),
        ("requested by", info["requested_by"] or "-"),
        ("created", info["created_at"]),
        ("state now", info["state"] + (f" ({info['reason']})" if info["reason"] else "")),
        ("given", info["given_at"] or "-"),
        ("valid until", info["valid_until"] or "-"),
        ("ended", info["ended_at"] or "-"),
    ]
    for name, value in fields:
        click.echo(f"{name + ':':<15}{value}")
    click.echo("history:")
    for step in info["history"]:
        click.echo(f"  {_line(step)}")


@command.command("show")
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_cli
def show(cli: CliContext, record_id: str, as_json: bool) -> None:
    """A consent record, its state now and its full history. The view is appended to the
    audit trail (who looked, when)."""
    from consent import audit
    from consent.history import record_to_dict
    from consent.models import ConsentRecord

    with cli.database() as session:
        record = session.get(ConsentRecord, record_id)
        if record is None:
            raise click.ClickException(f"no consent record {record_id}")
        info = record_to_dict(session, record)
        audit.append(
            session, actor_type="admin", actor_id=audit.cli_actor(), action="consent.view",
            channel="cli", record_id=record.id, purpose_id=record.purpose_id,
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        echo_record(info)


@command.command("export")
@click.option("--city", required=True, help="The city's slug: its records (the controller's).")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@pass_cli
def export(cli: CliContext, city: str, fmt: str) -> None:
    """Every consent record of a city with its state now and its number of events, written to
    stdout row by row (CSV with a header, or one JSON array)."""
    from consent import audit, exports
    from consent.history import export_rows

    cities = cli.config().cities
    if city not in cities:
        known = ", ".join(sorted(cities))
        raise click.ClickException(f"no city {city!r}; configured: {known}")

    count = 0

    def counted(rows):
        nonlocal count
        for row in rows:
            count += 1
            yield row

    with cli.database() as session:
        for chunk in exports.lines(counted(export_rows(session, city)), fmt):
            click.echo(chunk, nl=False)
        audit.append(
            session, actor_type="admin", actor_id=audit.cli_actor(), action="consent.export",
            channel="cli", detail={"city": city, "count": count, "format": fmt},
        )  # fmt: skip
    click.echo(f"exported {count} record(s) of {city}", err=True)


@command.command("reindex")
@pass_cli
def reindex(cli: CliContext) -> None:
    """Rebuild every record's stored state (what administrators' lists filter on) from its
    events: after a restore of the consent tables without it. Records and events are not
    touched."""
    from consent.history import rebuild_status

    with cli.database() as session:
        count = rebuild_status(session)
    click.echo(f"rebuilt the state of {count} record(s)")

"""`digione clients add|list|show|rotate-secret|remove|token`: OAuth clients and the initial
access tokens that open dynamic registration (RFC 7591 section 3). Options are named after the
RFC 7591 metadata; secrets are printed once and stored only as hashes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from consent.audit import admin_action
from idp.cli.context import CliContext, pass_cli
from idp.oidc.client_metadata import AUTH_METHODS, GRANT_TYPES, ID_TOKEN_ALGS, SUBJECT_TYPES

NOT_STORED = "Store the secret now: DigiOne keeps only a hash and cannot show it again."


@click.group("clients")
def command() -> None:
    """OAuth clients / OpenID Connect relying parties."""


@contextmanager
def _registry(cli: CliContext) -> Iterator:
    """The database session and settings inside an app context (CliContext.database)."""
    from core.app import config_of

    with cli.database() as session:
        yield session, config_of(cli.app()).settings


def _client(session, client_id: str):
    from idp.oidc import clients

    client = clients.get(session, client_id)
    if client is None:
        raise click.ClickException(f"no client with client_id {client_id}")
    return client


def _purposes_naming(session, client_id: str) -> list[str]:
    from sqlalchemy import or_, select

    from consent.models import Purpose

    return sorted(
        set(
            session.scalars(
                select(Purpose.purpose_id).where(
                    or_(
                        Purpose.source_client_id == client_id,
                        Purpose.recipient_client_id == client_id,
                    )
                )
            )
        )
    )


def _echo_info(info: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    for name, value in info.items():
        if isinstance(value, list):
            value = ", ".join(value) if value else "-"
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        click.echo(f"{name + ':':<36}{value}")
    if "client_secret" in info:
        click.echo(f"\n{NOT_STORED}")


def _metadata(**options) -> dict:
    """Only the options given, so that validate_metadata fills in the defaults."""
    jwks = options.pop("jwks")
    metadata = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in options.items()
        if value not in (None, ())
    }
    if jwks is not None:
        try:
            metadata["jwks"] = json.loads(Path(jwks).read_text())
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"--jwks: cannot read a JSON JWK Set: {exc}") from None
    return metadata


def _check_city(cli: CliContext, city: str | None) -> None:
    """--admin-city names a configured city."""
    cities = cli.config().cities
    if city is not None and city not in cities:
        raise click.ClickException(
            f"--admin-city: no city {city!r}; configured: {', '.join(sorted(cities))}"
        )


@command.command("add")
@click.option("--name", "client_name", required=True, help="client_name shown to users.")
@click.option(
    "--client-id",
    help="A readable client_id of your choosing (e.g. espoo-wilma), for purpose files; "
    "3-64 of a-z 0-9 . _ -. Random when left out.",
)
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact; repeatable.")
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(GRANT_TYPES))
@click.option("--scope", help='Space-separated scopes (default "openid").')
@click.option("--token-endpoint-auth-method", type=click.Choice(AUTH_METHODS))
@click.option("--subject-type", type=click.Choice(SUBJECT_TYPES))
@click.option("--backchannel-logout-uri")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--jwks-uri", help="https URI of the client's public keys (private_key_jwt).")
@click.option("--jwks", type=click.Path(dir_okay=False), help="File with a public JWK Set.")
@click.option("--id-token-signed-response-alg", type=click.Choice(ID_TOKEN_ALGS))
@click.option("--approval-scope", "approval_scopes", multiple=True, help="Repeatable.")
@click.option("--resource", "resources", multiple=True, help="Resource server URI (RFC 8707).")
@click.option("--access-token-lifetime", type=int, help="Seconds, 60..3600.")
@click.option("--access-token-signed-response-alg", type=click.Choice(ID_TOKEN_ALGS))
@click.option(
    "--introspection/--no-introspection",
    default=None,
    help="A resource server that may introspect tokens issued for its --resource URIs.",
)
@click.option(
    "--admin-city",
    help="With --scope digione:admin: the city (its slug) whose consent records the tool "
    "administers.",
)
@click.option(
    "--admin-auditor",
    is_flag=True,
    default=None,
    help="With --scope digione:admin: a national auditor's tool, reading every city.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the client as JSON.")
@pass_cli
def add(cli: CliContext, as_json: bool, client_id: str | None, **options) -> None:
    """Register a client and print its client_id and (once) its client_secret."""
    from idp.oidc import clients

    metadata = _metadata(**options)
    _check_city(cli, metadata.get("admin_city"))
    with _registry(cli) as (session, settings):
        try:
            made = clients.register(
                session, metadata, admin=True, client_id=client_id,
                development=settings.server.mode == "development",
            )  # fmt: skip
        except clients.InvalidClientMetadata as exc:
            raise click.ClickException(exc.description) from None
        admin_action(session, "client.add", detail={"client_id": made.client.client_id})
        info = clients.client_info(
            made.client, secret=made.client_secret, issuer=settings.server.issuer
        )
    _echo_info(info, as_json)


@command.command("list")
@pass_cli
def list_(cli: CliContext) -> None:
    """Every client: client_id, name, grant types and authentication method."""
    from idp.oidc import clients

    with _registry(cli) as (session, _settings):
        rows = [
            (c.client_id, c.client_name, ",".join(c.grant_types), c.token_endpoint_auth_method)
            for c in clients.list_clients(session)
        ]
    if not rows:
        click.echo("no clients yet; add one with: digione clients add --name ...")
        return
    header = ("CLIENT_ID", "NAME", "GRANT_TYPES", "AUTH_METHOD")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@command.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print the client as JSON.")
@pass_cli
def show(cli: CliContext, client_id: str, as_json: bool) -> None:
    """A client's registered metadata (never its secret)."""
    from idp.oidc import clients

    with _registry(cli) as (session, settings):
        info = clients.client_info(_client(session, client_id), issuer=settings.server.issuer)
    _echo_info(info, as_json)


@command.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print the client as JSON.")
@pass_cli
def rotate_secret(cli: CliContext, client_id: str, as_json: bool) -> None:
    """Replace the client's secret at once; the old one stops working."""
    from idp.oidc import clients

    with _registry(cli) as (session, settings):
        client = _client(session, client_id)
        try:
            secret = clients.rotate_secret(session, client)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        admin_action(session, "client.rotate_secret", detail={"client_id": client_id})
        info = clients.client_info(client, secret=secret, issuer=settings.server.issuer)
    _echo_info(info, as_json)


@command.command("remove")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def remove(cli: CliContext, client_id: str, yes: bool) -> None:
    """Delete a client with its codes, tokens and approvals."""
    from idp.oidc import clients

    with _registry(cli) as (session, _settings):
        client = _client(session, client_id)
        named = _purposes_naming(session, client_id)
        if named:
            raise click.ClickException(
                f"client {client_id} is a party to data-sharing purposes ({', '.join(named)}); "
                "withdraw them first (digione purposes withdraw), the consent records keep them"
            )
        if not yes:
            click.confirm(f"Remove client {client_id} ({client.client_name})?", abort=True)
        clients.remove(session, client)
        admin_action(session, "client.remove", detail={"client_id": client_id})
    click.echo(f"removed client {client_id}")


@command.command("token")
@click.option("--days", type=click.IntRange(1, 365), default=7, show_default=True)
@click.option("--note", default="", help="Who the token is for (at most 200 characters).")
@pass_cli
def token(cli: CliContext, days: int, note: str) -> None:
    """Issue an initial access token for dynamic client registration (RFC 7591). The token goes
    to stdout (once); the notice to stderr."""
    from idp.oidc import clients

    with _registry(cli) as (session, settings):
        value = clients.issue_initial_access_token(session, days=days, note=note)
        admin_action(session, "client.initial_access_token", detail={"days": days})
        endpoint = f"{settings.server.issuer.rstrip('/')}/oidc/register"
    click.echo(value)
    click.echo(
        f"Initial access token for POST {endpoint}, valid {days} days. Shown once: "
        "DigiOne keeps only a hash.",
        err=True,
    )

"""`digione serve`: the development server. Production runs granian (see the README)."""

import os
from dataclasses import replace

import click

from core.settings.schema import ServerSettings
from idp.cli.context import CliContext, pass_cli
from idp.config import Config

DEFAULT_ISSUER = ServerSettings.model_fields["issuer"].default  # http://127.0.0.1:5000


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@pass_cli
def command(cli: CliContext, host: str, port: int) -> None:
    """Run the broker with Werkzeug's development server (PORT overrides the port)."""
    import logging

    # Werkzeug's own request lines carry query strings; ours (digione.access) carry paths only.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    cfg = cli.config()
    if cfg.production:
        raise click.ClickException("production runs under granian: see the README")
    cfg = _issuer_at(cfg, host, port)
    from idp.app import build_app

    app = build_app(cfg)
    click.echo(
        f"DigiOne on http://{host}:{port}/  (demo users: pupil1, guardian1, teacher1 … / demo)"
    )
    app.run(host=host, port=port, debug=False, use_reloader=False)


def _issuer_at(cfg: Config, host: str, port: int) -> Config:
    """In development the shipped issuer (http://127.0.0.1:5000) follows the address served,
    so that discovery names the port clients reach; an issuer set in a file or in
    DIGIONE_SERVER_ISSUER stays as set."""
    server = cfg.settings.server
    if os.environ.get("DIGIONE_SERVER_ISSUER") or server.issuer != DEFAULT_ISSUER:
        return cfg
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared
    issuer = f"http://{shown}:{port}"
    served = server.model_copy(update={"issuer": issuer})
    settings = cfg.settings.model_copy(update={"server": served})
    return replace(cfg, settings=settings)

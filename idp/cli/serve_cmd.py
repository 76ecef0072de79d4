"""`digione serve`: the development server. Production runs granian (see the README)."""

import os

import click

from idp.cli.context import CliContext, pass_cli


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@pass_cli
def command(cli: CliContext, host: str, port: int) -> None:
    """Run the broker with Werkzeug's development server (PORT overrides the port)."""
    import logging

    # Werkzeug's own request lines carry query strings; ours (digione.access) carry paths only.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = cli.app()
    cfg = cli.config()
    if cfg.production:
        raise click.ClickException("production runs under granian: see the README")
    click.echo(
        f"DigiOne on http://{host}:{port}/  (demo users: pupil1, guardian1, teacher1 … / demo)"
    )
    app.run(host=host, port=port, debug=False, use_reloader=False)

"""What every `digione` sub-command shares: the configuration folder and the app built from it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask

from idp.config import Config, ConfigError, load_config


@dataclass
class CliContext:
    folder: Path | None
    _app: Flask | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The checked configuration; on problems print one line each and exit 2."""
        try:
            return load_config(folder=self.folder)
        except ConfigError as exc:
            for line in exc.lines:
                click.echo(line, err=True)
            sys.exit(2)

    def app(self) -> Flask:
        if self._app is None:
            from idp.app import build_app

            self._app = build_app(self.config())
        return self._app

    @contextmanager
    def database(self) -> Iterator:
        """The database session inside an app context; commits on success, rolls back on any
        error. Database problems become one readable line (exit 1)."""
        from sqlalchemy.exc import SQLAlchemyError

        from core.db import db

        with self.app().app_context():
            try:
                yield db.session
                db.session.commit()
            except SQLAlchemyError as exc:
                db.session.rollback()
                reason = type(getattr(exc, "orig", None) or exc).__name__
                raise click.ClickException(
                    f"database error ({reason}); is it migrated? run: digione db upgrade"
                ) from None
            except BaseException:
                db.session.rollback()
                raise


pass_cli = click.make_pass_decorator(CliContext)

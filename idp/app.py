"""The Flask application: configuration, database, extensions and blueprints wired together."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core.app import CONFIG, config_of, read_or_create_secret
from core.db import db, ping_when_idle
from idp import wsgi
from idp.config import Config, load_config


def _load(config: Mapping[str, Any] | str | Path | None) -> Config:
    if config is None or isinstance(config, str | Path):
        return load_config(folder=config)
    overrides = dict(config)
    folder = overrides.pop("folder", None)
    return load_config(folder=folder, overrides=overrides)


def build_app(config: Mapping[str, Any] | str | Path | Config | None = None) -> Flask:
    """Create the broker. ``config`` is a configuration folder, a mapping of section overrides
    (tests: ``{"database": {"url": ...}}``, with an optional ``"folder"``) or a loaded Config."""
    cfg = config if isinstance(config, Config) else _load(config)
    settings = cfg.settings
    app = Flask(
        "idp",
        instance_path=str(Path(settings.server.instance_dir).resolve())
        if settings.server.instance_dir
        else None,
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    development = settings.server.mode == "development"

    app.config.update(
        SECRET_KEY=settings.server.secret_key or read_or_create_secret(instance / "secret.key"),
        SQLALCHEMY_DATABASE_URI=settings.database.url or f"sqlite:///{instance / 'digione.sqlite'}",
        SESSION_COOKIE_NAME="digione",
        SESSION_COOKIE_SECURE=not development,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.session.lifetime_minutes * 60,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the Flask session
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    wsgi.install(app)
    CONFIG.put(app, cfg)
    if settings.server.trusted_proxies:
        n = settings.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from consent.app import init_app as init_consent
    from core import security
    from idp import edge, errors, i18n, logs
    from idp.health import bp as health_bp
    from idp.oidc import direct_token
    from idp.oidc import init_app as init_oidc
    from idp.signin import bp as pages_bp
    from keys.app import init_app as init_keys

    direct_token.install(app)  # inside the access log and the security headers
    logs.init_app(app, settings.logging)
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    else:
        with app.app_context():
            ping_when_idle(db.engine)
    security.init_app(app)
    i18n.init_app(app)
    init_keys(app)
    init_oidc(app)
    init_consent(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(pages_bp)
    errors.init_app(app)
    edge.init_app(app)
    return app


def _sqlite_pragmas(app: Flask) -> None:
    """Foreign keys on, and WAL so that readers do not block the writer."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL syncs at checkpoints instead of at every commit: consistent after any
        # crash; only the last commits before a power cut or OS crash can be lost (SQLite's
        # "WAL mode" documentation). PostgreSQL is the production database.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


__all__ = ["build_app", "config_of"]

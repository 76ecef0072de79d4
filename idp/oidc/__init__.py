"""The OpenID Connect provider and OAuth 2.0 authorization server (issue 3), built on Authlib."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask_babel import get_locale, lazy_gettext

EXTENSION = "digione.oidc"
SCOPE_TEXTS = {
    "openid": lazy_gettext("That you are signed in (an identifier for this service only)"),
    "profile": lazy_gettext("Your name, date of birth and language"),
    "email": lazy_gettext("Your e-mail address"),
    "offline_access": lazy_gettext("Your information also while you are not signed in"),
    "edu:school": lazy_gettext("Your school, group and class level"),
    "edu:roles": lazy_gettext("Your roles at school: pupil, teacher, guardian"),
    "edu:municipality": lazy_gettext("Your municipality"),
    "edu:learner_id": lazy_gettext("Your national learner number (oppijanumero)"),
}


@dataclass
class OidcState:
    provider: object
    server: object


def client_name(client) -> str:
    """The client's name in the page's language (RFC 7591 section 2.2 language tags)."""
    metadata = client.client_metadata
    return metadata.get(f"client_name#{get_locale()}") or metadata.get("client_name") or ""


def init_app(app: Flask) -> None:
    from idp.app import config_of, read_or_create_secret
    from idp.oidc import authorize, discovery, end_session, endpoints, registration
    from idp.oidc.introspection import Introspection, Revocation
    from idp.oidc.provider import Provider
    from idp.oidc.server import build_server

    cfg = config_of(app)
    secret = cfg.settings.oidc.pairwise_secret or read_or_create_secret(
        Path(app.instance_path) / "pairwise.key"
    )
    provider = Provider(app, cfg, secret.encode())
    server = build_server(app, provider)
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    app.extensions[EXTENSION] = OidcState(provider, server)
    app.register_blueprint(authorize.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(end_session.bp)
    app.register_blueprint(registration.bp)
    app.jinja_env.globals.update(SCOPE_TEXTS=SCOPE_TEXTS, client_name=client_name)
    app.jinja_env.filters["scope_text"] = lambda scope: SCOPE_TEXTS.get(scope, scope)

"""The OpenID Connect provider and OAuth 2.0 authorization server, built on Authlib.

Its public face for the packages built on it is :class:`OidcState` (``OIDC.of(app)``): the
provider, the server, and the extension points a package registers on in its ``init_app``,
as authlib's ``register_grant`` (consent's token exchange and its token check)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_babel import get_locale, lazy_gettext

from core.app import Slot

if TYPE_CHECKING:
    from idp.oidc.provider import Provider
    from idp.oidc.server import DigiOneServer

# Whether an access token's claims are still honoured; every registered check must say yes.
TokenCheck = Callable[[dict[str, Any]], bool]
SCOPE_TEXTS = {
    "openid": lazy_gettext("That you are signed in (an identifier for this service only)"),
    "profile": lazy_gettext("Your name, date of birth and language"),
    "email": lazy_gettext("Your e-mail address"),
    "offline_access": lazy_gettext("Your information also while you are not signed in"),
    "edu:school": lazy_gettext("Your school, group and class level"),
    "edu:roles": lazy_gettext("Your roles at school: pupil, teacher, guardian"),
    "edu:municipality": lazy_gettext("Your municipality"),
    "edu:learner_id": lazy_gettext("Your national learner number (oppijanumero)"),
    "edu:children": lazy_gettext(
        "The children in your custody: their first names and an identifier for this service"
    ),
}


@dataclass
class OidcState:
    """The OP of one app: its provider and Authlib server, and what other packages added."""

    provider: Provider
    server: DigiOneServer
    token_checks: list[TokenCheck] = field(default_factory=list)

    def register_grant(self, grant_cls: type, extensions: list | None = None) -> None:
        """A grant type more at the token endpoint (authlib's register_grant)."""
        self.server.register_grant(grant_cls, extensions)

    def register_token_check(self, check: TokenCheck) -> None:
        """A check every access token must pass where the OP decides whether it is live
        (introspection, RFC 7662 section 2.2 ``active``)."""
        self.token_checks.append(check)

    def token_live(self, claims: dict[str, Any]) -> bool:
        return all(check(claims) for check in self.token_checks)


OIDC: Slot[OidcState] = Slot("digione.oidc")


def oidc() -> OidcState:
    """The OP of the app handling the current request."""
    return OIDC.current()


def client_name(client) -> str:
    """The client's name in the page's language (RFC 7591 section 2.2 language tags)."""
    metadata = client.client_metadata
    return metadata.get(f"client_name#{get_locale()}") or metadata.get("client_name") or ""


def init_app(app: Flask) -> None:
    from core.app import config_of, read_or_create_secret
    from idp.oidc import authorize, discovery, end_session, endpoints, registration
    from idp.oidc.frontend import OidcFrontend
    from idp.oidc.introspection import Introspection, Revocation
    from idp.oidc.provider import Provider
    from idp.oidc.server import build_server
    from idp.sso import frontends

    cfg = config_of(app)
    secret = cfg.settings.oidc.pairwise_secret or read_or_create_secret(
        Path(app.instance_path) / "pairwise.key"
    )
    provider = Provider(app, cfg, secret.encode())
    server = build_server(app, provider)
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    OIDC.put(app, OidcState(provider, server))
    frontends.register(app, OidcFrontend())
    app.register_blueprint(authorize.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(end_session.bp)
    app.register_blueprint(registration.bp)
    app.jinja_env.globals.update(SCOPE_TEXTS=SCOPE_TEXTS, client_name=client_name)
    app.jinja_env.filters["scope_text"] = lambda scope: SCOPE_TEXTS.get(scope, scope)

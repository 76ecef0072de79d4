"""The interface between city directories and the broker (after dex's Connector design).

A connector knows one city's directory. Capabilities are small protocols: a directory that
checks passwords is a ``PasswordConnector`` (embedded, LDAP); one the browser is sent to is a
``RedirectConnector`` (SAML, OpenID Connect). Connectors hand over raw attributes to
:mod:`federation.mapping`, which alone knows the identity profile.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from core.settings.schema import CitySettings, PasswordSettings
from federation.profile import Identity

if TYPE_CHECKING:
    from keys.store import KeyStore


class DirectoryUnavailable(Exception):
    """The city's directory cannot be asked right now (down, misconfigured, timing out)."""


class AccountLocked(Exception):
    """The directory knows the account and refuses it (locked or disabled)."""


class UpstreamRejected(Exception):
    """The directory's answer is not acceptable (signature, audience, replay, mapping...).
    The message is for the log (no personal data); the person sees a generic page."""


@dataclass(frozen=True)
class Redirect:
    """Where to send the browser: a GET to ``url``, or an auto-posting form to ``url``."""

    url: str
    form: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    city: CitySettings


@runtime_checkable
class PasswordConnector(Connector, Protocol):
    def authenticate(self, username: str, password: str) -> Identity | None:
        """The identity when the password is right, None when the pair is wrong.

        Takes the same time whether or not the user exists. Raises AccountLocked or
        DirectoryUnavailable."""
        ...


@runtime_checkable
class RedirectConnector(Connector, Protocol):
    def start(self, callback_url: str, handle: str) -> tuple[Redirect, dict]:
        """Where to send the browser to sign in, and the state to keep (server-side) until the
        answer comes back: request id, nonce, PKCE verifier. ``handle`` must travel to the
        directory and back unchanged (SAML RelayState, OpenID Connect ``state``)."""
        ...

    def finish(self, answer: Mapping[str, str], state: dict, callback_url: str) -> Identity:
        """The identity in the directory's answer (query or form parameters at the callback).
        Raises UpstreamRejected or DirectoryUnavailable."""
        ...


@runtime_checkable
class MetadataConnector(Connector, Protocol):
    def metadata(self, callback_url: str) -> tuple[str, str]:
        """(content type, document) describing the broker to the directory (SAML SP metadata)."""
        ...


@dataclass(frozen=True)
class Environment:
    """What the broker offers the connectors. Each connector's ``open`` takes from it only what
    that connector uses and hands it to the constructor (dex's ``Config.Open(id, logger)``):
    a connector never sees the rest of the configuration or the web framework."""

    session: Session
    issuer: str  # the broker's, for the names it has at a directory (SAML SP entity id)
    passwords: PasswordSettings  # argon2id parameters of the embedded directory
    keys: Callable[[], KeyStore]  # the signing keys (SAML requests), made on first use
    production: bool = False  # outbound requests to public https addresses only (core.outbound)


ConnectorFactory = Callable[[CitySettings, Environment], Connector]
FACTORIES = {
    "embedded": "federation.embedded.connector:EmbeddedDirectory.open",
    "ldap": "federation.ldap.connector:LdapDirectory.open",
    "saml": "federation.saml.connector:SamlDirectory.open",
    "oidc": "federation.oidc.connector:OidcDirectory.open",
}


def connector_for(city: CitySettings, env: Environment) -> Connector:
    """The connector the city's ``[directory] type`` names (imported on first use)."""
    module, _, path = FACTORIES[city.directory.type].partition(":")
    cls, _, method = path.partition(".")
    factory: ConnectorFactory = getattr(getattr(importlib.import_module(module), cls), method)
    return factory(city, env)

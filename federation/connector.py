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
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from core.settings.schema import CitySettings, Settings
from federation.profile import Identity


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


ConnectorFactory = Callable[[CitySettings, Session, Settings], Connector]
FACTORIES = {
    "embedded": "federation.embedded.connector:EmbeddedDirectory",
    "ldap": "federation.ldap.connector:LdapDirectory",
    "saml": "federation.saml.connector:SamlDirectory",
    "oidc": "federation.oidc.connector:OidcDirectory",
}


def connector_for(city: CitySettings, session: Session, settings: Settings) -> Connector:
    """The connector the city's ``[directory] type`` names (imported on first use)."""
    module, _, name = FACTORIES[city.directory.type].partition(":")
    factory: ConnectorFactory = getattr(importlib.import_module(module), name)
    return factory(city, session, settings)

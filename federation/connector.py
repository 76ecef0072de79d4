"""The interface between city directories and the broker (after dex's Connector design).

A connector knows one city's directory. Capabilities are small protocols: a directory that
checks passwords is a ``PasswordConnector``; redirect-based ones (SAML, OIDC) come with issue 4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from federation.profile import Identity
from idp.settings.schema import CitySettings, Settings


class DirectoryUnavailable(Exception):
    """The city's directory cannot be asked right now (down, misconfigured, timing out)."""


class AccountLocked(Exception):
    """The directory knows the account and refuses it (locked or disabled)."""


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


ConnectorFactory = Callable[[CitySettings, Session, Settings], Connector]


def connector_for(city: CitySettings, session: Session, settings: Settings) -> Connector:
    """The connector the city's ``[directory] type`` names."""
    from federation.embedded.connector import EmbeddedDirectory

    factories: dict[str, ConnectorFactory] = {"embedded": EmbeddedDirectory}
    return factories[city.directory.type](city, session, settings)

"""Accessors for what the composition root keeps on the Flask app (``app.extensions``).

A :class:`Slot` names one extension and its type, so a package reads its state with a typed
getter instead of a string lookup (Flask's extension development guide: state lives in
``app.extensions`` under the extension's name)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from flask import Flask, current_app

from core.settings import Config

T = TypeVar("T")


class Slot(Generic[T]):
    """One named entry of ``app.extensions`` holding a ``T``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def put(self, app: Flask, value: T) -> T:
        app.extensions[self.name] = value
        return value

    def of(self, app: Flask) -> T:
        """The value on ``app``; KeyError if the package was not initialised on it."""
        return app.extensions[self.name]

    def current(self) -> T:
        """The value on the app handling the current request or CLI command."""
        return current_app.extensions[self.name]


CONFIG: Slot[Config] = Slot("digione")
DIGIONE = CONFIG.name


# What /readyz reports beside its checks without failing on it: a name and a function that
# says how that part stands (e.g. the audit log's witness), registered by the package it is.
NOTICES: Slot[dict[str, Callable[[], str]]] = Slot("digione.notices")


def add_notice(app: Flask, name: str, state: Callable[[], str]) -> None:
    """Have /readyz report ``name``: what ``state()`` says, asked at each probe."""
    app.extensions.setdefault(NOTICES.name, {})[name] = state


# Links of the signed-in person's own page (/me) that a package above the sign-in adds: a
# function of the person's id giving (label, URL) pairs, or none, for that person.
AccountLink = Callable[[str], list[tuple[str, str]]]
ACCOUNT_LINKS: Slot[list[AccountLink]] = Slot("digione.account_links")


def add_account_links(app: Flask, links: AccountLink) -> None:
    """Have the person's own page show what ``links(person_id)`` gives."""
    app.extensions.setdefault(ACCOUNT_LINKS.name, []).append(links)


def account_links(person_id: str) -> list[tuple[str, str]]:
    """Every registered link for the person, in the order the packages registered them."""
    makers = current_app.extensions.get(ACCOUNT_LINKS.name, [])
    return [link for make in makers for link in make(person_id)]


def config_of(app: Flask) -> Config:
    """The checked configuration the app was built with."""
    return CONFIG.of(app)


def config() -> Config:
    """The configuration of the app handling the current request or CLI command."""
    return CONFIG.current()


def read_or_create_secret(path: Path) -> str:
    """A development secret kept in the instance folder, created 0600 on first use."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value

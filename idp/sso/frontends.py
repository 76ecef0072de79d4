"""The protocol frontends a single sign-on session serves (the OpenID Connect provider, and
any other protocol that signs people in to services), as the sign-in and the person's pages
see them.

A frontend registers itself on the app in its ``init_app`` (:func:`register`). The sign-in
never imports a frontend and a frontend never imports the sign-in: a sign-in returns to the
address the frontend sent the browser from (dex's server/authflow: every flow step returns to
the protocol's endpoint, never to another step), and asks the frontends here what it needs
of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from flask import Flask, current_app

from core.app import Slot
from core.db import db
from idp.sso.models import SsoSession

# Run after the session's end is committed; returns how many services acknowledged it.
AfterEnd = Callable[[], int]


class Frontend(Protocol):
    def form_target(self, next_url: str) -> str | None:
        """The registered address where a sign-in continuing at ``next_url`` ends, when
        ``next_url`` is this frontend's, so the sign-in page's CSP ``form-action`` may allow
        its origin (the redirect after the form's submission is governed by it too)."""

    def session_ending(self, session: SsoSession) -> AfterEnd | None:
        """In the transaction that ends ``session``: drop what the session held at this
        frontend, and return what to do once the end is committed (tell the services)."""

    def allowed(self, person_id: str) -> Sequence[tuple[Any, Any]]:
        """What the person has allowed services to receive, as (approval, service) pairs for
        the person's page."""

    def withdraw(self, person_id: str, service_id: str) -> None:
        """Withdraw what the person allowed ``service_id`` (flushed, not committed)."""


FRONTENDS: Slot[list[Frontend]] = Slot("digione.frontends")


def register(app: Flask, frontend: Frontend) -> None:
    app.extensions.setdefault(FRONTENDS.name, []).append(frontend)


def frontends() -> list[Frontend]:
    """The current app's frontends, in the order they registered."""
    return current_app.extensions.get(FRONTENDS.name, [])


def form_targets(next_url: str | None) -> list[str]:
    """Where a sign-in that continues at ``next_url`` may end (see Frontend.form_target)."""
    if not next_url:
        return []
    return [target for f in frontends() if (target := f.form_target(next_url))]


def end_everywhere(session: SsoSession) -> int:
    """End ``session`` at every frontend and delete it; commits. Returns how many services
    acknowledged the end (back-channel logout)."""
    after = [f.session_ending(session) for f in frontends()]
    db.session.delete(session)
    db.session.commit()
    return sum(action() for action in after if action is not None)


def allowed(person_id: str) -> list[tuple[Any, Any]]:
    return [pair for f in frontends() for pair in f.allowed(person_id)]


def withdraw(person_id: str, service_id: str) -> None:
    for f in frontends():
        f.withdraw(person_id, service_id)

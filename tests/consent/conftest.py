"""Fixtures of the consent tests: the demo people, services, source system and purposes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from core.db import db
from idp.oidc import OIDC

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
READING = "demo-reading-class"  # all guardians decide
ASSESSMENTS = "demo-learning-assessments"  # a pupil of 13 or more decides for themself


def seed_consent_demo(app: Flask) -> Flask:
    """Register the demo clients (incl. the source system demo-school-admin) and purposes."""
    from consent.demo import seed_demo_purposes
    from idp.oidc.demo_clients import seed_demo_clients

    with app.app_context():
        seed_demo_clients(db.session, DEMO / "clients", development=True)
        seed_demo_purposes(db.session, DEMO / "purposes")
        db.session.commit()
    return app


@pytest.fixture
def consent_app(seeded: Flask) -> Flask:
    """The app with the demo people, the demo clients and the demo purposes."""
    return seed_consent_demo(seeded)


def person(city: str, username: str):
    """The Person of a demo account (inside an app context)."""
    from federation.models import CityIdentity

    identity = db.session.scalar(
        select(CityIdentity).where(CityIdentity.city == city, CityIdentity.subject == username)
    )
    assert identity is not None, f"no {username} in {city}"
    return identity.person


def known_sub(app: Flask, person_id: str, client_id: str) -> str:
    """The pairwise ``sub`` ``client_id`` knows for a person, recorded as when the person signs
    in to that service (idp.oidc.pairwise.remember)."""
    from idp.oidc.models import Client
    from idp.oidc.pairwise import remember
    from idp.oidc.subject import subject_for

    secret = OIDC.of(app).provider.pairwise_secret
    with app.app_context():
        client = db.session.get(Client, client_id)
        remember(db.session, person_id, client, secret)
        db.session.commit()
        return subject_for(person_id, client.client_metadata, client_id, secret)


def public_client(app: Flask) -> str:
    """Register a public client (token_endpoint_auth_method none); return its client_id."""
    from idp.oidc import clients

    with app.app_context():
        made = clients.register(
            db.session,
            {"client_name": "Public", "redirect_uris": ["https://public.example/cb"],
             "token_endpoint_auth_method": "none"},
            admin=True, development=True,
        )  # fmt: skip
        db.session.commit()
        return made.client.client_id

"""Fixtures shared by the OpenID Connect provider's tests."""

from __future__ import annotations

import pytest

from core.db import db
from idp.oidc import clients


@pytest.fixture
def initial_token(app) -> str:
    """An initial access token for dynamic client registration (RFC 7591 section 3)."""
    with app.app_context():
        token = clients.issue_initial_access_token(db.session, days=1, note="test")
        db.session.commit()
    return token

"""The protocol frontends of the single sign-on session (idp.sso.frontends): the sign-in and the
person's pages ask every registered frontend, not only the OpenID Connect provider, so another
protocol (a SAML IdP) plugs in by registering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import func, select

from core.db import db
from idp.oidc.frontend import OidcFrontend
from idp.sso import frontends
from idp.sso.models import SsoSession
from tests.conftest import sign_in

NEXT = "/saml/sso?SAMLRequest=abc"
ACS = "https://sp.example.fi/acs"


@dataclass
class Recording:
    """A frontend of another protocol, recording what it is asked."""

    ended: list[str] = field(default_factory=list)
    after_end: list[str] = field(default_factory=list)
    withdrawn: list[tuple[str, str]] = field(default_factory=list)

    def form_target(self, next_url: str) -> str | None:
        return ACS if next_url == NEXT else None

    def session_ending(self, session: SsoSession):
        sid = session.sid  # the row is gone once the end is committed
        self.ended.append(sid)

        def told() -> int:
            self.after_end.append(sid)
            return 1

        return told

    def allowed(self, person_id: str):
        return []

    def withdraw(self, person_id: str, service_id: str) -> None:
        self.withdrawn.append((person_id, service_id))


def with_recording(app: Flask) -> Recording:
    recording = Recording()
    frontends.register(app, recording)
    return recording


def test_the_provider_registers_itself(app):
    with app.test_request_context():
        assert [type(f) for f in frontends.frontends()] == [OidcFrontend]


def test_a_sign_in_page_may_post_to_where_any_frontend_ends(seeded):
    """The CSP form-action of the sign-in form names the origin the frontend's sign-in ends at
    (the redirect after the form is governed by it too); other pages do not."""
    with_recording(seeded)
    browser = seeded.test_client()
    page = browser.get("/login/espoo", query_string={"next": NEXT})
    assert "form-action 'self' https://sp.example.fi" in page.headers["Content-Security-Policy"]
    page = browser.get("/login/espoo", query_string={"next": "/me"})
    assert "sp.example.fi" not in page.headers["Content-Security-Policy"]


def test_sign_out_ends_the_session_at_every_frontend_then_tells_them(seeded):
    recording = with_recording(seeded)
    browser = seeded.test_client()
    assert sign_in(browser, "espoo", "pupil1").status_code == 302
    response = browser.post("/logout", data={"csrf_token": _csrf(browser)})
    assert response.status_code == 302
    assert len(recording.ended) == 1 and recording.after_end == recording.ended
    with seeded.app_context():
        assert sessions() == 0


def test_withdrawing_an_approval_asks_every_frontend(seeded):
    recording = with_recording(seeded)
    browser = seeded.test_client()
    assert sign_in(browser, "espoo", "pupil1").status_code == 302
    response = browser.post(
        "/me/approvals/some-service/withdraw", data={"csrf_token": _csrf(browser)}
    )
    assert response.status_code == 302
    assert [service for _person, service in recording.withdrawn] == ["some-service"]


def _csrf(browser) -> str:
    page = browser.get("/me").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sessions() -> int:
    return db.session.scalar(select(func.count()).select_from(SsoSession))

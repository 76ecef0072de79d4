"""The second factor: TOTP codes (RFC 6238) as an authenticator app makes them with the key
`digione people second-factor enroll` shows, accepted once, throttled like passwords; the key
sealed at rest; what the session's amr says after; when a directory's own answer counts as
multi-factor (RFC 8176); and production refusing to turn the second factor off."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from core.db import db
from federation.models import CityIdentity
from idp.signin import totp
from idp.signin.models import SecondFactor
from idp.sso.factors import multi_factor
from idp.sso.models import SsoSession
from keys.app import key_store
from tests.conftest import pass_second_factor, second_factor_code, sign_in


def person_id(app, city: str = "espoo", username: str = "admin1") -> str:
    with app.app_context():
        return db.session.scalar(
            select(CityIdentity.person_id).where(
                CityIdentity.city == city, CityIdentity.subject == username
            )
        )


def test_a_code_is_accepted_once_within_one_step_of_drift(seeded):
    who = person_id(seeded)
    moment = datetime(2026, 12, 7, 12, 0, 10, tzinfo=UTC)
    with seeded.app_context():
        secret = totp.enroll(db.session, key_store(), who)
        db.session.commit()
        app_code = pyotp.TOTP(secret)
        stored = db.session.get(SecondFactor, who).sealed_secret
        assert secret.encode() not in stored  # sealed under the master key

        def verify(code: str, at: datetime = moment) -> bool:
            accepted = totp.verify(db.session, key_store(), who, code, now=at)
            db.session.commit()
            return accepted

        assert not verify("12345") and not verify("abcdef") and not verify("")
        earlier = app_code.at(moment.timestamp() - 30)
        assert verify(earlier)  # one step of clock drift
        assert not verify(earlier)  # never twice
        now = app_code.at(moment)
        assert verify(f"{now[:3]} {now[3:]}")  # as apps show it, with a space
        assert not verify(now)
        assert not verify(app_code.at(moment.timestamp() - 60))  # older than an accepted one
        assert not verify(app_code.at(moment.timestamp() + 90))  # beyond the drift
        assert verify(app_code.at(moment.timestamp() + 30))


def test_the_page_adds_the_second_factor_to_the_session(seeded):
    client = seeded.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, "espoo", "admin1")
    page = client.get("/second-factor").get_data(as_text=True)
    assert "you have none at DigiOne" in page  # not enrolled: a readable page, 403
    response = pass_second_factor(client, seeded, "espoo", "admin1", "/me")
    assert (response.status_code, response.headers["Location"]) == (303, "/me")
    with seeded.app_context():
        amr = db.session.scalars(select(SsoSession.amr)).one()
    assert amr == ["mfa", "otp", "pwd"]
    assert client.get("/second-factor").status_code == 302  # nothing more to ask
    # A new sign-in asks again; the next URL is the broker's own path only.
    sign_in(client, "espoo", "admin1")
    response = pass_second_factor(client, seeded, "espoo", "admin1", "//evil.example")
    assert (response.status_code, response.headers["Location"]) == (303, "/me")


def test_wrong_codes_are_refused_and_throttled(seeded):
    client = seeded.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, "espoo", "admin1")
    second_factor_code(seeded, "espoo", "admin1")  # enrolls the demo key
    page = client.get("/second-factor").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    statuses = []
    for _ in range(7):
        response = client.post("/second-factor", data={"csrf_token": token, "code": "000000"})
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    missing = client.post("/second-factor", data={"code": "000000"})
    assert missing.status_code == 400  # CSRF


@pytest.mark.parametrize(
    ("amr", "acr", "strong", "expected"),
    [
        (["mfa"], None, [], True),
        (["pwd", "otp"], None, [], True),
        (["pwd", "hwk"], None, [], True),
        (["otp"], None, [], False),  # one factor, even if it is a code
        (["pwd"], None, [], False),
        ([], "http://ftn.ficora.fi/2017/loa3", ["http://ftn.ficora.fi/2017/loa3"], True),
        ([], "http://ftn.ficora.fi/2017/loa2", ["http://ftn.ficora.fi/2017/loa3"], False),
        ([], None, [], False),
    ],
)
def test_a_directorys_answer_is_multi_factor(amr, acr, strong, expected):
    assert multi_factor(amr, acr, strong) is expected


def test_enroll_and_remove_at_the_command_line(seeded, digione_cli):
    out = digione_cli("people", "second-factor", "enroll", "espoo", "admin1")
    secret = re.search(r"key \(base32\): ([A-Z2-7]{32})", out).group(1)
    assert "otpauth://totp/DigiOne:admin1%40espoo?secret=" + secret in out
    assert "▀" in out or "█" in out  # the QR code, drawn in the terminal
    refused = digione_cli("people", "second-factor", "enroll", "espoo", "admin1", code=1)
    assert "--replace" in refused
    assert "no account 'nobody'" in digione_cli(
        "people", "second-factor", "enroll", "espoo", "nobody", code=1
    )
    with seeded.app_context():
        who = person_id(seeded)
        assert totp.verify(db.session, key_store(), who, pyotp.TOTP(secret).now())
    digione_cli("people", "second-factor", "remove", "espoo", "admin1")
    with seeded.app_context():
        assert not totp.enrolled(db.session, who)


def test_production_refuses_the_second_factor_off():
    from core.settings.loader import _production_problems
    from core.settings.schema import AdminSettings, Settings

    settings = Settings(admin=AdminSettings(second_factor="off"))
    problems = _production_problems(settings, "defaults.toml")
    assert any("admin.second_factor" in problem for problem in problems)
    assert not any(
        "admin.second_factor" in problem
        for problem in _production_problems(Settings(), "defaults.toml")
    )


def test_make_run_prints_the_demo_key_it_enrolls():
    from pathlib import Path

    banner = (Path(__file__).resolve().parents[2] / "examples" / "run_all.py").read_text()
    assert totp.DEMO_SECRET in banner

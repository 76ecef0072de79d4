"""The cities' statistics: each finished day aggregated from the records' stored states,
sign-ins counted, the page and its CSV within the administrator's cities, and disclosure
control: no count from 1 to 4 is shown, and subtracting one view from another never gives one
back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from consent import stats
from consent.models import ConsentDaily, ConsentStatus
from core.db import db, utcnow
from idp.sso.counts import service_of
from idp.sso.models import SignInCount
from tests.consent.conftest import ASSESSMENTS
from tests.consent.test_admin_list import answer, ask
from tests.consent.test_console import admin_client


def test_what_a_count_shows():
    assert [stats.shown(n) for n in (0, 1, 4, 5, 7, 8, 12, 13, 1234)] == [
        "0", "<5", "<5", "5", "5", "10", "10", "15", "1\u00a0235",
    ]  # fmt: skip
    assert stats.median_band({"within_1h": 4}) is None  # too few decisions to tell
    assert stats.median_band({"within_1h": 2, "within_24h": 2, "later": 3}) == "within_24h"


@pytest.mark.parametrize("small", [1, 2, 3, 4])
@pytest.mark.parametrize("large", [5, 6, 9, 17, 22, 23, 48])
def test_differencing_two_views_never_gives_back_a_small_count(small, large):
    """A school of ``small`` and one of ``large``: the city's figure minus the large school's
    is a multiple of 5 (or says less), never the small school's count."""
    city, other = stats.shown(small + large), stats.shown(large)
    recovered = int(city.replace("\u00a0", "")) - int(other.replace("\u00a0", ""))
    assert stats.shown(small) == "<5" and recovered != small and recovered % 5 == 0


def _daily(day: date, school: str, **counts) -> ConsentDaily:
    return ConsentDaily(
        day=day, city="espoo", school_code=school, purpose_id="demo-reading-class",
        recipient_client_id="demo-reading-app",
        **{name: counts.get(name, 0) for name in (*stats.METRICS, *stats.BAND_COLUMNS)},
    )  # fmt: skip


def test_the_page_shows_no_small_count_in_any_view(consent_app):
    yesterday = utcnow().astimezone(stats.HELSINKI).date() - timedelta(days=1)
    with consent_app.app_context():
        db.session.add_all([
            _daily(yesterday, "03215", requested=3, given=3, within_1h=3),
            _daily(yesterday, "90001", requested=22, given=22, within_24h=22),
        ])  # fmt: skip
        db.session.commit()
    admin = admin_client(consent_app)
    day = yesterday.isoformat()

    def given(query: str) -> str:
        text = admin.get(f"/admin/statistics?period=day&from={day}&to={day}&format=csv{query}")
        header, line = text.get_data(as_text=True).splitlines()[:2]
        return dict(zip(header.split(","), line.split(","), strict=True))["given"]

    assert given("") == "25" and given("&school=90001") == "20" and given("&school=03215") == "<5"
    page = admin.get(f"/admin/statistics?period=day&from={day}&to={day}").get_data(as_text=True)
    assert "<svg" in page and "&lt;5" not in page.split("<tbody>")[1].split("</tbody>")[0]
    page = admin.get(f"/admin/statistics?period=day&from={day}&to={day}&school=03215").get_data(
        as_text=True
    )
    assert "&lt;5" in page and ">3<" not in page


def test_a_city_administrator_sees_their_city_only(consent_app):
    yesterday = utcnow().astimezone(stats.HELSINKI).date() - timedelta(days=1)
    with consent_app.app_context():
        vantaa = _daily(yesterday, "03628", requested=40)
        vantaa.city = "vantaa"
        db.session.add_all([vantaa, _daily(yesterday, "03215", requested=10)])
        db.session.commit()
    day = yesterday.isoformat()
    query = f"/admin/statistics?period=day&from={day}&to={day}&format=csv"
    espoo = admin_client(consent_app)
    assert ",10," in espoo.get(query + "&city=vantaa").get_data(as_text=True)  # Espoo's still
    auditor = admin_client(consent_app, "espoo", "auditor1")
    assert ",50," in auditor.get(query).get_data(as_text=True)  # every city
    assert ",40," in auditor.get(query + "&city=vantaa").get_data(as_text=True)


def test_a_finished_day_is_aggregated_from_the_stored_states(consent_app):
    with consent_app.app_context():
        given = ask("espoo", "pupil1")
        answer(given, "espoo", "guardian1", "approve")
        answer(given, "espoo", "guardian2", "approve")
        refused = ask("espoo", "pupil2", ASSESSMENTS)
        answer(refused, "espoo", "pupil2", "refuse")
        # As if it had all happened yesterday (the stored states are derived, so movable).
        shift = timedelta(days=1)
        for row in db.session.scalars(select(ConsentStatus)):
            for column in ("created_at", "given_at", "ended_at", "changed_at"):
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - shift)
        db.session.commit()
        now = utcnow()
        done = stats.catch_up(db.session, now)
        db.session.commit()
        yesterday = stats.day_of(now) - shift
        assert done is not None and done[1] == yesterday
        rows = {
            row.purpose_id: row
            for row in db.session.scalars(select(ConsentDaily).where(ConsentDaily.day == yesterday))
        }
        reading, assessments = rows["demo-reading-class"], rows[ASSESSMENTS]
        assert (reading.school_code, reading.requested, reading.given, reading.within_1h) == (
            "03215", 1, 1, 1,
        )  # fmt: skip
        assert (assessments.requested, assessments.refused, assessments.within_1h) == (1, 1, 1)
        assert stats.catch_up(db.session, now) is None  # nothing new until tomorrow


def test_sign_ins_are_counted_per_city_directory_and_service(consent_app):
    admin_client(consent_app)
    with consent_app.app_context():
        counted = db.session.scalars(select(SignInCount)).all()
        assert [(c.city, c.directory, c.client_id, c.count) for c in counted] == [
            ("espoo", "embedded", "", 1)
        ]
    assert service_of("/oidc/authorize?client_id=demo-reading-app&scope=openid") == (
        "demo-reading-app"
    )
    assert service_of("/consents") == "" and service_of(None) == ""


def test_the_csv_is_utf8_text(consent_app):
    response = admin_client(consent_app).get("/admin/statistics?format=csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="consents.csv"'

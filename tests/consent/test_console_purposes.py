"""The console's purposes (/admin/purposes): the list, publishing a purpose file in two steps
(the preview shows the three languages and how many consents a re-consent ends), withdrawing
after a confirmation, CSRF on every change, and an auditor who only reads."""

from __future__ import annotations

import html as markup
import re

from sqlalchemy import select

from consent import purposes
from consent.models import AuditEntry, ConsentStatus
from core.db import db
from tests.consent.conftest import DEMO, READING
from tests.consent.test_admin_list import answer, ask
from tests.consent.test_console import admin_client

READING_FILE = (DEMO / "purposes" / "reading-class.toml").read_text(encoding="utf-8")


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def preview(client, text: str):
    token = csrf(client.get("/admin/purposes/publish"))
    return client.post("/admin/purposes/publish", data={"csrf_token": token, "purpose": text})


def confirm(client, shown):
    html = shown.get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|digest)" value="([^"]+)"', html))
    text = re.search(r'name="purpose" value="([^"]*)"', html).group(1)
    return client.post(
        "/admin/purposes/publish/confirm", data={**fields, "purpose": markup.unescape(text)}
    )


def test_a_new_version_that_demands_re_consent_says_what_it_ends(consent_app):
    with consent_app.app_context():
        given = ask("espoo", "pupil1")
        answer(given, "espoo", "guardian1", "approve")
        answer(given, "espoo", "guardian2", "approve")
    admin = admin_client(consent_app)
    listing = admin.get("/admin/purposes").get_data(as_text=True)
    assert READING in listing and "Publish a purpose or a new version" in listing
    changed = READING_FILE.replace(
        "validity_days = 365", "validity_days = 365\nrequires_reconsent = true"
    )
    shown = preview(admin, changed.replace("Luokka ja koulu", "Luokka, koulu ja lukulista"))
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "This publishes version 2 of demo-reading-class" in page
    assert "It demands a new consent: 1 consent that is open or in force ends now." in page
    assert "Luokka, koulu ja lukulista" in page and "Klass och skola" in page  # side by side
    with consent_app.app_context():  # nothing yet
        assert purposes.latest(db.session, READING).version == 1
    done = confirm(admin, shown)
    assert (done.status_code, done.headers["Location"]) == (303, "/admin/purposes")
    with consent_app.app_context():
        assert purposes.latest(db.session, READING).version == 2
        assert db.session.get(ConsentStatus, given).state == "invalidated"
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purpose.new_version")
        ).one()
        assert (entry.channel, entry.detail["ended"], entry.detail["role"]) == (
            "page", 1, "consent_admin",
        )  # fmt: skip


def test_a_new_purpose_and_files_that_are_refused(consent_app):
    admin = admin_client(consent_app)
    fresh = READING_FILE.replace('id = "demo-reading-class"', 'id = "demo-reading-list"')
    shown = preview(admin, fresh)
    assert "This adds a new purpose, demo-reading-list, as version 1." in shown.get_data(
        as_text=True
    )
    assert confirm(admin, shown).status_code == 303
    with consent_app.app_context():
        assert purposes.latest(db.session, "demo-reading-list").version == 1

    broken = preview(admin, "id = [")
    assert broken.status_code == 400 and "not TOML" in broken.get_data(as_text=True)
    no_swedish = preview(
        admin, READING_FILE.replace('sv = "Läsappen får elevens klass och skola"\n', "")
    )
    assert no_swedish.status_code == 400 and "title.sv" in no_swedish.get_data(as_text=True)
    assert preview(admin, "").status_code == 400

    shown = preview(admin, fresh.replace("demo-reading-list", "demo-reading-list-2"))
    token = csrf(shown)
    tampered = admin.post(
        "/admin/purposes/publish/confirm",
        data={"csrf_token": token, "purpose": fresh.replace("365", "3650"), "digest": "0" * 64},
    )
    assert tampered.status_code == 400
    assert admin.post("/admin/purposes/publish/confirm", data={"purpose": fresh}).status_code == 400


def test_withdraw_after_a_confirmation(consent_app):
    with consent_app.app_context():
        ask("espoo", "pupil1")
    admin = admin_client(consent_app)
    page = admin.get(f"/admin/purposes/{READING}/withdraw")
    assert "1 consent that is open or in force ends now" in page.get_data(as_text=True)
    done = admin.post(f"/admin/purposes/{READING}/withdraw", data={"csrf_token": csrf(page)})
    assert done.status_code == 303
    with consent_app.app_context():
        assert purposes.latest(db.session, READING).withdrawn_at is not None
    assert admin.get("/admin/purposes/nope/withdraw").status_code == 404


def test_an_auditor_reads_the_purposes_and_changes_none(consent_app):
    auditor = admin_client(consent_app, "espoo", "auditor1")
    page = auditor.get("/admin/purposes")
    assert page.status_code == 200 and READING in page.get_data(as_text=True)
    assert "Publish a purpose" not in page.get_data(as_text=True)
    assert auditor.get("/admin/purposes/publish").status_code == 403
    assert auditor.get(f"/admin/purposes/{READING}/withdraw").status_code == 403

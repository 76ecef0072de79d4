"""The administrators' console (/admin) over HTTP: who gets in (a recent sign-in of a consent
administrator or an auditor), what each sees (their city's children; an auditor every city's),
the record page with its history and its verified proof, and the audit entry of every record
shown. The same in a real Chromium, with axe-core: tests/browser/test_console.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from consent.ledger import checkpoints
from consent.models import AuditEntry, ConsentRecord
from consent.scope import AUDITOR, CONSENT_ADMIN
from core.app import config_of
from core.db import db, utcnow
from idp.sso.models import SsoSession
from keys.app import key_store
from tests.conftest import pass_second_factor, sign_in
from tests.consent.conftest import ASSESSMENTS
from tests.consent.test_admin_list import answer, ask


def admin_client(app, city: str = "espoo", username: str = "admin1"):
    """A browser signed in as ``username``, reading the pages in English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, city, username).status_code == 302
    assert pass_second_factor(client, app, city, username).status_code == 303
    return client


def records_made(app) -> dict[str, str]:
    with app.app_context():
        made = {"espoo": ask("espoo", "pupil1"), "vantaa": ask("vantaa", "pupil1")}
        answer(made["espoo"], "espoo", "guardian1", "approve")
    return made


def test_the_console_asks_for_a_sign_in_and_an_administrator(consent_app):
    anonymous = consent_app.test_client().get("/admin?state=given")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].endswith("/?next=/admin?state%3Dgiven")
    pupil = consent_app.test_client()
    sign_in(pupil, "espoo", "pupil1")
    assert pupil.get("/admin").status_code == 403
    assert "Consent records" not in pupil.get("/me").get_data(as_text=True)
    admin = admin_client(consent_app)
    me = admin.get("/me").get_data(as_text=True)
    assert 'href="/admin"' in me


def test_a_sign_in_older_than_the_console_allows_is_asked_again(consent_app):
    admin = admin_client(consent_app)
    with consent_app.app_context():
        db.session.execute(update(SsoSession).values(auth_time=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    response = admin.get("/admin/records/x")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/espoo?next=/admin/records/x"
    assert sign_in(admin, "espoo", "admin1").status_code == 302  # again, with its second factor
    assert admin.get("/admin").headers["Location"] == "/second-factor?next=/admin"
    assert pass_second_factor(admin, consent_app, "espoo", "admin1").status_code == 303
    assert admin.get("/admin").status_code == 200


def test_each_administrator_sees_their_citys_children(consent_app):
    made = records_made(consent_app)
    espoo = admin_client(consent_app)
    page = espoo.get("/admin").get_data(as_text=True)
    assert f"/admin/records/{made['espoo']}" in page and made["vantaa"] not in page
    assert "Aino Virtanen" in page  # pupil1 of Espoo, by name for the city's administrator
    assert espoo.get(f"/admin/records/{made['vantaa']}").status_code == 404  # as not existing
    auditor = admin_client(consent_app, "espoo", "auditor1")
    page = auditor.get("/admin").get_data(as_text=True)
    assert made["espoo"] in page and made["vantaa"] in page
    assert "every city, read only" in page
    assert auditor.get(f"/admin/records/{made['vantaa']}").status_code == 200


def test_filters_and_a_readable_error(consent_app):
    made = records_made(consent_app)
    with consent_app.app_context():
        other = ask("espoo", "pupil2", ASSESSMENTS)
    espoo = admin_client(consent_app)
    page = espoo.get("/admin?learner_id=1.2.246.562.24.10000000101").get_data(as_text=True)
    assert made["espoo"] in page and other not in page
    page = espoo.get("/admin?state=partially_approved").get_data(as_text=True)
    assert made["espoo"] in page and other not in page
    response = espoo.get("/admin?from=2026-02-31")
    assert response.status_code == 400
    assert "Check this field of the search: Made on or after." in response.get_data(as_text=True)
    finnish = espoo.get("/admin?from=2026-02-31", headers={"Accept-Language": "fi"})
    assert "Tarkista" in finnish.get_data(as_text=True)


def test_pages_of_records(consent_app):
    with consent_app.app_context():
        made = {ask("espoo", u, p) for u in ("pupil1", "pupil2") for p in (ASSESSMENTS,)}
        made |= {ask("espoo", "pupil1")}
    espoo = admin_client(consent_app)
    page = espoo.get("/admin?limit=2").get_data(as_text=True)
    seen = set(re.findall(r"/admin/records/([0-9a-f-]{36})", page))
    following = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    rest = espoo.get(following).get_data(as_text=True)
    seen |= set(re.findall(r"/admin/records/([0-9a-f-]{36})", rest))
    assert seen == made and 'rel="next"' not in rest and "First page" in rest


def test_a_record_with_its_history_and_its_verified_proof(consent_app):
    made = records_made(consent_app)
    espoo = admin_client(consent_app)
    page = espoo.get(f"/admin/records/{made['espoo']}").get_data(as_text=True)
    assert "Request for consent" in page and "Approval" in page
    assert "acr demo" in page  # the sign-in level of the guardian's answer
    with consent_app.app_context():  # a checkpoint that includes it (the upkeep may have too)
        issuer = config_of(consent_app).settings.server.issuer
        checkpoints.make(
            db.session, checkpoints.signer(checkpoints.origin_for(issuer), key_store())
        )
        db.session.commit()
    page = espoo.get(f"/admin/records/{made['espoo']}").get_data(as_text=True)
    assert "Verified: the record and each of its events are in the audit log" in page


def test_every_record_shown_is_an_audit_entry_with_the_role(consent_app):
    made = records_made(consent_app)
    espoo = admin_client(consent_app)
    espoo.get("/admin?name=aino")
    espoo.get(f"/admin/records/{made['espoo']}")
    auditor = admin_client(consent_app, "espoo", "auditor1")
    auditor.get(f"/admin/records/{made['vantaa']}")
    with consent_app.app_context():
        entries = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(("consent.list", "consent.view")))
            .order_by(AuditEntry.id)
        ).all()
        seen = [(e.action, e.record_id, e.channel, e.detail) for e in entries]
    assert seen == [
        ("consent.list", made["espoo"], "page", {"role": CONSENT_ADMIN, "filters": ["name"]}),
        ("consent.view", made["espoo"], "page", {"role": CONSENT_ADMIN}),
        ("consent.view", made["vantaa"], "page", {"role": AUDITOR}),
    ]


def test_the_guardian_sees_who_read_the_childs_consents_by_role(consent_app, digione_cli):
    made = records_made(consent_app)
    guardian = consent_app.test_client()
    guardian.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(guardian, "espoo", "guardian1")
    page = guardian.get("/consents").get_data(as_text=True)
    assert "No administrator has read them." in page
    espoo = admin_client(consent_app)
    espoo.get("/admin")
    for _ in range(3):
        espoo.get(f"/admin/records/{made['espoo']}")
    admin_client(consent_app, "espoo", "auditor1").get(f"/admin/records/{made['espoo']}")
    digione_cli("consent", "export", "--city", "espoo")
    digione_cli("consent", "export", "--city", "vantaa")
    page = guardian.get("/consents").get_data(as_text=True)
    reads = page[page.index("Who at the city has read these consents") :]
    assert (
        "The city's consent administrator (administration pages): opened a consent record" in reads
    )
    assert "(3 times)" in reads
    assert "saw a consent record in a search" in reads
    assert "A national auditor (administration pages): opened a consent record" in reads
    # Espoo's export holds the child's record; Vantaa's does not.
    assert reads.count("An administrator (command line): exported all") == 1
    assert "Nieminen" not in reads and "Tarkka" not in reads  # never the reader's name


def test_a_citys_export_streamed_and_stamped_with_its_checkpoint(consent_app):
    made = records_made(consent_app)
    espoo = admin_client(consent_app)
    assert espoo.get("/admin/export?city=vantaa&format=csv").status_code == 404
    assert espoo.get("/admin/export?city=espoo&format=xml").status_code == 400
    response = espoo.get("/admin/export?city=espoo&format=csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    size = int(response.headers["DigiOne-Checkpoint-Size"])
    assert f'filename="consents-espoo-at-{size}.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("record_id,") and len(lines) == 2 and made["espoo"] in lines[1]
    data = espoo.get("/admin/export?city=espoo&format=json").get_json()
    assert [row["record_id"] for row in data["records"]] == [made["espoo"]]
    assert data["checkpoint"]["tree_size"] >= size
    with consent_app.app_context():  # every row of it is in the checkpoint it is stamped with
        record_leaf = db.session.get(ConsentRecord, made["espoo"]).leaf
        assert record_leaf < data["checkpoint"]["tree_size"]
        exported = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.export")
        ).all()
        seen = [
            (e.channel, e.detail["city"], e.detail["count"], e.detail["role"]) for e in exported
        ]
        assert seen == [("page", "espoo", 1, CONSENT_ADMIN)] * 2
    auditor = admin_client(consent_app, "espoo", "auditor1")
    vantaa = auditor.get("/admin/export?city=vantaa&format=csv").get_data(as_text=True)
    assert made["vantaa"] in vantaa


@pytest.fixture
def relaxed(app_config: dict) -> dict:
    """Development with the second factor turned off (production refuses this)."""
    app_config["admin"] = {"second_factor": "off", "max_age_seconds": 60}
    return app_config


def test_development_may_turn_the_second_factor_off(relaxed, consent_app):
    client = consent_app.test_client()
    sign_in(client, "espoo", "admin1")
    assert client.get("/admin").status_code == 200  # no code asked
    with consent_app.app_context():
        db.session.execute(update(SsoSession).values(auth_time=utcnow() - timedelta(seconds=61)))
        db.session.commit()
    assert client.get("/admin").headers["Location"] == "/login/espoo?next=/admin"


def test_the_record_s_signed_receipt(consent_app):
    made = records_made(consent_app)
    espoo = admin_client(consent_app)
    page = espoo.get(f"/admin/records/{made['espoo']}").get_data(as_text=True)
    assert f"/admin/records/{made['espoo']}/receipt" in page
    response = espoo.get(f"/admin/records/{made['espoo']}/receipt")
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    assert response.get_data(as_text=True).count(".") == 2  # a JWS compact serialization
    assert espoo.get(f"/admin/records/{made['vantaa']}/receipt").status_code == 404

"""The guardian's consent pages with the Flask test client: answering with one button, who may
see what, CSRF, errors as readable messages and the signed receipt (CONSENT.md)."""

from __future__ import annotations

import html
import re

import jwt
import pytest

from consent import purposes, records
from consent.models import ConsentEvent
from core.db import db
from tests.conftest import sign_in
from tests.consent.conftest import ASSESSMENTS, READING, person

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def ask(app, purpose_id: str, username: str, client_id: str = "demo-reading-app") -> str:
    with app.app_context():
        purpose = purposes.latest(db.session, purpose_id)
        current, _created = records.request(
            db.session, purpose, person("espoo", username), client_id=client_id
        )
        db.session.commit()
        return current.record.id


def state(app, record_id: str) -> str:
    with app.app_context():
        record = db.session.get(records.ConsentRecord, record_id)
        return records.view(db.session, record).derived.state


def signed_in(app, username: str):
    client = app.test_client()
    assert sign_in(client, "espoo", username).status_code == 302
    client.get("/me?lang=en")  # the session keeps the language, also for flashed messages
    return client


def page(client, lang: str = "en") -> str:
    response = client.get(f"/consents?lang={lang}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def csrf_token(client) -> str:
    """The session's CSRF token, from /me (its sign-out form), as a browser has it."""
    return TOKEN.search(client.get("/me").get_data(as_text=True)).group(1)


def words(fragment: str) -> str:
    """The text of an HTML fragment, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split()).replace(" :", ":")


def answer(client, record_id: str, kind: str, version: int = 1, token: str | None = ""):
    if token == "":
        token = csrf_token(client)
    data = {"answer": kind, "version": str(version)}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"/consents/{record_id}", data=data)


def record_html(text: str, record_id: str) -> str:
    start = text.index(f'id="record-{record_id}"')
    return text[start : text.index("</article>", start)]


def test_guardians_approve_one_by_one_and_one_withdraws(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1, g2 = signed_in(consent_app, "guardian1"), signed_in(consent_app, "guardian2")
    shown = page(g1)
    assert "Aino Virtanen" in shown and "Waiting for an answer" in shown
    card = record_html(shown, record_id)
    for text in (
        "The reading app receives the pupil's class and school",  # the purpose
        "Demo reading app",  # the service
        "Demo school administration system",  # the source system
        "Class and school",  # the data in plain words
        "Consent (GDPR article 6(1)(a))",
        "Valid for 365 days from when it is given.",
        "at most until the end of the school year",  # retention
        "Johanna: not answered yet",  # the other guardian
        "Withdrawing does not undo",
    ):
        assert text in words(card), text
    assert card.index("Withdrawing does not undo") < card.index('value="approve"')
    assert (
        'aria-label="Approve: The reading app receives the pupil\'s class and school (Aino)"'
        in card
    )

    response = answer(g1, record_id, "approve")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/consents#record-{record_id}")
    assert state(consent_app, record_id) == "partially_approved"
    shown = page(g1)
    assert "Your approval was saved." in shown  # the flashed message, after the redirect
    card = record_html(shown, record_id)
    assert "You: approved" in words(card) and 'value="approve"' not in card
    assert 'value="withdraw"' in card  # withdrawing is as easy as giving, already now

    assert "Mikko: approved" in words(record_html(page(g2), record_id))
    assert answer(g2, record_id, "approve").status_code == 303
    assert state(consent_app, record_id) == "given"
    shown = page(g1)
    assert "In force" in shown
    assert "Valid until" in record_html(shown, record_id)

    assert answer(g1, record_id, "withdraw").status_code == 303
    assert state(consent_app, record_id) == "withdrawn"
    shown = page(g1)
    card = record_html(shown, record_id)
    assert "Ended" in shown and "Status: Withdrawn" in words(card)
    history = card[card.index("<details") :]
    steps = re.findall(r'<span class="who">([^<]+)</span>: ([^<\n]+)', history)
    assert steps == [
        ("The service", "Request for consent"),
        ("You", "Approval"),
        ("Johanna", "Approval"),
        ("You", "Withdrawal"),
    ]
    with consent_app.app_context():
        rows = records.events(db.session, record_id)
        assert [(r.kind, r.method, r.acr, r.purpose_version) for r in rows[1:]] == [
            ("approve", "page", "urn:digione:loa:password", 1),
            ("approve", "page", "urn:digione:loa:password", 1),
            ("withdraw", "page", "urn:digione:loa:password", 1),
        ]


def test_refusing_refuses_and_a_second_answer_is_a_message(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    token = csrf_token(g1)
    assert answer(g1, record_id, "refuse", token=token).status_code == 303
    assert state(consent_app, record_id) == "refused"
    response = answer(g1, record_id, "approve", token=token)
    assert response.status_code == 303
    assert "Your answer was not saved" in page(g1)
    assert state(consent_app, record_id) == "refused"


def test_an_answer_to_an_older_text_is_not_saved(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    assert answer(g1, record_id, "approve", version=2).status_code == 303
    assert "its text has changed" in page(g1)
    assert state(consent_app, record_id) == "requested"


def test_without_csrf_token_nothing_is_saved(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    response = answer(g1, record_id, "approve", token=None)
    assert response.status_code == 400
    assert state(consent_app, record_id) == "requested"


@pytest.mark.parametrize("kind", ["approve", "maybe"])
def test_a_bad_form_is_400(consent_app, kind):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    token = csrf_token(g1)
    data = {"csrf_token": token, "answer": kind}
    if kind != "approve":
        data["version"] = "1"
    assert g1.post(f"/consents/{record_id}", data=data).status_code == 400


def test_another_guardian_cannot_see_or_act(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g3 = signed_in(consent_app, "guardian3")
    shown = page(g3)
    assert record_id not in shown and "Aino" not in shown
    assert answer(g3, record_id, "approve").status_code == 404
    assert g3.get(f"/consents/{record_id}/receipt").status_code == 404
    assert answer(g3, "no-such-record", "approve").status_code == 404
    assert state(consent_app, record_id) == "requested"


def test_not_signed_in_goes_to_the_chooser(consent_app):
    client = consent_app.test_client()
    response = client.get("/consents")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?next=/consents"
    assert client.post("/consents/x", data={}).status_code in (302, 400)
    assert client.get("/consents/x/receipt").status_code == 302


def test_pupil2_at_15_approves_their_own(consent_app):
    record_id = ask(consent_app, ASSESSMENTS, "pupil2", "demo-learning-service")
    pupil2 = signed_in(consent_app, "pupil2")
    shown = page(pupil2)
    assert "Your own consents" in shown
    card = record_html(shown, record_id)
    assert "The learning service receives the pupil's assessments" in card
    assert answer(pupil2, record_id, "approve").status_code == 303
    assert state(consent_app, record_id) == "given"
    g3 = signed_in(consent_app, "guardian3")  # the pupil decides alone: not the guardian's
    assert record_id not in page(g3)
    assert answer(g3, record_id, "withdraw").status_code == 404


def test_pupil1_at_9_sees_no_action(consent_app):
    record_id = ask(consent_app, ASSESSMENTS, "pupil1", "demo-learning-service")
    pupil1 = signed_in(consent_app, "pupil1")
    shown = page(pupil1)
    assert record_id not in shown and '<form method="post" action="/consents/' not in shown
    assert "There is nothing here for you to decide." in shown
    assert answer(pupil1, record_id, "approve").status_code == 404
    guardian = page(signed_in(consent_app, "guardian1"))
    assert "Mikko: not answered yet" not in words(record_html(guardian, record_id))
    assert "You: not answered yet" in words(record_html(guardian, record_id))


def test_the_page_speaks_finnish_and_swedish(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    fi, sv = record_html(page(g1, "fi"), record_id), record_html(page(g1, "sv"), record_id)
    assert "Lukusovellus saa oppilaan luokan ja koulun" in fi and "Hyväksy" in fi
    assert "Läsappen får elevens klass och skola" in sv and "Godkänn" in sv


def test_an_invalidation_says_why(consent_app):
    from tests.consent.test_records import end_guardianship

    record_id = ask(consent_app, READING, "pupil1")
    g1, g2 = signed_in(consent_app, "guardian1"), signed_in(consent_app, "guardian2")
    answer(g1, record_id, "approve")
    with consent_app.app_context():
        end_guardianship(person("espoo", "pupil1"), person("espoo", "guardian1"))
    card = record_html(page(g2), record_id)
    assert "DigiOne: Change in who decides. Reason: custody changed" in words(card)
    assert record_id not in page(g1)  # the departed guardian no longer sees the child's record


def test_a_protected_identity_ends_the_consent_and_says_so(consent_app):
    from federation.accounts import _reevaluate_consents

    record_id = ask(consent_app, ASSESSMENTS, "pupil2", "demo-learning-service")
    pupil2 = signed_in(consent_app, "pupil2")
    answer(pupil2, record_id, "approve")
    with consent_app.app_context():
        child = person("espoo", "pupil2")
        child.protected = True
        _reevaluate_consents(db.session, {child.id})
        db.session.commit()
    shown = page(pupil2)
    card = words(record_html(shown, record_id))
    assert "Status: Ended by DigiOne" in card
    assert "DigiOne: Consent ended. Reason: protected identity" in card
    assert 'value="withdraw"' not in record_html(shown, record_id)


def test_the_me_page_links_to_consents(consent_app):
    for username in ("guardian1", "pupil1"):
        client = signed_in(consent_app, username)
        assert 'href="/consents"' in client.get("/me").get_data(as_text=True)
    teacher = signed_in(consent_app, "teacher1")
    assert 'href="/consents"' not in teacher.get("/me").get_data(as_text=True)


def test_the_receipt_downloads_signed(consent_app):
    record_id = ask(consent_app, READING, "pupil1")
    g1 = signed_in(consent_app, "guardian1")
    answer(g1, record_id, "approve")
    response = g1.get(f"/consents/{record_id}/receipt")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="consent-{record_id}.jwt"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "consent-receipt+jwt"
    jwks = jwt.PyJWKSet.from_dict(g1.get("/.well-known/jwks.json").get_json())
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    body = jwt.decode(token, key.key, algorithms=["RS256"])
    assert body["record_id"] == record_id and body["state"] == "partially_approved"
    with consent_app.app_context():
        g1_id = person("espoo", "guardian1").id
        approve = db.session.scalars(
            db.select(ConsentEvent).where(
                ConsentEvent.record_id == record_id, ConsentEvent.kind == "approve"
            )
        ).one()
    assert body["indicated_by"][0]["actor_id"] == g1_id
    assert body["indicated_by"][0]["custody_basis"] == approve.deciders


def test_a_sharing_under_another_lawful_basis_is_shown_to_guardians_only(consent_app):
    with consent_app.app_context():
        data = purposes.to_dict(purposes.latest(db.session, READING))
        keep = set(purposes.PurposeSpec.model_fields)
        spec = {key: value for key, value in data.items() if key in keep} | {
            "id": "demo-public-task",
            "lawful_basis": "public_task",
            "validity_days": None,
        }
        purposes.add(db.session, purposes.parse(spec), created_by="test")
        db.session.commit()
    record_id = ask(consent_app, "demo-public-task", "pupil1")
    assert state(consent_app, record_id) == "recorded"
    shown = page(signed_in(consent_app, "guardian2"))
    card = record_html(shown, record_id)
    assert "In force" in shown
    assert "Status: Shared under another lawful basis: nobody is asked" in words(card)
    assert "Public task (GDPR article 6(1)(e))" in words(card)
    assert "<form" not in card  # nobody is asked, so there is nothing to answer
    assert record_id not in page(signed_in(consent_app, "guardian3"))


def test_an_answer_records_the_sign_in_it_was_made_with(consent_app):
    """GDPR art. 7(1): the controller can show who consented, when, to which text and by which
    sign-in: the event carries the page as method, the session's acr and the version shown."""
    from sqlalchemy import select

    from idp.sso.models import SsoSession

    record_id = ask(consent_app, READING, "pupil1")
    guardian = signed_in(consent_app, "guardian1")
    assert answer(guardian, record_id, "approve").status_code == 303  # see the page again
    with consent_app.app_context():
        event = db.session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.record_id == record_id, ConsentEvent.kind == "approve"
            )
        ).one()
        guardian1 = person("espoo", "guardian1")
        session_acr = db.session.scalars(
            select(SsoSession.acr).where(SsoSession.person_id == guardian1.id)
        ).one()
        assert (event.actor_id, event.actor_type, event.method) == (
            guardian1.id, "guardian", "page",
        )  # fmt: skip
        assert event.acr == session_acr and event.acr
        assert event.purpose_version == 1 and event.at is not None

"""The guardian's consent pages in a real Chromium: two guardians approve in their
own browsers and one withdraws, in Finnish and Swedish, without JavaScript, at a 320 px wide
phone; axe-core finds no WCAG 2.1 A/AA violations with a pending request, a consent in force
and an ended one (history open) in fi, sv and en."""

from __future__ import annotations

import pytest

from tests.browser.test_accessibility import (
    AXE,
    WIDER_THAN_VIEWPORT,
    axe_violations,
    describe,
)
from tests.conftest import require
from tests.consent.conftest import ASSESSMENTS, READING

pytestmark = pytest.mark.browser
PHONE = {"width": 320, "height": 640}
TEXTS = {
    "fi": {
        "user": "Käyttäjätunnus",
        "password": "Salasana",
        "submit": "Kirjaudu sisään",
        "link": "Katso ja vastaa palvelujen pyyntöihin ja peru suostumuksia",
        "title": "Lukusovellus saa oppilaan luokan ja koulun",
        "approve": "Hyväksy",
        "withdraw": "Peru suostumus",
        "partly": "Osittain hyväksytty",
        "given": "Suostumus annettu",
        "withdrawn": "Peruttu",
        "saved": "Hyväksyntäsi on tallennettu.",
    },
    "sv": {
        "user": "Användarnamn",
        "password": "Lösenord",
        "submit": "Logga in",
        "link": "Granska och svara på tjänsternas begäranden och återkalla samtycken",
        "title": "Läsappen får elevens klass och skola",
        "approve": "Godkänn",
        "withdraw": "Återkalla samtycket",
        "partly": "Delvis godkänt",
        "given": "Samtycke givet",
        "withdrawn": "Återkallat",
        "saved": "Ditt godkännande har sparats.",
    },
    "en": {"user": "User name", "password": "Password", "submit": "Sign in"},
}


def ask(app, purpose_id: str, username: str, client_id: str, answers=()) -> str:
    """A request for the demo pupil, answered by ``answers`` ((username, kind) pairs)."""
    from consent import purposes, records
    from core.db import db
    from tests.consent.conftest import person

    with app.app_context():
        purpose = purposes.latest(db.session, purpose_id)
        current, _ = records.request(
            db.session, purpose, person("espoo", username), client_id=client_id
        )
        for who, kind in answers:
            records.answer(
                db.session, current.record, person("espoo", who), kind, method="page", acr="t"
            )
        db.session.commit()
        return current.record.id


def sign_in(page, base: str, username: str, text: dict) -> None:
    page.goto(base + "/login/espoo")
    page.get_by_label(text["user"]).fill(username)
    page.get_by_label(text["password"]).fill("demo")
    page.get_by_role("button", name=text["submit"]).click()
    page.wait_for_url("**/me")


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], page.evaluate(WIDER_THAN_VIEWPORT)


def status(page, record_id: str) -> str:
    return page.locator(f"#record-{record_id} .status").inner_text()


@pytest.mark.parametrize("locale", ["fi", "sv"])
def test_two_guardians_approve_and_one_withdraws(browser, consent_server, seeded, locale):
    text = TEXTS[locale]
    record_id = ask(seeded, READING, "pupil1", "demo-reading-app")
    contexts = [
        browser.new_context(locale=f"{locale}-FI", java_script_enabled=False, viewport=PHONE)
        for _ in range(2)
    ]
    try:
        first, second = (context.new_page() for context in contexts)
        sign_in(first, consent_server, "guardian1", text)
        first.get_by_role("link", name=text["link"]).click()
        first.wait_for_url("**/consents")
        assert first.locator("html").get_attribute("lang") == locale
        no_horizontal_scroll(first)
        approve = first.get_by_role("button", name=f"{text['approve']}: {text['title']} (Aino)")
        assert approve.bounding_box()["height"] >= 44
        approve.click()
        first.wait_for_url(f"**/consents#record-{record_id}")
        assert text["saved"] in first.locator("[role=status]").inner_text()
        assert text["partly"] in status(first, record_id)
        no_horizontal_scroll(first)

        sign_in(second, consent_server, "guardian2", text)
        second.goto(consent_server + "/consents")
        second.get_by_role("button", name=f"{text['approve']}: {text['title']} (Aino)").click()
        second.wait_for_url(f"**/consents#record-{record_id}")
        assert text["given"] in status(second, record_id)

        first.goto(consent_server + "/consents")
        assert text["given"] in status(first, record_id)
        first.get_by_role("button", name=f"{text['withdraw']}: {text['title']} (Aino)").click()
        first.wait_for_url(f"**/consents#record-{record_id}")
        assert text["withdrawn"] in status(first, record_id)
        first.locator(f"#record-{record_id} summary").click()  # <details> opens without JS
        assert first.locator(f"#record-{record_id} details ol li").count() == 4
        no_horizontal_scroll(first)
    finally:
        for context in contexts:
            context.close()


@pytest.mark.parametrize("locale", ["fi", "sv", "en"])
def test_the_consents_page_passes_axe(browser, consent_server, seeded, locale):
    """A pending request, a consent in force and an ended one, history opened, at the
    desktop and phone viewports, and no horizontal scrolling at 320 px."""
    require(AXE.is_file(), "axe-core not installed: run npm ci")
    ask(seeded, READING, "pupil1", "demo-reading-app", [("guardian2", "refuse")])
    ask(seeded, READING, "pupil1", "demo-reading-app", [("guardian2", "approve")])
    ask(
        seeded,
        ASSESSMENTS,
        "pupil1",
        "demo-learning-service",
        [("guardian1", "approve"), ("guardian2", "approve")],
    )
    context = browser.new_context(
        locale=f"{locale}-FI", java_script_enabled=True, bypass_csp=True, viewport=PHONE
    )
    try:
        page = context.new_page()
        sign_in(page, consent_server, "guardian1", TEXTS[locale])
        page.goto(consent_server + f"/consents?lang={locale}")
        assert page.locator("article.consent").count() == 3
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        no_horizontal_scroll(page)
        found = {f"consents, {where}": v for where, v in axe_violations(page).items()}
        assert not found, f"axe: WCAG 2.1 A/AA violations ({locale}):\n" + describe(found)
    finally:
        context.close()

"""The administrators' console in a real Chromium, without JavaScript, in Finnish and Swedish:
Espoo's consent administrator follows the link on their page, finds a pupil's record by
learner id, opens its history and its verified proof, and gets "not found" for a Vantaa
record's address; Espoo's auditor sees both cities. axe-core finds no WCAG 2.1 A/AA violation
on the list (with results, and with a search error) or on a record, at desktop and phone
sizes, and the pages do not scroll sideways at 320 px."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.test_accessibility import AXE, axe_violations, describe
from tests.browser.test_consent_pages import PHONE, TEXTS, no_horizontal_scroll, sign_in
from tests.conftest import require, second_factor_code
from tests.consent.conftest import DEMO, READING

pytestmark = pytest.mark.browser
READING_FILE = (DEMO / "purposes" / "reading-class.toml").read_text(encoding="utf-8")
LEARNER = "1.2.246.562.24.10000000101"  # Espoo's pupil1, Aino Virtanen
CONSOLE = {
    "fi": {
        "code": "Koodi",
        "continue": "Jatka",
        "link": "Kaupungin lasten suostumukset",
        "learner": "Oppijanumero",
        "search": "Hae",
        "history": "Kaikki tapahtumat, vanhin ensin",
        "verified": "Tarkistettu",
        "proof": "Todiste ulkopuoliselle tarkastajalle",
        "statistics": "Tilastot",
        "download": "Lataa",
        "reads": "Kuka kaupungilla on lukenut nämä suostumukset",
        "read": "Kaupungin suostumusten ylläpitäjä (ylläpitosivut): avasi suostumuksen",
    },
    "sv": {
        "code": "Kod",
        "continue": "Fortsätt",
        "link": "Samtycken för stadens barn",
        "learner": "Elevnummer",
        "search": "Sök",
        "history": "Alla händelser, äldsta först",
        "verified": "Verifierat",
        "proof": "Beviset, för en utomstående granskare",
        "statistics": "Statistik",
        "download": "Ladda ner",
        "reads": "Vem hos staden har läst dessa samtycken",
        "read": (
            "Stadens administratör för samtycken (administrationssidorna): öppnade ett samtycke"
        ),
    },
    "en": {"code": "Code", "continue": "Continue"},
}


def second_factor(page, app, username: str, console: dict) -> None:
    """Enter the code of the account's authenticator (the demo key) on the page it is asked."""
    page.wait_for_url("**/second-factor**")
    page.get_by_label(console["code"]).fill(second_factor_code(app, "espoo", username))
    page.get_by_role("button", name=console["continue"]).click()


def requested(app, city: str, answers: tuple[str, ...] = ()) -> str:
    """A request for the city's pupil1, approved by ``answers`` (guardians' user names)."""
    from consent import purposes, records
    from core.db import db
    from tests.consent.conftest import person

    with app.app_context():
        purpose = purposes.latest(db.session, READING)
        current, _ = records.request(
            db.session, purpose, person(city, "pupil1"), client_id="demo-reading-app"
        )
        for who in answers:
            records.answer(
                db.session, current.record, person(city, who), "approve", method="page",
                acr="t",
            )  # fmt: skip
        db.session.commit()
        return current.record.id


def checkpoint(app) -> None:
    """A signed checkpoint that includes every entry so far."""
    from consent.ledger import checkpoints
    from core.app import config_of
    from core.db import db
    from keys.app import key_store

    with app.app_context():
        origin = checkpoints.origin_for(config_of(app).settings.server.issuer)
        checkpoints.make(db.session, checkpoints.signer(origin, key_store()))
        db.session.commit()


def daily_figures(app) -> None:
    """A week of statistics for the chart and its table (one small count among them)."""
    from consent import stats
    from consent.models import ConsentDaily
    from core.db import db, utcnow

    today = utcnow().astimezone(stats.HELSINKI).date()
    with app.app_context():
        for days in range(1, 8):
            db.session.add(
                ConsentDaily(
                    day=today - timedelta(days=days), city="espoo", school_code="03215",
                    purpose_id=READING, recipient_client_id="demo-reading-app",
                    requested=10 * days, given=7 * days, refused=days, withdrawn=0, expired=0,
                    invalidated=0, within_1h=0, within_6h=days, within_24h=6 * days,
                    within_72h=days, within_168h=0, within_720h=0, later=0,
                )
            )  # fmt: skip
        db.session.commit()


@pytest.mark.parametrize("locale", ["fi", "sv"])
def test_an_administrator_finds_a_record_and_its_proof(browser, consent_server, seeded, locale):
    text, console = TEXTS[locale], CONSOLE[locale]
    espoo = requested(seeded, "espoo", ("guardian1",))
    vantaa = requested(seeded, "vantaa")
    checkpoint(seeded)
    for username in ("admin1", "auditor1"):  # their authenticator app: the demo key
        second_factor_code(seeded, "espoo", username)
    daily_figures(seeded)
    context = browser.new_context(
        locale=f"{locale}-FI", java_script_enabled=False, viewport=PHONE, accept_downloads=True
    )
    try:
        page = context.new_page()
        sign_in(page, consent_server, "admin1", text)
        page.get_by_role("link", name=console["link"]).click()
        second_factor(page, seeded, "admin1", console)
        page.wait_for_url("**/admin")
        assert page.locator("html").get_attribute("lang") == locale
        page.get_by_label(console["learner"]).fill(LEARNER)
        page.get_by_role("button", name=console["search"]).click()
        page.wait_for_url(f"**/admin?learner_id={LEARNER}*")
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        no_horizontal_scroll(page)
        rows.get_by_role("link", name="Aino Virtanen").click()
        page.wait_for_url(f"**/admin/records/{espoo}")
        history = page.get_by_role("table", name=console["history"])
        assert history.locator("tbody tr").count() == 2
        assert console["verified"] in page.locator("main").inner_text()
        page.get_by_text(console["proof"]).click()  # <details> opens without JS
        assert page.locator(".proof pre").first.is_visible()
        no_horizontal_scroll(page)

        response = page.goto(consent_server + f"/admin/records/{vantaa}")
        assert response.status == 404  # Vantaa's record is not Espoo's to see
        page.goto(consent_server + "/admin")
        with page.expect_download() as downloading:  # Espoo's records, as CSV
            page.get_by_role("button", name=console["download"], exact=True).click()
        download = downloading.value
        assert download.suggested_filename.startswith("consents-espoo-at-")
        lines = open(download.path(), encoding="utf-8").read().splitlines()  # noqa: SIM115
        assert lines[0].startswith("record_id,") and espoo in "\n".join(lines[1:])
        page.get_by_role("link", name=console["statistics"], exact=True).click()
        page.wait_for_url("**/admin/statistics")
        assert page.locator("figure.chart svg rect.bar").count() > 0
        no_horizontal_scroll(page)

        auditor = context.new_page()
        context.clear_cookies()
        sign_in(auditor, consent_server, "auditor1", text)
        auditor.goto(consent_server + "/admin")
        second_factor(auditor, seeded, "auditor1", console)
        auditor.wait_for_url("**/admin")
        links = auditor.locator("tbody th a")
        assert {links.nth(i).get_attribute("href") for i in range(links.count())} == {
            f"/admin/records/{espoo}",
            f"/admin/records/{vantaa}",
        }
        assert auditor.goto(consent_server + f"/admin/records/{vantaa}").status == 200

        guardian = context.new_page()  # the child's guardian sees the city read the record
        context.clear_cookies()
        sign_in(guardian, consent_server, "guardian1", text)
        guardian.goto(consent_server + "/consents")
        guardian.get_by_text(console["reads"]).click()  # <details> opens without JS
        reads = guardian.locator("details.reads").inner_text()
        assert console["read"] in reads and "Nieminen" not in reads
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["fi", "sv", "en"])
def test_the_console_passes_axe(browser, consent_server, seeded, locale):
    require(AXE.is_file(), "axe-core not installed: run npm ci")
    record_id = requested(seeded, "espoo", ("guardian1", "guardian2"))
    checkpoint(seeded)
    second_factor_code(seeded, "espoo", "admin1")  # the demo key for admin1's app
    daily_figures(seeded)
    context = browser.new_context(
        locale=f"{locale}-FI", java_script_enabled=True, bypass_csp=True, viewport=PHONE
    )
    found = {}
    try:
        page = context.new_page()
        sign_in(page, consent_server, "admin1", TEXTS[locale])
        page.goto(consent_server + "/admin")
        for where, violations in axe_violations(page).items():
            found[f"second factor, {where}"] = violations
        page.set_viewport_size(PHONE)
        second_factor(page, seeded, "admin1", CONSOLE[locale])
        page.wait_for_url("**/admin")
        for name, path in (
            ("records", "/admin"),
            ("search error", "/admin?from=2026-02-31"),
            ("no results", "/admin?learner_id=nobody"),
            ("record", f"/admin/records/{record_id}"),
            ("purposes", "/admin/purposes"),
            ("purpose file", "/admin/purposes/publish"),
            ("withdrawing a purpose", f"/admin/purposes/{READING}/withdraw"),
            ("statistics", "/admin/statistics?period=day"),
        ):
            page.goto(consent_server + path)
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            no_horizontal_scroll(page)
            for where, violations in axe_violations(page).items():
                found[f"{name}, {where}"] = violations
            page.set_viewport_size(PHONE)
        page.goto(consent_server + "/admin/purposes/publish")  # the preview of a new version
        page.locator("#purpose").fill(READING_FILE.replace("365", "300"))
        page.locator("form.purpose-form button[type=submit]").click()
        page.wait_for_selector("table.languages")
        page.wait_for_load_state("load")  # its style sheet applied before the layout is measured
        no_horizontal_scroll(page)
        for where, violations in axe_violations(page).items():
            found[f"purpose preview, {where}"] = violations
    finally:
        context.close()
    assert not found, f"axe: WCAG 2.1 A/AA violations ({locale}):\n" + describe(found)

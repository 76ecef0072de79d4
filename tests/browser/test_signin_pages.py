"""The acceptance check of the foundation: sign in as pupil1 in every city, in Finnish and in
Swedish, in a real Chromium, and see the pupil's name, school and role."""

from __future__ import annotations

from pathlib import Path

import pytest

CITIES = ["espoo", "oulu", "tampere", "turku", "vantaa"]
TEXTS = {
    "fi": {
        "chooser": "Kirjaudu sisään",
        "user": "Käyttäjätunnus",
        "password": "Salasana",
        "submit": "Kirjaudu sisään",
        "role": "Oppilas",
        "out": "Kirjaudu ulos",
        "signed_out": "Olet kirjautunut ulos.",
    },
    "sv": {
        "chooser": "Logga in",
        "user": "Användarnamn",
        "password": "Lösenord",
        "submit": "Logga in",
        "role": "Elev",
        "out": "Logga ut",
        "signed_out": "Du har loggat ut.",
    },
}
SCHOOLS = {
    "espoo": ("Tapiolan koulu", "Tapiola skola"),
    "oulu": ("Myllytullin koulu", "Myllytulli skola"),
    "tampere": ("Hervannan koulu", "Hervanta skola"),
    "turku": ("Cygnaeus skola", "Cygnaeus skola"),
    "vantaa": ("Tikkurilan koulu", "Dickursby skola"),
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["fi", "sv"])
@pytest.mark.parametrize("slug", CITIES)
def test_pupil1_signs_in_with_chromium(browser, live_server, seeded, slug, locale):
    from core.db import db
    from federation.embedded.models import EmbeddedAccount

    with seeded.app_context():
        pupil = db.session.query(EmbeddedAccount).filter_by(city=slug, username="pupil1").one()
        name = f"{pupil.given_name} {pupil.family_name}"
    text = TEXTS[locale]
    context = browser.new_context(locale=f"{locale}-FI", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == locale
    assert page.get_by_role("heading", level=1).inner_text() == text["chooser"]
    page.locator(f'a[href^="/login/{slug}"]').click()
    page.get_by_label(text["user"]).fill("pupil1")
    page.get_by_label(text["password"]).fill("demo")
    page.get_by_role("button", name=text["submit"]).click()
    page.wait_for_url("**/me")
    assert page.get_by_role("heading", level=1).inner_text() == name
    roles = page.locator(".roles").inner_text()
    assert text["role"] in roles
    assert SCHOOLS[slug][0 if locale == "fi" else 1] in roles
    if slug == "espoo":
        ARTIFACTS.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / f"me-{locale}.png"), full_page=True)
    page.get_by_role("button", name=text["out"]).click()
    assert text["signed_out"] in page.locator("[role=status]").inner_text()
    context.close()

"""WCAG 2.1 AA checks of every page in a real Chromium: axe-core (the npm package, `npm ci`) on
each page and state in fi, sv and en at a desktop and a phone viewport, reflow at 320 CSS px
(1.4.10, what 400 % zoom of a 1280 px window gives), and the keyboard path through the sign-in
form with a visible focus indicator (2.1.1, 2.4.3, 2.4.7)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import require

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
LOCALES = ["fi", "sv", "en"]
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
REFLOW_WIDTH = 320
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
RUN_AXE = """async (options) => {
  const results = await axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""

pytestmark = pytest.mark.browser


@cache
def axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def new_page(browser, locale: str, size: tuple[int, int]):
    """A page in its own context, JavaScript on (axe is JavaScript) and the pages' CSP
    (script-src 'self') bypassed so that the injected axe may run."""
    width, height = size
    context = browser.new_context(
        locale=f"{locale}-FI",
        java_script_enabled=True,
        bypass_csp=True,
        viewport={"width": width, "height": height},
    )
    return context, context.new_page()


def submit(page, status: int, username: str | None = None, password: str | None = None) -> None:
    """Send the sign-in form on the page (``None`` leaves a field empty) and expect ``status``."""
    if username is not None:
        page.locator("#username").fill(username)
    if password is not None:
        page.locator("#password").fill(password)
    with page.expect_navigation() as navigation:
        page.locator("form.signin button[type=submit]").click()
    assert navigation.value.status == status, page.url


def states(page, base: str, locale: str) -> Iterator[str]:
    """Bring the page to every page and state a person can meet, yielding each state's name."""

    def goto(path: str, status: int = 200) -> None:
        response = page.goto(base + path)
        assert response.status == status, path

    goto(f"/?lang={locale}")  # the switch; the session remembers it from here on
    yield "chooser"
    goto("/login/espoo")
    yield "login"
    submit(page, 400)
    yield "login, empty fields (400)"
    submit(page, 401, "pupil1", "wrong")
    yield "login, wrong password (401)"
    goto("/accessibility")
    yield "accessibility statement"
    goto("/nope", 404)
    yield "not found (404)"
    goto("/login/espoo")
    submit(page, 200, "pupil1", "demo")
    assert page.url.endswith("/me")
    yield "me, pupil1"
    goto("/")
    yield "chooser, signed in"
    goto("/me")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    yield "chooser, signed out (notice)"
    goto("/login/oulu")
    submit(page, 200, "guardian1", "demo")
    yield "me, guardian1 (children)"


def axe_violations(page) -> dict[str, list[dict]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is, at each of VIEWPORTS (by
    name, with its size), only those with any."""
    page.add_script_tag(content=axe_source())
    found = {}
    for viewport, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
        if violations:
            found[f"{viewport} {width}x{height}"] = violations
    return found


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for state, violations in found.items():
        for v in violations:
            lines.append(f"[{state}] {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"]:
                summary = " ".join(node["summary"].split())
                lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_passes_axe(browser, live_server, locale):
    """Every page and state, each checked at the desktop and at the phone viewport."""
    require(AXE.is_file(), "axe-core not installed: run npm ci")
    context, page = new_page(browser, locale, VIEWPORTS["desktop"])
    found = {}
    try:
        for state in states(page, live_server, locale):
            assert page.locator("html").get_attribute("lang") == locale, state
            for where, violations in axe_violations(page).items():
                found[f"{state}, {where}"] = violations
    finally:
        context.close()
    assert not found, f"axe: WCAG 2.1 A/AA violations ({locale}):\n" + describe(found)


WIDER_THAN_VIEWPORT = r"""() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > innerWidth
    || (el.scrollWidth > el.clientWidth && getComputedStyle(el).display !== "inline"))
  .map((el) => `${el.tagName.toLowerCase()}${el.className ? "." + el.className : ""}`
    + ` "${el.textContent.replace(/\s+/g, " ").trim().slice(0, 30)}" ${el.scrollWidth}px`)"""


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_reflows_at_320_css_px(browser, live_server, locale):
    """WCAG 1.4.10: at 320 x 256 CSS px nothing may need horizontal scrolling."""
    context, page = new_page(browser, locale, (REFLOW_WIDTH, 256))
    wide = {}
    try:
        for state in states(page, live_server, locale):
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > REFLOW_WIDTH:
                wide[state] = (width, page.evaluate(WIDER_THAN_VIEWPORT))
    finally:
        context.close()
    assert not wide, f"horizontal scrolling at {REFLOW_WIDTH} px ({locale}):\n" + "\n".join(
        f"[{state}] scrollWidth {width}px: {', '.join(offenders)}"
        for state, (width, offenders) in wide.items()
    )


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, href: el.getAttribute("href"),
    type: el.getAttribute("type"), outline: style.outlineStyle, width: style.outlineWidth,
    visible: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < innerWidth && box.top < innerHeight,
  };
}"""


FROM_THE_TOP = """() => {
  document.body.tabIndex = -1;
  document.body.focus();
  document.body.removeAttribute("tabindex");
}"""


def test_sign_in_form_keyboard_order_and_visible_focus(browser, live_server):
    context, page = new_page(browser, "fi", VIEWPORTS["desktop"])
    try:
        page.goto(live_server + "/login/espoo?lang=fi")
        # Start from the top of the document, as a keyboard user does on a fresh page: focus
        # <body> for a moment (that sets Chromium's sequential focus starting point there).
        page.evaluate(FROM_THE_TOP)
        expected = [
            ("skip link", lambda f: f["cls"] == "skip" and f["href"] == "#main"),
            ("DigiOne (front page)", lambda f: f["cls"] == "brand"),
            ("Suomeksi", lambda f: f["href"].endswith("lang=fi")),
            ("På svenska", lambda f: f["href"].endswith("lang=sv")),
            ("In English", lambda f: f["href"].endswith("lang=en")),
            ("user name", lambda f: f["id"] == "username"),
            ("password", lambda f: f["id"] == "password"),
            ("sign-in button", lambda f: f["tag"] == "button" and f["type"] == "submit"),
        ]
        for name, matches in expected:
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            assert matches(focused), f"expected {name} focused, got {focused}"
            assert focused["outline"] != "none", f"{name} has no focus outline: {focused}"
            assert focused["width"] not in ("0px", ""), f"{name} has a zero outline: {focused}"
            assert focused["visible"], f"{name} is focused but off screen: {focused}"
        # The skip link (2.4.1) takes the keyboard past the header, straight to the form.
        page.evaluate(FROM_THE_TOP)
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "username"
    finally:
        context.close()

"""The whole sign-in in a real browser (Debian Chromium, Playwright): the broker on a loopback
port, oidc-provider as Tampere's provider; the person types into the provider's own sign-in and
consent pages and lands on the broker's page about them."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.federation.oidc.cities import tampere_directory, vantaa_directory
from tests.federation.oidc.peer import free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def broker_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def provider(start_provider, broker_url):
    return start_provider(broker_url)


@pytest.fixture
def oidc_cities(provider):
    return {
        "tampere": tampere_directory(provider.issuer),
        "vantaa": vantaa_directory(provider.issuer),
    }


@pytest.fixture
def app_config(app_config, broker_url):
    return {**app_config, "server": {**app_config["server"], "issuer": broker_url}}


@pytest.fixture
def live(app, broker_url):
    port = int(broker_url.rsplit(":", 1)[1])
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield broker_url
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(
    ("slug", "login", "name", "role"),
    [
        ("tampere", "eetu", "Eetu Lahtinen", "Pupil"),
        ("vantaa", "maria", "Maria Lindqvist", "Teacher"),
    ],
)
def test_sign_in_in_chromium_through_the_providers_pages(
    live, provider, page, slug, login, name, role
):
    page.goto(f"{live}/?lang=en")
    page.goto(f"{live}/login/{slug}")
    assert page.url.startswith(provider.issuer)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # the consent page: Continue
    page.wait_for_url(f"{live}/me")
    assert page.text_content("h1") == name
    assert page.text_content("strong.role") == role

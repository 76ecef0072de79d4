"""The example service (examples/learning_service) against a real broker, in Chromium: sign in,
single sign-on at a second service, and sign-out reaching the other one by back-channel logout.

Every process is real: `digione serve` on a fresh SQLite database, and the example app run twice
as `make run` runs it. The services are registered with `digione clients add` on free ports, so
that the test does not need 5001 and 5002 (where the fixed demo clients live)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "learning_service" / "app.py"
DIGIONE = Path(sys.executable).with_name("digione")
SCOPE = "openid profile email edu:school edu:roles edu:municipality"
PURPOSE = "example-reading-class"
PURPOSE_FILE = ROOT / "config" / "demo" / "purposes" / "reading-class.toml"

pytestmark = pytest.mark.browser

# The broker's Content-Security-Policy is enforced: its sign-in pages allow the registered
# redirect URI as a form target, since form-action governs the redirects after a submission.
CONTEXT = {"locale": "en-GB", "java_script_enabled": False}


class Processes:
    def __init__(self, folder: Path) -> None:
        self.folder, self.running = folder, []

    def start(self, name: str, argv: list[str], env: dict, ready_url: str) -> None:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
        self.running.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(ready_url, timeout=2):  # noqa: S310 - loopback
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        pytest.fail(f"{name} did not start:\n{log.read_text(errors='replace')[-4000:]}")

    def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The broker and two example services; their base URLs by name."""
    folder = tmp_path_factory.mktemp("example-service")
    port = free_port()
    broker = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DIGIONE_", "EXAMPLE_")) and key != "PORT"
    }
    env.update(
        DIGIONE_SERVER_ISSUER=broker,
        DIGIONE_SERVER_INSTANCE_DIR=str(folder / "instance"),
        DIGIONE_DATABASE_URL=f"sqlite:///{folder / 'broker.sqlite'}",
        DIGIONE_PASSWORDS_TIME_COST="1",
        DIGIONE_PASSWORDS_MEMORY_KIB="8192",
        DIGIONE_PASSWORDS_PARALLELISM="1",
    )

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(DIGIONE), *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"digione {args}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    cli("db", "upgrade")
    seeded = cli("demo", "seed")
    assert "3 demo services registered" in seeded
    running = Processes(folder)
    running.start("broker", [str(DIGIONE), "serve", "--port", str(port)], env, broker + "/healthz")
    urls = {"broker": broker}
    try:
        for name, title in (("learning", "Demo learning service"), ("reading", "Demo reading app")):
            base = f"http://127.0.0.1:{free_port()}"
            # fmt: off
            options = [
                "--name", title, "--scope", SCOPE,
                "--redirect-uri", f"{base}/callback",
                "--post-logout-redirect-uri", f"{base}/",
                "--backchannel-logout-uri", f"{base}/backchannel",
                "--grant-type", "authorization_code", "--grant-type", "refresh_token",
                "--grant-type", "urn:ietf:params:oauth:grant-type:token-exchange",
            ]
            # fmt: on
            client = json.loads(cli("clients", "add", "--json", *options))
            app_env = {
                **env,
                "EXAMPLE_PORT": base.rsplit(":", 1)[1],
                "EXAMPLE_TITLE": title,
                "EXAMPLE_CLIENT_ID": client["client_id"],
                "EXAMPLE_CLIENT_SECRET": client["client_secret"],
                "EXAMPLE_BROKER_URL": broker,
            }
            if name == "reading":  # receives class and school under the guardians' consent
                purpose = PURPOSE_FILE.read_text(encoding="utf-8")
                purpose = purpose.replace('id = "demo-reading-class"', f'id = "{PURPOSE}"')
                purpose = purpose.replace('"demo-reading-app"', f'"{client["client_id"]}"')
                (folder / "purpose.toml").write_text(purpose, encoding="utf-8")
                cli("purposes", "add", str(folder / "purpose.toml"))
                app_env.update(EXAMPLE_PURPOSE=PURPOSE, EXAMPLE_SOURCE="demo-school-admin")
            running.start(name, [sys.executable, str(APP)], app_env, base + "/")
            urls[name] = base
        yield urls
    finally:
        running.stop()


def test_sign_in_single_sign_on_and_back_channel_logout(services, browser):
    from playwright.sync_api import expect

    context = browser.new_context(**CONTEXT)
    page = context.new_page()
    visited: list[str] = []  # pages shown (redirects pass without showing one)
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    try:
        # 1. Sign in at the learning service: the broker asks for the city and password.
        page.goto(services["learning"] + "/")
        page.get_by_role("button", name="Sign in with DigiOne").click()
        page.locator('a[href^="/login/espoo"]').first.click()
        page.get_by_label("User name").fill("pupil1")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(services["learning"] + "/me")
        expect(page.locator("#who")).to_have_text("Aino Virtanen")
        claims = page.locator("#claims")
        for claim in ("sub", "sid", "given_name", "edu_schools", "edu_roles"):
            expect(claims.get_by_role("rowheader", name=claim, exact=True)).to_be_visible()
        expect(claims).to_contain_text("Tapiolan koulu")
        expect(page.locator("pre").first).to_contain_text('"alg": "RS256"')

        # 2. The reading app: signed in by the broker's session, no broker page at all.
        visited.clear()
        page.goto(services["reading"] + "/")
        page.get_by_role("button", name="Sign in with DigiOne").click()
        page.wait_for_url(services["reading"] + "/me")
        expect(page.locator("#who")).to_have_text("Aino Virtanen")
        assert not [url for url in visited if url.startswith(services["broker"])], visited

        # 3. Sign out at the reading app: the broker ends the session and tells both services.
        page.get_by_role("button", name="Sign out everywhere").click()
        page.wait_for_url(services["reading"] + "/?state=*")
        expect(page.locator("#notice")).to_have_text(
            "You have signed out of DigiOne and this service."
        )
        page.goto(services["learning"] + "/me")
        expect(page.locator("#notice")).to_have_text("You are not signed in.")

        # 4. And signing in again asks for the password again.
        page.get_by_role("button", name="Sign in with DigiOne").click()
        assert page.url.startswith(services["broker"] + "/?next="), page.url
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    except Exception as exc:
        exc.add_note(f"page {page.url}:\n{page.locator('body').inner_text()[:2000]}")
        raise
    finally:
        context.close()


def _post(url: str, data: dict) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode()
    try:
        with urllib.request.urlopen(url, data=body, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_example_refuses_a_forged_issuer_and_bad_logout_tokens(services):
    """RFC 9207: an authorization response naming another issuer is refused before any token
    request; Back-Channel Logout 1.0 section 2.6: an unsigned or garbled logout token gets 400."""
    learning = services["learning"]
    try:
        urllib.request.urlopen(  # noqa: S310 - loopback
            f"{learning}/callback?code=c&state=s&iss=https%3A%2F%2Fevil.example", timeout=10
        )
        status, text = 200, ""
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    assert status == 400
    assert "iss: expected " + services["broker"] in text

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    event = {"http://schemas.openid.net/event/backchannel-logout": {}}
    unsigned = ".".join(
        [part({"alg": "none", "typ": "logout+jwt"}), part({"sid": "x", "events": event}), ""]
    )
    for token in ("", "not-a-jwt", unsigned):
        status, body = _post(f"{learning}/backchannel", {"logout_token": token})
        assert (status, json.loads(body)) == (400, {"error": "invalid_request"}), token


def test_sign_in_form_returns_to_the_service_with_csp_enforced(services, browser):
    context = browser.new_context(**CONTEXT)
    try:
        page = context.new_page()
        page.goto(services["learning"] + "/login")
        page.locator('a[href^="/login/espoo"]').first.click()
        page.get_by_label("User name").fill("pupil1")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(services["learning"] + "/me", timeout=3000)
    finally:
        context.close()


def _sign_in_at_broker(page, broker: str, username: str) -> None:
    page.goto(broker + "/login/espoo")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(broker + "/me")


def test_the_reading_app_asks_consent_and_gets_a_token_once_both_guardians_approve(
    services, browser
):
    """Guardian consent through real processes: the example service asks with its own
    credentials, the guardians answer on the broker's pages, and only then the token exchange
    gives a token."""
    from playwright.sync_api import expect

    pupil = browser.new_context(**CONTEXT)
    guardians = [browser.new_context(**CONTEXT) for _ in range(2)]
    page = pupil.new_page()
    try:
        page.goto(services["reading"] + "/")
        page.get_by_role("button", name="Sign in with DigiOne").click()
        page.locator('a[href^="/login/espoo"]').first.click()
        page.get_by_label("User name").fill("pupil1")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(services["reading"] + "/me")
        page.get_by_role("button", name="Fetch the data from the school").click()
        expect(page.locator("#sharing-error")).to_contain_text("consent")
        page.get_by_role("button", name="Ask the guardians for consent").click()
        expect(page.locator("#consent-state")).to_have_text("requested")

        for context, username in zip(guardians, ("guardian1", "guardian2"), strict=True):
            answer = context.new_page()
            _sign_in_at_broker(answer, services["broker"], username)
            answer.goto(services["broker"] + "/consents?lang=en")
            answer.get_by_role("button", name="Approve: ", exact=False).first.click()
            expect(answer.locator("[role=status]")).to_contain_text("saved")

        page.goto(services["reading"] + "/me")
        expect(page.locator("#consent-state")).to_have_text("given")
        page.get_by_role("button", name="Fetch the data from the school").click()
        claims = json.loads(page.locator("#sharing-token").inner_text())
        assert claims["scope"] == "school:class school:school"
        assert claims["purpose"] == PURPOSE and claims["consent_id"]
        assert claims["act"]["sub"] == claims["client_id"]
        assert claims["aud"] == "https://school-admin.demo.digione.invalid/api"
    except Exception as exc:
        exc.add_note(f"page {page.url}:\n{page.locator('body').inner_text()[:2000]}")
        raise
    finally:
        for context in (pupil, *guardians):
            context.close()

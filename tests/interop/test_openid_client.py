"""openid-client (npm, an OpenID Certified relying party) against the broker as a real server
process: the code flow with PKCE through the real sign-in pages in Chromium, then refresh,
userinfo, introspection, revocation, client credentials, RP-initiated logout and back-channel
logout; single sign-on across two clients and prompt=none with and without a session.

The relying party is tests/interop/rp.mjs; the processes and the browser come from conftest.py.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.browser

# Scripts off: the sign-in pages work without them. The broker's CSP is enforced, as in any
# browser: its form-action governs the redirects after a form's POST, which end at the service.
CONTEXT = {"java_script_enabled": False}


def rp_call(base: str, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(f"{base}{path}", method=method)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
        return json.load(response)


@pytest.fixture
def new_page(browser) -> Iterator:
    """A page in a fresh browser context (no cookies); the contexts close after the test."""
    contexts = []

    def make(**options):
        contexts.append(browser.new_context(**{**CONTEXT, **options}))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_through(page, rp: str, broker: str) -> None:
    """RP /login → the broker's espoo sign-in page → pupil1/demo → back at the RP's /cb."""
    page.goto(f"{rp}/login")
    assert page.url.startswith(f"{broker}/login/espoo"), page.url
    page.fill("input[name=username]", "pupil1")
    page.fill("input[name=password]", "demo")
    submit_and_arrive(page, "button[type=submit]", f"{rp}/cb")


def submit_and_arrive(page, button: str, url: str) -> None:
    """Click a broker form's button; the browser must arrive at ``url`` (a query string follows)
    with no CSP violation on the way."""
    from playwright.sync_api import Error as PlaywrightError

    violations: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    try:
        with page.expect_navigation(url=f"{url}?**", timeout=5000):
            page.click(button)
    except PlaywrightError as exc:
        page.wait_for_load_state()
        violations.append(exc.message.splitlines()[0])
    assert not violations, violations


def sso_cookie(context, broker: str) -> dict:
    cookies = [c for c in context.cookies(broker) if c["name"] == "digione_sso"]
    assert cookies, context.cookies(broker)
    return cookies[0]


def test_code_flow_refresh_revocation_client_credentials_and_logout(
    broker, node_rp, new_page
) -> None:
    cc = broker.add_client(
        "Interop machine client",
        "--grant-type", "client_credentials",
        "--scope", "edu:school",
        "--token-endpoint-auth-method", "client_secret_basic",
    )  # fmt: skip
    rp, client = node_rp("rp", cc=cc)
    page = new_page()

    # Code flow with PKCE, state and nonce; openid-client checked iss (RFC 9207), state and the
    # ID token (signature against jwks_uri, iss, aud, exp, iat, nonce) or results.callback says why.
    sign_in_through(page, rp, broker.url)
    results = rp_call(rp, "/results")
    assert results["callback"] == {"ok": True}, results
    claims = results["claims"]
    assert claims["iss"] == broker.url
    assert claims["aud"] == client["client_id"] or client["client_id"] in claims["aud"]
    assert claims["sid"]
    assert results["id_token_header"]["alg"] == "RS256"
    userinfo = results["userinfo"]
    assert userinfo["ok"], userinfo
    assert userinfo["value"]["sub"] == claims["sub"]
    assert userinfo["value"]["given_name"] == "Aino"
    assert userinfo["value"]["edu_schools"], userinfo
    assert results["refresh"]["ok"], results["refresh"]
    assert results["refresh"]["rotated"] and results["refresh"]["new_access_token"]
    introspection = results["introspection"]
    assert introspection["ok"], introspection
    assert introspection["value"]["active"] is True
    assert introspection["value"]["client_id"] == client["client_id"]
    assert introspection["value"]["sub"] == claims["sub"]

    # Revocation (RFC 7009) of the refresh token: its family is dead, access token included.
    revoked = rp_call(rp, "/revoke", "POST")
    assert revoked["revocation"]["ok"], revoked
    assert not revoked["refresh_after"]["ok"]
    assert revoked["refresh_after"]["error"] == "invalid_grant", revoked
    assert revoked["access_token_after"]["ok"], revoked
    assert revoked["access_token_after"]["value"]["active"] is False

    # Client credentials through openid-client, then introspection of that token by its client.
    machine = rp_call(rp, "/client-credentials", "POST")
    assert machine["grant"]["ok"], machine
    assert machine["grant"]["value"]["token_type"].lower() == "bearer"
    assert not machine["grant"]["value"].get("refresh_token")
    assert not machine["grant"]["value"].get("id_token")
    assert machine["access_token_header"]["typ"] == "at+jwt"
    assert machine["introspection"]["ok"], machine
    assert machine["introspection"]["value"]["active"] is True
    assert machine["introspection"]["value"]["client_id"] == cc["client_id"]

    # RP-initiated logout with id_token_hint: back at the RP's /bye with the same state.
    old_cookie = sso_cookie(page.context, broker.url)
    with page.expect_navigation(url=f"{rp}/bye?**"):
        page.goto(f"{rp}/logout")
    assert json.loads(page.inner_text("body"))["state_matches"] is True
    # The broker's session is gone server-side: even its old cookie no longer signs anybody in.
    page.context.add_cookies([old_cookie])
    page.goto(f"{broker.url}/me")
    assert page.url.startswith(f"{broker.url}/?"), page.url

    # Back-channel logout: the RP received and verified a logout token for this session.
    received = rp_call(rp, "/results")["backchannel"]
    assert len(received) == 1, received
    assert received[0]["valid"], received
    assert received[0]["header"]["typ"] == "logout+jwt"
    assert received[0]["payload"]["sid"] == claims["sid"]
    assert received[0]["payload"]["sub"] == claims["sub"]


def test_single_sign_on_across_two_clients_and_prompt_none(broker, node_rp, new_page) -> None:
    rp_a, _ = node_rp("rp-a")
    rp_b, _ = node_rp("rp-b")

    # prompt=none without a broker session: the RP gets login_required (with iss and state).
    page = new_page()
    page.goto(f"{rp_b}/login?prompt=none")
    assert page.url.startswith(f"{rp_b}/cb?"), page.url
    callback = rp_call(rp_b, "/results")["callback"]
    assert callback["ok"] is False
    assert callback["error"] == "login_required", callback

    # Sign in for client A; client B's flow then completes without the sign-in form.
    page = new_page()
    sign_in_through(page, rp_a, broker.url)
    a = rp_call(rp_a, "/results")
    assert a["callback"] == {"ok": True}, a

    seen: list[str] = []
    page.on("framenavigated", lambda frame: frame.parent_frame or seen.append(frame.url))
    page.goto(f"{rp_b}/login")
    assert page.url.startswith(f"{rp_b}/cb?"), seen
    assert not [url for url in seen if url.startswith(f"{broker.url}/login")], seen
    b = rp_call(rp_b, "/results")
    assert b["callback"] == {"ok": True}, b
    assert b["claims"]["sid"] == a["claims"]["sid"]
    assert b["claims"]["auth_time"] == a["claims"]["auth_time"]
    assert b["userinfo"]["value"]["given_name"] == "Aino"

    # prompt=none with the session: a code, no page at the broker.
    page.goto(f"{rp_a}/login?prompt=none")
    assert page.url.startswith(f"{rp_a}/cb?"), page.url
    again = rp_call(rp_a, "/results")
    assert again["callback"] == {"ok": True}, again
    assert again["claims"]["sid"] == a["claims"]["sid"]


# The broker's other forms whose POST is answered by redirects that end at the service: the
# approval page and the sign-out confirmation. The page's CSP form-action must allow the service's
# origin, or Chromium blocks the last hop (net::ERR_ABORTED and a console error), as it did
# before 654f31e.


def signed_in_at_broker(page, broker: str, user: str) -> None:
    """Sign in at the broker itself (no service involved: /me is the next page)."""
    page.goto(f"{broker}/login/espoo")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "demo")
    with page.expect_navigation(url=f"{broker}/me"):
        page.click("button[type=submit]")


def test_approval_form_returns_to_the_service(broker, node_rp, new_page) -> None:
    """A scope that needs the person's approval: after "Allow" the browser reaches the service."""
    rp, _ = node_rp("rp-approval", "--approval-scope", "edu:school")
    page = new_page()
    signed_in_at_broker(page, broker.url, "pupil2")
    page.goto(f"{rp}/login")
    assert page.url.startswith(f"{broker.url}/oidc/authorize?"), page.url  # the approval page
    submit_and_arrive(page, "button[value=allow]", f"{rp}/cb")
    assert rp_call(rp, "/results")["callback"] == {"ok": True}


def test_sign_out_confirmation_returns_to_the_service(broker, node_rp, new_page) -> None:
    """Without id_token_hint the broker asks before signing out, then returns to the service."""
    rp, client = node_rp("rp-logout")
    page = new_page()
    signed_in_at_broker(page, broker.url, "guardian1")
    target = urllib.parse.quote(f"{rp}/bye", safe="")
    page.goto(
        f"{broker.url}/oidc/logout?client_id={client['client_id']}"
        f"&post_logout_redirect_uri={target}&state=s-1"
    )
    submit_and_arrive(page, "button[value=logout]", f"{rp}/bye")
    assert page.url == f"{rp}/bye?state=s-1"

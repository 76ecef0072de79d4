"""Scopes a client registers as needing the person's approval: asked once, remembered,
refusable, and asked again with prompt=consent (OIDC Core 3.1.2.4)."""

from __future__ import annotations

import re

import pytest

from tests.oidc.helpers import auth_params, pkce, redirect_params, register, signed_in_browser


@pytest.fixture
def rp(seeded):
    return register(seeded, approval_scopes=["edu:school"])


def _ask(browser, rp, **extra):
    _v, challenge = pkce()
    params = auth_params(rp, challenge, scope="openid edu:school", **extra)
    return browser.get("/oidc/authorize", query_string=params), params


def _answer(browser, page, decision):
    html = page.get_data(as_text=True)
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
        "query": re.search(r'name="query" value="([^"]+)"', html).group(1).replace("&amp;", "&"),
        "scope": re.findall(r'name="scope" value="([^"]+)"', html),
        "decision": decision,
    }
    return browser.post("/oidc/approve", data=form)


def test_approval_is_asked_once_then_remembered(seeded, rp):
    browser = signed_in_browser(seeded)
    page, _params = _ask(browser, rp)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Koulusi, ryhmäsi ja luokka-asteesi" in html and "Salli" in html
    back = _answer(browser, page, "allow")
    assert back.status_code == 302 and back.headers["Location"].startswith("/oidc/authorize?")
    assert "code" in redirect_params(browser.get(back.headers["Location"]))
    again, _ = _ask(browser, rp)
    assert "code" in redirect_params(again)


def test_refusing_sends_access_denied_to_the_service(seeded, rp):
    browser = signed_in_browser(seeded)
    page, params = _ask(browser, rp)
    result = redirect_params(_answer(browser, page, "deny"))
    assert result["error"] == "access_denied" and result["state"] == params["state"]
    assert result["iss"] == "http://127.0.0.1:5000"


def test_prompt_none_with_a_pending_approval_is_consent_required(seeded, rp):
    browser = signed_in_browser(seeded)
    response, _ = _ask(browser, rp, prompt="none")
    assert redirect_params(response)["error"] == "consent_required"


def test_prompt_consent_asks_again(seeded, rp):
    browser = signed_in_browser(seeded)
    page, _ = _ask(browser, rp)
    browser.get(_answer(browser, page, "allow").headers["Location"])
    asked, _ = _ask(browser, rp, prompt="consent")
    assert asked.status_code == 200 and "Salli" in asked.get_data(as_text=True)


def test_approval_form_needs_its_csrf_token(seeded, rp):
    browser = signed_in_browser(seeded)
    page, _ = _ask(browser, rp)
    html = page.get_data(as_text=True)
    query = re.search(r'name="query" value="([^"]+)"', html).group(1).replace("&amp;", "&")
    forged = browser.post("/oidc/approve", data={"query": query, "decision": "allow"})
    assert forged.status_code == 400


def test_the_person_reviews_and_withdraws_an_approval(seeded, rp):
    browser = signed_in_browser(seeded)
    page, _ = _ask(browser, rp)
    browser.get(_answer(browser, page, "allow").headers["Location"])
    me = browser.get("/me?lang=en").get_data(as_text=True)
    assert "Services you have allowed" in me and "Your school, group and class level" in me
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', me).group(1)
    done = browser.post(f"/me/approvals/{rp.client_id}/withdraw", data={"csrf_token": csrf})
    assert done.status_code == 302
    assert "Services you have allowed" not in browser.get("/me").get_data(as_text=True)
    asked_again, _ = _ask(browser, rp)
    assert asked_again.status_code == 200  # the approval page again

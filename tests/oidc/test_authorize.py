"""The authorization endpoint against the OIDF Basic OP plan and the OAuth (RFC 9700) list in
shared/design/CHECKLISTS.md. Test names carry the plan's names where one exists."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.oidc.helpers import (
    REDIRECT,
    auth_params,
    exchange,
    get_code,
    pkce,
    redirect_params,
    register,
    signed_in_browser,
)


@pytest.fixture
def rp(seeded):
    return register(seeded)


def _authorize(browser, params, method="GET"):
    if method == "POST":
        return browser.post("/oidc/authorize", data=params)
    return browser.get("/oidc/authorize", query_string=params)


def test_oidcc_server_code_flow_gives_code_state_and_iss(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _params = get_code(browser, rp)
    assert exchange(browser, rp, code, verifier).status_code == 200


def test_iss_parameter_in_every_authorization_response_rfc9207(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    ok = redirect_params(_authorize(browser, auth_params(rp, challenge)))
    error = redirect_params(_authorize(browser, auth_params(rp, challenge, scope="openid bogus")))
    assert ok["iss"] == error["iss"] == "http://127.0.0.1:5000"


def test_not_signed_in_goes_to_the_city_chooser_then_back(seeded, rp):
    browser = seeded.test_client()
    _v, challenge = pkce()
    response = _authorize(browser, auth_params(rp, challenge))
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/"
    assert parse_qs(target.query)["next"][0].startswith("/oidc/authorize?")


def test_oidcc_login_hint_city_slug_and_email_domain(seeded, rp):
    browser = seeded.test_client()
    _v, challenge = pkce()
    by_slug = _authorize(browser, auth_params(rp, challenge, login_hint="oulu"))
    assert urlsplit(by_slug.headers["Location"]).path == "/login/oulu"
    by_mail = _authorize(browser, auth_params(rp, challenge, login_hint="maija@edu.vantaa.fi"))
    assert urlsplit(by_mail.headers["Location"]).path == "/login/vantaa"


def test_oidcc_response_type_missing(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, response_type=None)))
    assert result["error"] in ("invalid_request", "unsupported_response_type")


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token"])
def test_response_types_other_than_code_are_unsupported(seeded, rp, response_type):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    params = auth_params(rp, challenge, response_type=response_type)
    result = redirect_params(_authorize(browser, params))
    assert result["error"] == "unsupported_response_type"
    assert "code" not in result and "access_token" not in result


def test_oidcc_ensure_registered_redirect_uri_is_never_followed(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    for uri in (
        "https://evil.example/cb",
        REDIRECT + "/extra",  # path extension
        REDIRECT + "?x=1",  # added query
        "https://rp.example/c",  # prefix
        REDIRECT.upper(),
    ):
        response = _authorize(browser, auth_params(rp, challenge, redirect_uri=uri))
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "text/html" in response.content_type


def test_unknown_client_gets_a_page_not_a_redirect(seeded):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "nobody",
        "redirect_uri": "https://evil.example/cb",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = _authorize(browser, params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_pkce_is_required(seeded, rp):
    browser = signed_in_browser(seeded)
    params = auth_params(rp, "x", code_challenge=None, code_challenge_method=None)
    result = redirect_params(_authorize(browser, params))
    assert result["error"] == "invalid_request" and result["state"] == params["state"]


def test_pkce_plain_is_refused(seeded, rp):
    browser = signed_in_browser(seeded)
    verifier, _challenge = pkce()
    params = auth_params(rp, verifier, code_challenge_method="plain")
    assert redirect_params(_authorize(browser, params))["error"] == "invalid_request"


def test_same_parameter_twice_is_refused(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    params = [*list(auth_params(rp, challenge).items()), ("scope", "openid email")]
    response = browser.get("/oidc/authorize", query_string=params)
    # Refused before the redirect URI is trusted: a page, never a code.
    assert response.status_code == 400 and "Location" not in response.headers
    params = [*list(auth_params(rp, challenge).items()), ("nonce", "again")]
    response = browser.get("/oidc/authorize", query_string=params)
    assert redirect_params(response)["error"] == "invalid_request"


def test_oidcc_ensure_post_request_succeeds(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge), method="POST"))
    assert "code" in result


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(seeded, rp):
    browser = signed_in_browser(seeded)
    code, _verifier, _params = get_code(browser, rp, extra_thing="whatever", display="page")
    assert code


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(seeded, rp):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, nonce=None)[0]


@pytest.mark.parametrize("display", ["page", "popup"])
def test_oidcc_display_page_and_popup(seeded, rp, display):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, display=display)[0]


def test_oidcc_ensure_request_with_acr_values_succeeds(seeded, rp):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, acr_values="urn:digione:loa:password")[0]


def test_oidcc_prompt_none_not_logged_in(seeded, rp):
    browser = seeded.test_client()
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, prompt="none")))
    assert result["error"] == "login_required" and "state" in result


def test_oidcc_prompt_none_logged_in(seeded, rp):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, prompt="none")[0]


def test_prompt_none_with_another_value_is_invalid(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, prompt="none login")))
    assert result["error"] == "invalid_request"


def test_oidcc_prompt_login_asks_for_a_new_sign_in(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    response = _authorize(browser, auth_params(rp, challenge, prompt="login", login_hint="espoo"))
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login/espoo"
    back = parse_qs(target.query)["next"][0]
    assert "prompt" not in back  # no loop after the new sign-in


def test_oidcc_max_age_1_forces_a_new_sign_in(seeded, rp):
    browser = signed_in_browser(seeded)
    time.sleep(2)
    _v, challenge = pkce()
    response = _authorize(browser, auth_params(rp, challenge, max_age="1"))
    assert urlsplit(response.headers["Location"]).path in ("/", "/login/espoo")


def test_oidcc_max_age_10000_uses_the_session(seeded, rp):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, max_age="10000")[0]


def test_max_age_not_a_number_is_invalid(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, max_age="soon")))
    assert result["error"] == "invalid_request"


def test_oidcc_id_token_hint_of_the_signed_in_person(seeded, rp):
    browser = signed_in_browser(seeded)
    code, verifier, _params = get_code(browser, rp)
    id_token = exchange(browser, rp, code, verifier).json["id_token"]
    assert get_code(browser, rp, prompt="none", id_token_hint=id_token)[0]
    other = signed_in_browser(seeded, "espoo", "pupil2")
    _v, challenge = pkce()
    params = auth_params(rp, challenge, prompt="none", id_token_hint=id_token)
    assert redirect_params(_authorize(other, params))["error"] == "login_required"


def test_oidcc_ui_locales_sets_the_page_language(seeded, rp):
    browser = seeded.test_client()
    _v, challenge = pkce()
    response = _authorize(browser, auth_params(rp, challenge, ui_locales="sv-FI en"))
    page = browser.get(response.headers["Location"])
    assert '<html lang="sv">' in page.get_data(as_text=True)


def test_oidcc_claims_locales_is_accepted(seeded, rp):
    browser = signed_in_browser(seeded)
    assert get_code(browser, rp, claims_locales="fi sv")[0]


def test_request_objects_are_refused_as_unsupported(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    request_object = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."
    by_value = auth_params(rp, challenge, request=request_object)
    assert redirect_params(_authorize(browser, by_value))["error"] == "request_not_supported"
    by_ref = auth_params(rp, challenge, request_uri="https://rp.example/req.jwt")
    assert redirect_params(_authorize(browser, by_ref))["error"] == "request_uri_not_supported"


def test_claims_parameter_must_be_json(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, claims="{nope")))
    assert result["error"] == "invalid_request"


def test_scope_not_registered_is_not_granted(seeded):
    narrow = register(seeded, scope="openid profile")
    browser = signed_in_browser(seeded)
    code, verifier, _ = get_code(browser, narrow, scope="openid profile email edu:school")
    token = exchange(browser, narrow, code, verifier).json
    assert token["scope"] == "openid profile"


def test_unknown_scope_is_invalid_scope(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    result = redirect_params(_authorize(browser, auth_params(rp, challenge, scope="openid admin")))
    assert result["error"] == "invalid_scope"


def test_response_mode_form_post_renders_a_self_posting_form(seeded, rp):
    browser = signed_in_browser(seeded)
    _v, challenge = pkce()
    params = auth_params(rp, challenge, response_mode="form_post")
    response = _authorize(browser, params)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'action="{REDIRECT}"' in html and 'name="code"' in html
    assert f'value="{params["state"]}"' in html and 'name="iss"' in html
    assert "form-action https://rp.example" in response.headers["Content-Security-Policy"]


def test_authorize_pages_cannot_be_framed(seeded, rp):
    browser = seeded.test_client()
    _v, _challenge = pkce()
    response = browser.get("/login/espoo")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_city_hint_skips_the_chooser(seeded, rp):
    browser = seeded.test_client()
    _v, challenge = pkce()
    response = _authorize(browser, auth_params(rp, challenge, city="turku"))
    assert urlsplit(response.headers["Location"]).path == "/login/turku"


def test_sign_in_page_allows_only_the_registered_redirect_as_form_target(seeded, rp):
    """CSP form-action governs the redirects after the sign-in POST (CSP 3, 6.3.1)."""
    browser = seeded.test_client()
    _v, challenge = pkce()
    to_login = _authorize(browser, auth_params(rp, challenge, login_hint="espoo"))
    page = browser.get(to_login.headers["Location"])
    assert "form-action 'self' https://rp.example;" in page.headers["Content-Security-Policy"]
    forged = browser.get(
        "/login/espoo?next=/oidc/authorize?client_id=x%26redirect_uri=https://evil.example/"
    )
    assert "evil.example" not in forged.headers["Content-Security-Policy"]

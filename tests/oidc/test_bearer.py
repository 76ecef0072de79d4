"""idp.oidc.bearer: the token of a request (RFC 6750 section 2) and the error response with its
challenge (section 3); the guard itself is exercised through userinfo and the admin API."""

from __future__ import annotations

import pytest
from flask import Flask

from idp.oidc.bearer import bearer_error, bearer_token

app = Flask(__name__)


def token_of(headers: dict | None = None, *, form: bool = False, **request) -> str | None:
    with app.test_request_context("/", headers=headers or {}, **request):
        return bearer_token(form=form)


@pytest.mark.parametrize(
    ("authorization", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwdw==", None),
        ("Bearerabc", None),
    ],
)
def test_token_from_the_authorization_header(authorization, token):
    assert token_of({"Authorization": authorization}) == token


def test_token_from_a_form_body_only_where_allowed():
    """Section 2.2: a POSTed form's access_token, where the resource allows it; section 2:
    never two methods at once."""
    form = {"method": "POST", "data": {"access_token": "abc"}}
    assert token_of(form=True, **form) == "abc"
    assert token_of(**form) is None
    assert token_of(form=True, method="GET", query_string={"access_token": "abc"}) is None
    assert token_of({"Authorization": "Bearer xyz"}, form=True, **form) is None
    assert token_of() is None


def test_error_responses_and_challenges():
    with app.app_context():
        bare = bearer_error(None, "Send a token.", realm="DigiOne")
        invalid = bearer_error("invalid_token", 'Not "valid"\\.')
        only_error = bearer_error("invalid_token", "No.", describe=False)
        scope = bearer_error("insufficient_scope", "More.", 403, realm="R", scope="a b")
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"] == 'Bearer realm="DigiOne"'
    assert bare.json == {"error": "invalid_request", "error_description": "Send a token."}
    assert invalid.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="Not ?valid??."'
    )
    assert invalid.json["error_description"] == 'Not "valid"\\.'
    assert only_error.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert scope.status_code == 403
    assert scope.headers["WWW-Authenticate"] == (
        'Bearer realm="R", error="insufficient_scope", error_description="More.", scope="a b"'
    )
    for response in (bare, invalid, only_error, scope):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"

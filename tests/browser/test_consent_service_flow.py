"""The consent flow end to end: a service asks over HTTP; guardian1 approves in Chromium
(partially approved); guardian2 approves in another browser (given); the service's token exchange
succeeds with the right scopes and act; guardian1 withdraws; introspection by the source
system says inactive and the next exchange is refused; the history shows each step."""

from __future__ import annotations

import jwt
import pytest
import requests

from consent.exchange import ACCESS_TOKEN_TYPE, PAIRWISE_SUB
from tests.browser.test_consent_pages import PHONE, TEXTS, sign_in, status
from tests.consent.conftest import READING, known_sub, person

pytestmark = pytest.mark.browser
SERVICE = ("demo-reading-app", "demo-only-reading-app-secret-never-use-in-production")
SOURCE = ("demo-school-admin", "demo-only-school-admin-secret-never-use-in-production")
SOURCE_AUDIENCE = "https://school-admin.demo.digione.invalid/api"  # its registered resource
EN = {
    **TEXTS["en"],
    "approve": "Approve: The reading app receives the pupil's class and school (Aino)",
    "withdraw": "Withdraw consent: The reading app receives the pupil's class and school (Aino)",
}


def exchange(base: str, sub: str) -> requests.Response:
    return requests.post(
        f"{base}/oidc/token",
        auth=SERVICE,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": sub,
            "subject_token_type": PAIRWISE_SUB,
            "purpose": READING,
            "audience": SOURCE[0],
        },
        timeout=10,
    )


def introspect(base: str, token: str) -> dict:
    response = requests.post(
        f"{base}/oidc/introspect", auth=SOURCE, data={"token": token}, timeout=10
    )
    assert response.status_code == 200
    return response.json()


def service_sees(base: str, record_id: str) -> str:
    response = requests.get(f"{base}/consent/api/requests/{record_id}", auth=SERVICE, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["state"]


def verified(base: str, token: str) -> dict:
    keys = jwt.PyJWKSet.from_dict(requests.get(f"{base}/.well-known/jwks.json", timeout=10).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key, algorithms=["RS256", "ES256"], audience=SOURCE_AUDIENCE)


def test_a_service_asks_two_guardians_approve_one_withdraws(browser, consent_server, seeded):
    base = consent_server
    with seeded.app_context():
        pupil1 = person("espoo", "pupil1")
        pupil_id, learner_id = pupil1.id, pupil1.learner_id
    sub = known_sub(seeded, pupil_id, SERVICE[0])  # as the reading app got it at sign-in

    asked = requests.post(
        f"{base}/consent/api/requests",
        auth=SERVICE,
        json={"purpose": READING, "sub": sub},
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    record_id = asked.json()["id"]
    assert service_sees(base, record_id) == "requested"
    assert exchange(base, sub).json()["error"] == "access_denied"

    contexts = [
        browser.new_context(locale="en-GB", java_script_enabled=False, viewport=PHONE)
        for _ in range(2)
    ]
    try:
        first, second = (context.new_page() for context in contexts)
        sign_in(first, base, "guardian1", EN)
        first.goto(f"{base}/consents?lang=en")
        first.get_by_role("button", name=EN["approve"]).click()
        first.wait_for_url(f"**/consents#record-{record_id}")
        assert "Partly approved" in status(first, record_id)
        assert service_sees(base, record_id) == "partially_approved"

        sign_in(second, base, "guardian2", EN)
        second.goto(f"{base}/consents?lang=en")
        second.get_by_role("button", name=EN["approve"]).click()
        second.wait_for_url(f"**/consents#record-{record_id}")
        assert "Consent given" in status(second, record_id)
        assert service_sees(base, record_id) == "given"

        issued = exchange(base, sub)
        assert issued.status_code == 200, issued.text
        body = issued.json()
        assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["expires_in"] <= 300
        claims = verified(base, body["access_token"])
        assert claims["scope"] == "school:class school:school"
        assert claims["act"] == {"sub": SERVICE[0]}
        assert claims["consent_id"] == record_id and claims["learner_id"] == learner_id
        assert claims["sub"] != sub  # the source system's own pairwise identifier
        assert introspect(base, body["access_token"])["active"] is True

        first.goto(f"{base}/consents?lang=en")
        first.get_by_role("button", name=EN["withdraw"]).click()
        first.wait_for_url(f"**/consents#record-{record_id}")
        assert "Withdrawn" in status(first, record_id)

        assert introspect(base, body["access_token"]) == {"active": False}
        refused = exchange(base, sub)
        assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
        assert service_sees(base, record_id) == "withdrawn"

        first.locator(f"#record-{record_id} summary").click()
        steps = first.locator(f"#record-{record_id} details ol li").all_inner_texts()
        assert len(steps) == 4, steps
        assert "Request for consent" in steps[0]
        assert "Approval" in steps[1] and "You" in steps[1]
        assert "Approval" in steps[2] and "Johanna" in steps[2]
        assert "Withdrawal" in steps[3] and "You" in steps[3]
    finally:
        for context in contexts:
            context.close()

"""What every refused SAML answer must look like, and the cast of the attack tests: the
attacker is a real user of the IdP (``ATTACKER``) who wants to be the ``VICTIM``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idp.logs import JsonFormatter
from tests.federation.saml.conftest import CITY, PUPIL, counts
from tests.federation.saml.peer import NS

ATTACKER = "oulu-adfs-attacker-77c1"
VICTIM = "oulu-adfs-victim-3b9e"
ATTACKER_ATTRIBUTES = {**PUPIL, "urn:oid:2.5.4.42": ["Mallory"], "urn:oid:2.5.4.4": ["Hyökkääjä"]}
PERSONAL = (ATTACKER, VICTIM, "Mallory", "Hyökkääjä", "Aino", "Korhonen", "56473829104")


def refused(app, caplog, response, reason: str | tuple[str, ...]) -> None:
    """The readable 400 page, no SSO session, nobody provisioned, the pending sign-in
    (upstream_logins row) gone, and one log line that says why (``reason``, or one of them)
    without a name or an identifier of the person."""
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert "Sign-in through your city did not succeed" in page
    assert "digione_sso" not in response.headers.get("Set-Cookie", "")
    assert counts(app) == {"upstream_logins": 0, "sso_sessions": 0, "people": 0}
    why = [r for r in caplog.records if r.getMessage() == "upstream answer refused"]
    assert len(why) == 1
    logged = why[0].event["reason"].lower()
    assert any(r.lower() in logged for r in (reason if isinstance(reason, tuple) else (reason,)))
    assert why[0].event["city"] == CITY
    text = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    for personal in PERSONAL:
        assert personal not in text


def saml_time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_name_id(value: str):
    def change(root) -> None:
        next(root.iter(f"{{{NS['saml']}}}NameID")).text = value

    return change


def find(root, path: str):
    return root.find(path, NS)

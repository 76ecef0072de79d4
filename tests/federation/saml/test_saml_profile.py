"""The SAML attack cases of CHECKLISTS.md on what a validly signed assertion says: audience,
recipient, destination, InResponseTo, issuer, NotBefore and NotOnOrAfter, and replay. The
pysaml2 IdP signs each changed document, so only these checks stand in the way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from idp.logs import JsonFormatter
from tests.federation.saml.conftest import ACS, CITY, PUPIL, counts
from tests.federation.saml.peer import NS
from tests.federation.saml.refusal import (
    VICTIM,
    find,
    refused,
    saml_time,
)

pytestmark = pytest.mark.filterwarnings("ignore:CFB has been moved")


# -- Audience, recipient, destination, InResponseTo -------------------------------------------


def _tampered(idp, request, change, **kwargs) -> str:
    return idp.response(request, VICTIM, PUPIL, tamper=change, **kwargs)


def _set(path: str, attribute: str | None, value: str | timedelta | None):
    """A change the IdP then signs: ``path`` from the Response; text when no attribute;
    removal when no value. A timedelta is a time relative to when the change is made (not to
    when this module was imported: the suite may run for minutes)."""

    def change(root) -> None:
        stated = saml_time(value) if isinstance(value, timedelta) else value
        node = root if path == "." else find(root, path)
        if attribute is None:
            node.text = stated
        elif stated is None:
            node.attrib.pop(attribute)
        else:
            node.set(attribute, stated)

    return change


CONFIRMATION = "saml:Assertion/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
CONDITIONS = "saml:Assertion/saml:Conditions"
AUDIENCE = CONDITIONS + "/saml:AudienceRestriction/saml:Audience"


def _no_audience(root) -> None:
    conditions = find(root, CONDITIONS)
    conditions.remove(conditions.find("saml:AudienceRestriction", NS))


def _other_issuer(root) -> None:
    for issuer in root.iter(f"{{{NS['saml']}}}Issuer"):
        issuer.text = "https://idp.other.test"


def _unsolicited(root) -> None:
    _set(".", "InResponseTo", None)(root)
    _set(CONFIRMATION, "InResponseTo", None)(root)


CASES = {
    "audience of another service": (_set(AUDIENCE, None, "https://other.example/sp"), "audience"),
    "no audience restriction": (_no_audience, "AudienceRestriction"),
    "recipient elsewhere": (
        _set(CONFIRMATION, "Recipient", "https://other.example/acs"),
        "SubjectConfirmation",
    ),
    "recipient that contains ours": (
        _set(CONFIRMATION, "Recipient", "https://evil.example/?" + ACS),
        "SubjectConfirmation",
    ),
    "destination elsewhere": (
        _set(".", "Destination", "https://other.example/acs"),
        "received at",
    ),
    "destination that starts like ours": (_set(".", "Destination", ACS + "-evil"), "Destination"),
    "no destination": (_set(".", "Destination", None), "Destination"),
    "in response to nothing (unsolicited)": (_unsolicited, "InResponseTo"),
    "confirmation for another request": (
        _set(CONFIRMATION, "InResponseTo", "_another_request"),
        "SubjectConfirmation",
    ),
    "not yet valid": (
        _set(CONDITIONS, "NotBefore", timedelta(minutes=10)),
        "not yet valid",
    ),
    "expired conditions": (
        _set(CONDITIONS, "NotOnOrAfter", timedelta(minutes=-10)),
        "expired",
    ),
    "not yet valid beyond our 60 s skew": (
        _set(CONDITIONS, "NotBefore", timedelta(seconds=150)),
        "Conditions NotBefore",
    ),
    "expired beyond our 60 s skew": (
        _set(CONDITIONS, "NotOnOrAfter", timedelta(seconds=-90)),
        "Conditions NotOnOrAfter",
    ),
    "expired confirmation": (
        _set(CONFIRMATION, "NotOnOrAfter", timedelta(seconds=-5)),
        "SubjectConfirmation",
    ),
    "confirmation without NotOnOrAfter": (
        _set(CONFIRMATION, "NotOnOrAfter", None),
        "NotOnOrAfter",
    ),
    "issued by another IdP": (_other_issuer, "issuer"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_signed_by_the_idp_but_not_for_us(app, caplog, idp, begin, finish, case):
    change, reason = CASES[case]
    request = begin()
    refused(app, caplog, finish(_tampered(idp, request, change), request), reason)


def test_in_response_to_another_request(app, caplog, idp, begin, finish):
    request = begin()
    xml = idp.response(request, VICTIM, PUPIL, in_response_to="_a_request_we_never_sent")
    refused(app, caplog, finish(xml, request), "InResponseTo")


def test_clock_skew_is_tolerated(app, idp, begin, finish):
    request = begin()
    early = _set(CONDITIONS, "NotBefore", saml_time(timedelta(seconds=30)))
    assert finish(_tampered(idp, request, early), request).status_code == 303


def test_idp_says_no(app, caplog, idp, begin, finish):
    from saml2.samlp import STATUS_AUTHN_FAILED

    request = begin()
    answer = idp.server.create_error_response(
        request.id, request.acs_url, (STATUS_AUTHN_FAILED, "no account aino.k"), sign=True
    )
    refused(app, caplog, finish(str(answer), request), "status code")
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "aino.k" not in logged  # the IdP's free-text StatusMessage stays out of the log


def test_no_saml_response(app, caplog, client, begin):
    request = begin()
    answer = client.post(f"/federation/{CITY}/callback", data={"RelayState": request.relay_state})
    refused(app, caplog, answer, "SAMLResponse missing")


# -- Replay -----------------------------------------------------------------------------------


def test_replay_of_a_used_response(app, client, caplog, idp, begin, finish):
    request = begin()
    xml = idp.response(request, VICTIM, PUPIL)
    answered = finish(xml, request)
    assert client.get(answered.headers["Location"]).status_code == 302
    again = finish(xml, request)
    assert again.status_code == 400
    assert "This sign-in has expired" in again.get_data(as_text=True)
    assert counts(app)["sso_sessions"] == 1


def test_replay_into_another_sign_in(app, client, caplog, idp, begin, finish):
    """Even a new sign-in that (somehow) waits for the same request ID refuses the assertion:
    the assertion ID is remembered until it expires."""
    from sqlalchemy import select

    from core.db import db
    from idp.signin.models import UpstreamLogin

    first = begin()
    xml = idp.response(first, VICTIM, PUPIL)
    assert client.get(finish(xml, first).headers["Location"]).status_code == 302
    second = begin()
    with app.app_context():
        row = db.session.scalar(select(UpstreamLogin))
        row.connector_state = {"request_id": first.id}
        db.session.commit()
    caplog.clear()
    answer = finish(xml, second)
    assert answer.status_code == 400
    assert counts(app) == {"upstream_logins": 0, "sso_sessions": 1, "people": 1}
    why = [r for r in caplog.records if r.getMessage() == "upstream answer refused"]
    assert why[0].event["reason"] == "assertion replayed"


def test_replay_memory_forgets_expired_assertions(app):
    from core.db import db
    from federation.saml.models import SeenAssertion
    from federation.saml.replay import first_use

    now = datetime.now(UTC)
    with app.app_context():
        assert first_use(db.session, "a" * 64, now - timedelta(seconds=1))
        assert first_use(db.session, "b" * 64, now + timedelta(minutes=5))
        assert not first_use(db.session, "b" * 64, now + timedelta(minutes=5))
        db.session.commit()
        assert first_use(db.session, "c" * 64, now + timedelta(minutes=5))
        assert db.session.get(SeenAssertion, "a" * 64) is None
        db.session.rollback()

"""The SAML attack cases of CHECKLISTS.md on the document and its signatures, with responses
made and signed by the pysaml2 IdP: signature wrapping XSW1 to XSW8, several assertions, comment
injection, XXE and entity expansion, a KeyInfo certificate, unsigned parts, SHA-1. Each is
refused as :func:`tests.federation.saml.refusal.refused` says.
"""

from __future__ import annotations

import time

import pytest
from lxml import etree

from tests.federation.saml.conftest import PUPIL
from tests.federation.saml.peer import ASSERTION, NS, signature_holds
from tests.federation.saml.refusal import (
    ATTACKER,
    ATTACKER_ATTRIBUTES,
    VICTIM,
    find,
    refused,
    set_name_id,
)
from tests.federation.saml.wrapping import WRAPPINGS

pytestmark = pytest.mark.filterwarnings("ignore:CFB has been moved")


# -- XML signature wrapping ------------------------------------------------------------------


WRAPPING_REFUSALS = ("repeated ID", "must contain 1 assertion")


@pytest.fixture(params=["screened", "unscreened"])
def screening(request, monkeypatch) -> str:
    """With "unscreened": without our first line (no repeated IDs, no DTD, no comments), to show
    that python3-saml's strict mode and our profile checks refuse each case on their own."""
    if request.param == "unscreened":
        monkeypatch.setattr("federation.saml.connector.screen", lambda saml_response: None)
    return request.param


@pytest.mark.parametrize("name", ["XSW3", "XSW4", "XSW5", "XSW6", "XSW7", "XSW8"])
def test_assertion_wrapping(app, caplog, idp, begin, finish, name, screening):
    request = begin()
    root = etree.fromstring(idp.response(request, ATTACKER, ATTACKER_ATTRIBUTES).encode())
    WRAPPINGS[name](root, set_name_id(VICTIM))
    refused(app, caplog, finish(etree.tostring(root).decode(), request), WRAPPING_REFUSALS)


@pytest.mark.parametrize(
    "directory", [{"want_response_signed": True, "want_assertions_signed": False}], indirect=True
)
@pytest.mark.parametrize("name", ["XSW1", "XSW2"])
def test_response_wrapping(app, caplog, idp, begin, finish, name, screening):
    request = begin()
    signed = idp.response(
        request, ATTACKER, ATTACKER_ATTRIBUTES, sign_response=True, sign_assertion=False
    )
    root = etree.fromstring(signed.encode())
    WRAPPINGS[name](root, set_name_id(VICTIM))
    refused(app, caplog, finish(etree.tostring(root).decode(), request), WRAPPING_REFUSALS)


def test_several_assertions(app, caplog, idp, begin, finish):
    request = begin()
    mine = etree.fromstring(idp.response(request, ATTACKER, ATTACKER_ATTRIBUTES).encode())
    other = etree.fromstring(idp.response(request, VICTIM, PUPIL).encode())
    mine.append(find(other, "saml:Assertion"))
    refused(app, caplog, finish(etree.tostring(mine).decode(), request), "1 assertion")


# -- XML parsing ------------------------------------------------------------------------------


def test_comment_injection_in_name_id(app, caplog, idp, idp_files, begin, finish):
    """CVE-2017-11427: the IdP signed "<victim>.evil"; a comment splits the text node so that a
    naive SP reads "<victim>". Comments are outside exclusive c14n, so the signature holds."""
    request = begin()
    root = etree.fromstring(idp.response(request, VICTIM + ".evil", ATTACKER_ATTRIBUTES).encode())
    name_id = next(root.iter(f"{{{NS['saml']}}}NameID"))
    name_id.text = VICTIM
    comment = etree.Comment("")
    comment.tail = ".evil"
    name_id.append(comment)
    forged = etree.tostring(root).decode()
    assertion_id = find(root, "saml:Assertion").get("ID")
    assert signature_holds(idp, forged, idp_files["cert"], ASSERTION, assertion_id)
    refused(app, caplog, finish(forged, request), "comment")


def _with_doctype(signed: str, doctype: str, reference: str) -> str:
    body = signed.split("?>", 1)[1] if signed.startswith("<?xml") else signed
    return doctype + body.replace(VICTIM, reference, 1)


def test_xxe(app, caplog, idp, begin, finish):
    request = begin()
    signed = idp.response(request, VICTIM, ATTACKER_ATTRIBUTES)
    doctype = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    refused(app, caplog, finish(_with_doctype(signed, doctype, "&xxe;"), request), "XXE")


def test_billion_laughs(app, caplog, idp, begin, finish):
    request = begin()
    signed = idp.response(request, VICTIM, ATTACKER_ATTRIBUTES)
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE r [" + "".join(entities) + "]>"
    started = time.monotonic()
    response = finish(_with_doctype(signed, doctype, "&lol9;"), request)
    assert time.monotonic() - started < 5
    refused(app, caplog, response, "entity expansion")


# -- Signatures -------------------------------------------------------------------------------


def test_key_info_certificate_is_not_trusted(app, caplog, impostor, idp_files, begin, finish):
    """Signed with another key whose certificate travels in KeyInfo: only the configured
    certificate counts."""
    request = begin()
    forged = impostor.response(request, VICTIM, ATTACKER_ATTRIBUTES)
    evil_pem = idp_files["evil_cert"].read_text().splitlines()
    assert "".join(evil_pem[1:-1]) in "".join(forged.split())  # the impostor's cert is inside
    refused(app, caplog, finish(forged, request), "Signature validation failed")


def test_unsigned_assertion_when_assertions_must_be_signed(app, caplog, idp, begin, finish):
    request = begin()
    xml = idp.response(request, VICTIM, PUPIL, sign_response=True, sign_assertion=False)
    refused(app, caplog, finish(xml, request), "Assertion of the Response is not signed")


@pytest.mark.parametrize("directory", [{"want_response_signed": True}], indirect=True)
def test_unsigned_response_when_responses_must_be_signed(app, caplog, idp, begin, finish):
    request = begin()
    xml = idp.response(request, VICTIM, PUPIL, sign_response=False, sign_assertion=True)
    refused(app, caplog, finish(xml, request), "Message of the Response is not signed")


def test_nothing_signed(app, caplog, idp, begin, finish):
    request = begin()
    xml = idp.response(request, VICTIM, PUPIL, sign_response=False, sign_assertion=False)
    refused(app, caplog, finish(xml, request), "not signed")


def test_signature_over_changed_content(app, caplog, idp, begin, finish):
    request = begin()
    root = etree.fromstring(idp.response(request, ATTACKER, ATTACKER_ATTRIBUTES).encode())
    set_name_id(VICTIM)(root)
    refused(app, caplog, finish(etree.tostring(root).decode(), request), "Signature validation")


def test_sha1_signature(app, caplog, idp_files, sp_metadata, begin, finish):
    from tests.federation.saml.peer import SamlIdp

    old = SamlIdp(
        idp_files["key"],
        idp_files["cert"],
        [sp_metadata],
        sign_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        digest_alg="http://www.w3.org/2000/09/xmldsig#sha1",
    )
    request = begin()
    refused(app, caplog, finish(old.response(request, VICTIM, PUPIL), request), "Deprecated")

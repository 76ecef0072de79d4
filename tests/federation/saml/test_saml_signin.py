"""Signing in through a city's SAML IdP (pysaml2) with the broker's real pages: the signed
AuthnRequest, the Response at the ACS, the SSO session and the mapped person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from federation.models import CityIdentity, RoleAssignment
from federation.saml.models import SeenAssertion
from tests.federation.saml.conftest import ACS, CITY, PUPIL, SP_ENTITY, SUBJECT, counts
from tests.federation.saml.peer import IDP_ENTITY, PERSISTENT, SSO_URL, TRANSIENT

pytestmark = pytest.mark.filterwarnings("ignore:CFB has been moved")


def _identity(app, subject=SUBJECT):
    with app.app_context():
        link = db.session.scalar(
            select(CityIdentity).where(CityIdentity.city == CITY, CityIdentity.subject == subject)
        )
        if link is None:
            return None
        roles = db.session.scalars(
            select(RoleAssignment).where(RoleAssignment.identity_id == link.id)
        ).all()
        return link.person, [(r.role, r.school_code, r.group, r.class_level) for r in roles]


def test_sign_in_through_the_pages(app, client, idp, begin, finish):
    request = begin()
    # pysaml2 accepted the redirect-binding signature against our metadata's certificate.
    assert request.issuer == SP_ENTITY
    assert request.acs_url == ACS
    assert request.destination == SSO_URL
    assert request.name_id_format == PERSISTENT
    assert counts(app)["upstream_logins"] == 1

    xml = idp.response(request, SUBJECT, PUPIL)
    answered = finish(xml, request)
    assert answered.status_code == 303, answered.get_data(as_text=True)
    assert f"/federation/{CITY}/resume?handle=" in answered.headers["Location"]

    resumed = client.get(answered.headers["Location"])
    assert resumed.status_code == 302
    assert resumed.headers["Location"].endswith("/me")
    assert counts(app) == {"upstream_logins": 0, "sso_sessions": 1, "people": 1}

    page = client.get("/me").get_data(as_text=True)
    assert "Aino Korhonen" in page
    assert "Pupil" in page and "group 7B" in page

    person, roles = _identity(app)
    assert person.learner_id == "1.2.246.562.24.56473829104"
    assert roles == [("learner", "06593", "7B", 7)]
    with app.app_context():
        assert db.session.scalar(select(SeenAssertion)) is not None


def test_the_same_person_next_time(app, client, idp, begin, finish):
    for given in ("Aino", "Aino-Maria"):
        request = begin()
        attributes = {**PUPIL, "urn:oid:2.5.4.42": [given]}
        answered = finish(idp.response(request, SUBJECT, attributes), request)
        assert client.get(answered.headers["Location"]).status_code == 302
    person, _ = _identity(app)
    assert person.given_name == "Aino-Maria"
    assert counts(app)["people"] == 1


def test_response_and_assertion_both_signed(app, client, idp, begin, finish):
    request = begin()
    xml = idp.response(request, SUBJECT, PUPIL, sign_response=True, sign_assertion=True)
    assert finish(xml, request).status_code == 303


@pytest.mark.parametrize(
    "directory", [{"want_response_signed": True, "want_assertions_signed": False}], indirect=True
)
def test_response_signed_only_when_so_configured(app, idp, begin, finish):
    request = begin()
    xml = idp.response(request, SUBJECT, PUPIL, sign_response=True, sign_assertion=False)
    assert finish(xml, request).status_code == 303


@pytest.mark.parametrize("directory", [{"want_assertions_encrypted": True}], indirect=True)
def test_encrypted_assertion(app, idp, begin, finish, sp_metadata):
    from lxml import etree

    document = etree.fromstring(sp_metadata.encode())
    namespaces = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
    [encryption] = document.findall(".//md:KeyDescriptor[@use='encryption']", namespaces)
    certificate = encryption.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
    pem = "-----BEGIN CERTIFICATE-----\n" + certificate.strip() + "\n-----END CERTIFICATE-----\n"
    request = begin()
    xml = idp.response(request, SUBJECT, PUPIL, encrypt_with=pem)
    assert "EncryptedAssertion" in xml and "Korhonen" not in xml
    answered = finish(xml, request)
    assert answered.status_code == 303, answered.get_data(as_text=True)


@pytest.mark.parametrize(
    "directory",
    [{"name_id_format": TRANSIENT, "attributes": {"subject": "urn:mpass.id:uid"}}],
    indirect=True,
)
def test_mpassid_transient_name_id_and_uid_attribute(app, client, idp, begin, finish):
    """MPASSid sends a transient NameID; its stable id is the urn:mpass.id:uid attribute."""
    request = begin()
    assert request.name_id_format == TRANSIENT
    xml = idp.response(request, "_a1b2c3", PUPIL, name_id_format=TRANSIENT)
    answered = finish(xml, request)
    assert client.get(answered.headers["Location"]).status_code == 302
    assert _identity(app, "MPASSOID.1c0d4b5e7f") is not None


ENTRA = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


@pytest.mark.parametrize(
    "directory",
    [
        {
            "attributes": {
                "subject": OBJECT_ID,
                "given_name": ENTRA + "givenname",
                "family_name": ENTRA + "surname",
                "email": ENTRA + "emailaddress",
                "learner_id": None,
                "mpass_roles": None,
                "school": None,
                "group": None,
                "class_level": None,
                "groups": GROUPS,
                "role_groups": {
                    "7d3f2a10-0c1b-4e0f-8f5a-2d6c9b8e1a47": {"role": "teacher", "school": "06593"},
                    "b2e4c6a8-1d3f-4a5b-9c7e-0f2a4b6c8d0e": {"role": "principal"},
                },
            }
        }
    ],
    indirect=True,
)
def test_entra_id_and_adfs_claim_names(app, client, idp, begin, finish):
    attributes = {
        OBJECT_ID: ["0b8f5a3c-2e4d-4c6b-8a1f-9d7e3c5b1a20"],
        ENTRA + "givenname": ["Matti"],
        ENTRA + "surname": ["Virtanen"],
        ENTRA + "emailaddress": ["matti.virtanen@ouka.fi"],
        ENTRA + "name": ["matti.virtanen@ouka.fi"],
        GROUPS: ["7d3f2a10-0c1b-4e0f-8f5a-2d6c9b8e1a47", "00000000-aaaa-bbbb-cccc-000000000000"],
    }
    request = begin()
    answered = finish(idp.response(request, "AAAAAAAAAAAAAAAAAAAAAO0pTQ8", attributes), request)
    assert client.get(answered.headers["Location"]).status_code == 302
    person, roles = _identity(app, "0b8f5a3c-2e4d-4c6b-8a1f-9d7e3c5b1a20")
    assert (person.given_name, person.family_name) == ("Matti", "Virtanen")
    assert person.email == "matti.virtanen@ouka.fi"
    assert roles == [("teacher", "06593", None, None)]
    page = client.get("/me").get_data(as_text=True)
    assert "Matti Virtanen" in page and "Teacher" in page


def test_metadata_is_valid_for_pysaml2(app, client, sp_metadata):
    from saml2 import BINDING_HTTP_POST
    from saml2.attribute_converter import ac_factory
    from saml2.mdstore import MetadataStore

    response = client.get(f"/federation/{CITY}/metadata")
    assert response.content_type.startswith("application/samlmetadata+xml")
    store = MetadataStore(ac_factory(), None)
    store.load("inline", sp_metadata)
    assert store.assertion_consumer_service(SP_ENTITY, BINDING_HTTP_POST)[0]["location"] == ACS
    descriptor = store[SP_ENTITY]["spsso_descriptor"][0]
    assert descriptor["authn_requests_signed"] == "true"
    assert descriptor["want_assertions_signed"] == "true"
    assert len(store.certs(SP_ENTITY, "spsso", "signing")) == 2  # the active and the next key
    assert not store.certs(SP_ENTITY, "spsso", "encryption")  # none asked for: none offered
    assert "validUntil" not in sp_metadata
    assert IDP_ENTITY not in sp_metadata


def test_our_key_rollover(app, idp, begin, finish):
    """The IdP read our metadata before our SAML key rotated: the next key was already in it,
    so the AuthnRequests the new key signs still verify."""
    from keys.app import key_store

    with app.app_context():
        before = key_store(maintain=False).active("saml").kid
        key_store(maintain=False).rotate("saml")
        assert key_store(maintain=False).active("saml").kid != before
    request = begin()  # pysaml2 checks the signature against the certificates it has
    assert finish(idp.response(request, SUBJECT, PUPIL), request).status_code == 303


def test_the_idp_really_checks_our_signature(client, idp):
    """(So that the tests above mean something: pysaml2 refuses a request not signed by us.)"""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    location = client.get(f"/login/{CITY}").headers["Location"]
    query = dict(parse_qsl(urlsplit(location).query))
    query["RelayState"] = "changed-after-signing"
    with pytest.raises(Exception, match="not signed correctly"):
        idp.receive(SSO_URL + "?" + urlencode(query))


def _session_amr(app) -> list[str]:
    from idp.sso.models import SsoSession

    with app.app_context():
        return db.session.scalars(select(SsoSession.amr)).one()


def test_a_password_sign_in_at_the_city_is_not_multi_factor(app, client, idp, begin, finish):
    request = begin()
    client.get(finish(idp.response(request, SUBJECT, PUPIL), request).headers["Location"])
    assert _session_amr(app) == []


STRONG = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


@pytest.mark.parametrize("directory", [{"city_settings": {"second_factor_acr": [STRONG]}}],
                         indirect=True)  # fmt: skip
def test_an_authn_context_the_city_lists_is_multi_factor(app, client, idp, begin, finish):
    """The IdP's AuthnContextClassRef is one of the city's second_factor_acr: the session is
    multi-factor, and the administrators' console asks no second factor of it."""
    request = begin()
    client.get(finish(idp.response(request, SUBJECT, PUPIL), request).headers["Location"])
    assert _session_amr(app) == ["mfa"]
